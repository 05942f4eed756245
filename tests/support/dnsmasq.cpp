#include "tests/support/dnsmasq.hpp"

#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "transport/dns/ares_service.hpp"

namespace achan::test {

namespace {

using namespace std::chrono_literals;

/// Binds `type` on 127.0.0.1:`port` (0: any) and returns the bound port, or 0.
std::uint16_t try_bind(int type, std::uint16_t port) {
  int fd = ::socket(AF_INET, type, 0);
  if (fd < 0)
    return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  socklen_t len = sizeof a;
  std::uint16_t out = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    out = ntohs(a.sin_port);
  ::close(fd);
  return out;
}

/// A port free for both UDP and TCP on 127.0.0.1 (dnsmasq listens on both).
std::uint16_t free_dns_port() {
  for (int i = 0; i < 20; ++i)
    if (auto p = try_bind(SOCK_DGRAM, 0); p != 0 && try_bind(SOCK_STREAM, p) == p)
      return p;
  FAIL("no free UDP+TCP port on 127.0.0.1");
  return 0;
}

}  // namespace

dnsmasq::dnsmasq(const host_records& records, int ttl_seconds, const txt_records& txt) {
  REQUIRE_MESSAGE(
      ::access(program, X_OK) == 0,
      "dnsmasq is not installed at " << program << ": run scripts/deps.sh (package dnsmasq-base)");
  char tmpl[] = "/tmp/achan-dns-XXXXXX";
  REQUIRE(::mkdtemp(tmpl) != nullptr);
  dir_ = tmpl;
  hosts_ = dir_ + "/hosts";
  log_ = dir_ + "/queries.log";
  conf_ = dir_ + "/txt.conf";
  write_hosts(records);
  write_txt(txt);
  // A port found free can be taken before dnsmasq binds it: then dnsmasq exits; retry.
  for (int attempt = 0; attempt < 3 && !proc_; ++attempt) {
    port_ = free_dns_port();
    proc_.emplace(
        program, std::vector<std::string>{
                     "--keep-in-foreground", "--port=" + std::to_string(port_),
                     "--listen-address=127.0.0.1", "--bind-interfaces", "--no-resolv", "--no-hosts",
                     "--addn-hosts=" + hosts_, "--local=/test/", "--pid-file=", "--user=root",
                     "--log-queries", "--log-facility=" + log_, "--conf-file=" + conf_,
                     "--local-ttl=" + std::to_string(ttl_seconds)});
    // dnsmasq takes up to a second or so to bind here; until then queries are refused.
    auto deadline = std::chrono::steady_clock::now() + 10s;
    bool up = false;
    while (!up && std::chrono::steady_clock::now() < deadline) {
      if (proc_->wait_exit(0ms))
        break;
      up = lookup_now("ready.test", 1, server()).ok();
      if (!up)
        std::this_thread::sleep_for(20ms);
    }
    if (!up)
      proc_.reset();
  }
  REQUIRE_MESSAGE(proc_, "dnsmasq did not start answering on 127.0.0.1 (log " << log_ << ")");
}

dnsmasq::~dnsmasq() {
  proc_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

void dnsmasq::write_hosts(const host_records& records) {
  std::ofstream out(hosts_, std::ios::trunc);
  out << "127.0.0.1 ready.test\n";
  for (auto& [ip, name] : records)
    out << ip << ' ' << name << '\n';
  out.close();
  REQUIRE(out);
}

void dnsmasq::write_txt(const txt_records& txt) {
  // A configuration file, since only there does dnsmasq unquote: on its command line
  // the quotes and backslashes would stay in the text.
  std::ofstream out(conf_, std::ios::trunc);
  for (auto& [name, text] : txt) {
    std::string line = "txt-record=" + name;
    for (std::size_t at = 0; at < text.size() || at == 0; at += 255) {
      line += ",\"";
      for (char c : text.substr(at, 255)) {
        if (c == '"' || c == '\\')
          line += '\\';
        line += c;
      }
      line += '"';
    }
    // dnsmasq reads configuration lines into a 1025-byte buffer.
    REQUIRE_MESSAGE(line.size() < 1000, "TXT record for " << name << " too long for dnsmasq");
    out << line << '\n';
  }
  out.close();
  REQUIRE(out);
}

void dnsmasq::set_records(const host_records& records) {
  write_hosts(records);
  proc_->signal(SIGHUP);
}

void dnsmasq::stop() {
  if (proc_)
    proc_->stop();
}

std::size_t dnsmasq::queries(const std::string& name, const std::string& type) const {
  std::ifstream in(log_);
  std::string line, needle = "query[" + type + "] " + name + " from ";
  std::size_t n = 0;
  while (std::getline(in, line))
    n += line.find(needle) != std::string::npos;
  return n;
}

dns::lookup_result lookup_now(const std::string& name, std::uint16_t port,
                              const std::string& server) {
  auto done = std::make_shared<std::promise<dns::lookup_result>>();
  auto f = done->get_future();
  auto svc = dns::ares_service::shared();  // alive until the answer: its end cancels lookups
  svc->lookup({name, port, server, 1000ms, {}},
              [done](dns::lookup_result&& r) { done->set_value(std::move(r)); });
  return f.get();
}

bool wait_for_answer(const std::string& name, std::uint16_t port, const std::string& server,
                     std::vector<std::string> expected, std::chrono::milliseconds timeout) {
  std::sort(expected.begin(), expected.end());
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto r = lookup_now(name, port, server);
    std::sort(r.addresses.begin(), r.addresses.end());
    if (r.ok() && r.addresses == expected)
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(20ms);
  }
}

}  // namespace achan::test
