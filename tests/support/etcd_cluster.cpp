#include "tests/support/etcd_cluster.hpp"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <stdexcept>
#include <thread>

#include "tests/support/run_command.hpp"

namespace achan::test {

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

constexpr auto poll_step = 50ms;
constexpr auto start_timeout = 30s;
constexpr auto ctl_limit = 15s;  // kills a hung etcdctl; its own timeouts are shorter

/// `n` distinct TCP ports free on 127.0.0.1: all bound at once (port 0), then released.
std::vector<std::uint16_t> free_ports(int n) {
  std::vector<int> fds;
  std::vector<std::uint16_t> ports;
  while (ports.size() < static_cast<std::size_t>(n)) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
      break;
    fds.push_back(fd);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      break;
    ports.push_back(ntohs(a.sin_port));
  }
  for (int fd : fds)
    ::close(fd);
  if (ports.size() != static_cast<std::size_t>(n))
    throw std::runtime_error("etcd_cluster: no free TCP ports on 127.0.0.1");
  return ports;
}

std::string join(const std::vector<std::string>& parts, const char* sep = ",") {
  std::string out;
  for (const auto& p : parts)
    out += (out.empty() ? "" : sep) + p;
  return out;
}

/// The digits of the first `"key":N` in json[from, to), or "" if there is none.
std::string json_number(const std::string& json, const std::string& key, std::size_t from = 0,
                        std::size_t to = std::string::npos) {
  auto at = json.find('"' + key + "\":", from);
  if (at == std::string::npos || at >= to)
    return {};
  at += key.size() + 3;
  return json.substr(at, json.find_first_not_of("0123456789", at) - at);
}

std::string describe(const etcd_cluster::ctl_result& r) {
  return "exit code " + std::to_string(r.code) + "; stdout: " + r.out + "; stderr: " + r.err;
}

}  // namespace

etcd_cluster::etcd_cluster(int members, etcd_cluster_options options)
    : options_(std::move(options)) {
  if (members < 1)
    throw std::invalid_argument("etcd_cluster: needs at least one member");
  for (const char* program : {etcd_program, etcdctl_program})
    if (::access(program, X_OK) != 0)
      throw std::runtime_error(std::string("etcd_cluster: ") + program +
                               " is not installed (Debian packages etcd-server, etcd-client)");
  if (const char* api = std::getenv("ETCDCTL_API"); api && std::string(api) != "3")
    throw std::runtime_error("etcd_cluster: ETCDCTL_API=" + std::string(api) +
                             " in the environment; etcdctl must speak API 3 (unset it)");
  members_.resize(static_cast<std::size_t>(members));
  auto all = indices();
  // A port found free can be taken (say, as some connection's ephemeral port) before etcd
  // binds it: then that member exits, and the cluster starts over on new ports.
  for (int attempt = 1;; ++attempt) {
    token_ = "achan-test-" + std::to_string(::getpid()) + "-" +
             std::to_string(std::random_device{}()) + "-" + std::to_string(attempt);
    auto ports = free_ports(2 * members);
    for (std::size_t i = 0; i < members_.size(); ++i) {
      auto& m = members_[i];
      m.name = "m" + std::to_string(i);
      m.data_dir = dir_.str() + "/" + m.name + ".etcd";
      m.log = dir_.str() + "/" + m.name + ".log";
      m.client_port = ports[2 * i];
      m.peer_port = ports[2 * i + 1];
    }
    for (int i : all)
      spawn(i, true);
    if (await_healthy(all, clock_type::now() + start_timeout))
      return;
    for (int i : all) {
      kill_member(i);
      std::error_code ec;
      std::filesystem::remove_all(at(i).data_dir, ec);
    }
    if (attempt == 3)
      throw std::runtime_error("etcd_cluster: ports taken before etcd could bind them, 3 times");
  }
}

etcd_cluster::~etcd_cluster() {
  for (auto& m : members_)  // all at once; members_'s destruction then reaps them
    if (m.proc)
      m.proc->signal(SIGKILL);
}

const etcd_cluster::member& etcd_cluster::at(int i) const {
  if (i < 0 || i >= size())
    throw std::out_of_range("etcd_cluster: no member " + std::to_string(i));
  return members_[static_cast<std::size_t>(i)];
}

std::string etcd_cluster::client_address(int i) const {
  return "127.0.0.1:" + std::to_string(at(i).client_port);
}

std::string etcd_cluster::authority() const {
  return join(addresses(indices()));
}

std::vector<int> etcd_cluster::indices(bool running_only) const {
  std::vector<int> out;
  for (int i = 0; i < size(); ++i)
    if (!running_only || running(i))
      out.push_back(i);
  return out;
}

std::vector<std::string> etcd_cluster::addresses(const std::vector<int>& which) const {
  std::vector<std::string> out;
  for (int i : which)
    out.push_back(client_address(i));
  return out;
}

void etcd_cluster::spawn(int i, bool fresh) {
  auto& m = at(i);
  auto log_start = log_text(i).size();  // earlier runs' lines are not this one's
  auto client =
      (options_.tls ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(m.client_port);
  auto peer = "http://127.0.0.1:" + std::to_string(m.peer_port);
  std::vector<std::string> peers;
  for (const auto& p : members_)
    peers.push_back(p.name + "=http://127.0.0.1:" + std::to_string(p.peer_port));
  // etcd logs through zap to the file (its default logger, capnslog, cannot write to one),
  // but gRPC's own warnings go to stderr: sh sends that to the file too, then execs etcd
  // (same pid; the log path and etcd's arguments are arguments to sh, never parsed).
  std::vector<std::string> argv{
      "-c",
      "exec 2>>\"$0\"; exec \"$@\"",
      m.log,
      etcd_program,
      "--name=" + m.name,
      "--data-dir=" + m.data_dir,
      "--listen-client-urls=" + client,
      "--advertise-client-urls=" + client,
      "--listen-peer-urls=" + peer,
      "--initial-advertise-peer-urls=" + peer,
      "--initial-cluster=" + join(peers),
      std::string("--initial-cluster-state=") + (fresh ? "new" : "existing"),
      "--initial-cluster-token=" + token_,
      "--heartbeat-interval=50",
      "--election-timeout=500",
      "--pre-vote=true",
      "--logger=zap",
      "--log-outputs=" + m.log};
  if (const auto& tls = options_.tls) {
    argv.insert(argv.end(), {"--cert-file=" + tls->cert, "--key-file=" + tls->key});
    if (tls->client_auth)
      argv.insert(argv.end(), {"--client-cert-auth=true", "--trusted-ca-file=" + tls->ca});
  }
  argv.insert(argv.end(), options_.etcd_flags.begin(), options_.etcd_flags.end());
  m.proc = std::make_unique<child_process>("/bin/sh", argv);
  // Wait until it serves its peers (soon, with or without a quorum; its client port is bound
  // by then): a new member waits 1 s for each peer that has bound its port but serves nothing
  // yet, and etcdctl backs off for 1 s from a port that refused it. Bounded: only slower if
  // etcd words its log otherwise.
  for (auto until = clock_type::now() + 3s;
       clock_type::now() < until && !m.proc->wait_exit(0ms) &&
       log_text(i).find("now serving peer", log_start) == std::string::npos;)
    std::this_thread::sleep_for(10ms);
}

bool etcd_cluster::await_healthy(const std::vector<int>& which, clock_type::time_point deadline) {
  for (std::string last;; std::this_thread::sleep_for(poll_step)) {
    for (int i : which) {
      if (auto status = at(i).proc->wait_exit(0ms)) {
        auto tail = log_tail(i);  // etcd's last words: the bind error, if that was it
        if (tail.find("address already in use") != std::string::npos)
          return false;
        throw std::runtime_error("etcd_cluster: member " + at(i).name + " (" + client_address(i) +
                                 ") exited with status " + std::to_string(*status) +
                                 " while starting; " + at(i).log + " ends:\n" + tail);
      }
    }
    // A read sent before the members serve clients with a leader can hold later reads up for
    // seconds; `endpoint status` is no read, and answers as soon as a member serves.
    auto st = statuses(which, last);
    bool led = st.size() == which.size();
    for (const auto& s : st)
      led = led && !s.leader.empty();
    if (led) {
      auto r = run_ctl(addresses(which), {"endpoint", "health"}, "3s");
      if (r.code == 0)
        return true;
      last = describe(r);
    }
    if (clock_type::now() >= deadline) {
      std::string msg =
          "etcd_cluster: " + join(addresses(which)) + " not healthy in time; last: " + last;
      for (int i : which)
        msg += "\n--- " + at(i).log + " ends:\n" + log_tail(i);
      throw std::runtime_error(msg);
    }
  }
}

std::string etcd_cluster::log_text(int i) const {
  std::ifstream in(at(i).log);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string etcd_cluster::log_tail(int i) const {
  auto text = log_text(i);  // zap's lines run to 200-400 bytes
  auto from = text.size() > 2500 ? text.find('\n', text.size() - 2500) + 1 : 0;
  return text.empty() ? "(empty log)\n" : text.substr(from);
}

void etcd_cluster::kill_member(int i) {
  if (auto& p = at(i).proc)
    p->signal(SIGKILL);
  at(i).proc.reset();  // reaps it
}

void etcd_cluster::stop_member(int i) {
  if (auto& p = at(i).proc)
    p->stop(10s);
  at(i).proc.reset();
}

void etcd_cluster::restart_member(int i) {
  if (running(i))
    throw std::runtime_error("etcd_cluster: restart_member(" + std::to_string(i) + "): member " +
                             at(i).name + " is running");
  // Its ports were free while it was down: something may hold one for a moment.
  for (auto deadline = clock_type::now() + start_timeout;; std::this_thread::sleep_for(poll_step)) {
    spawn(i, false);
    if (await_healthy({i}, deadline))
      return;
    kill_member(i);
    if (clock_type::now() >= deadline)
      throw std::runtime_error("etcd_cluster: " + at(i).name + "'s ports stayed taken; " +
                               at(i).log + " ends:\n" + log_tail(i));
  }
}

bool etcd_cluster::running(int i) const {
  const auto& m = at(i);
  return m.proc && !m.proc->wait_exit(0ms);
}

std::vector<etcd_cluster::member_status> etcd_cluster::statuses(const std::vector<int>& which,
                                                                std::string& raw) const {
  // stdout lists the members that answered (also when others failed: nonzero exit).
  auto r = run_ctl(addresses(which), {"endpoint", "status", "-w", "json"}, "2s");
  raw = describe(r);
  std::vector<member_status> out;
  for (int i : which) {
    auto at = r.out.find("{\"Endpoint\":\"" + client_address(i) + '"');
    if (at == std::string::npos)
      continue;
    auto next = r.out.find("{\"Endpoint\":", at + 1);  // "leader" is omitted while none
    out.push_back(
        {i, json_number(r.out, "member_id", at, next), json_number(r.out, "leader", at, next)});
  }
  return out;
}

int etcd_cluster::leader(std::chrono::milliseconds timeout) const {
  auto deadline = clock_type::now() + timeout;
  for (std::string last = "no member is running";; std::this_thread::sleep_for(poll_step)) {
    if (auto up = indices(true); !up.empty()) {
      auto st = statuses(up, last);
      // All answering members agree, and they are a majority: a lone member of a larger
      // cluster may still call itself leader for a while.
      bool agree = 2 * st.size() > members_.size();
      int found = -1;
      for (const auto& s : st) {
        agree = agree && !s.leader.empty() && s.leader == st[0].leader;
        found = s.id == s.leader ? s.member : found;
      }
      if (agree && found >= 0)
        return found;
    }
    if (clock_type::now() >= deadline)
      throw std::runtime_error("etcd_cluster: no leader agreed on within " +
                               std::to_string(timeout.count()) + " ms; last status: " + last);
  }
}

etcd_cluster::ctl_result etcd_cluster::run_ctl(const std::vector<std::string>& endpoints,
                                               const std::vector<std::string>& args,
                                               const std::string& timeout) const {
  std::vector<std::string> argv{"--endpoints=" + join(endpoints), "--dial-timeout=" + timeout,
                                "--command-timeout=" + timeout};
  if (const auto& tls = options_.tls) {  // endpoints without a scheme: TLS once a flag is set
    argv.push_back("--cacert=" + tls->ca);
    if (!tls->client_cert.empty())
      argv.insert(argv.end(), {"--cert=" + tls->client_cert, "--key=" + tls->client_key});
  }
  argv.insert(argv.end(), ctl_flags_.begin(), ctl_flags_.end());
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run_command(etcdctl_program, argv, {}, ctl_limit);
  ctl_result out{r.exit_code, std::move(r.out), std::move(r.err)};
  if (r.timed_out)
    out.err += "\n(etcdctl killed: still running after 15 s)";
  return out;
}

etcd_cluster::ctl_result etcd_cluster::etcdctl(const std::vector<std::string>& args) const {
  auto up = indices(true);
  return run_ctl(addresses(up.empty() ? indices() : up), args, "3s");
}

etcd_cluster::ctl_result etcd_cluster::checked(const std::vector<std::string>& args) const {
  auto r = etcdctl(args);
  if (r.code != 0)
    throw std::runtime_error("etcd_cluster: etcdctl " + join(args, " ") +
                             " failed: " + describe(r));
  return r;
}

std::optional<std::string> etcd_cluster::get(const std::string& key) const {
  auto r = checked({"get", "--print-value-only", "--", key});
  if (r.out.empty())
    return std::nullopt;  // a present key prints its value and a newline, even if empty
  r.out.pop_back();
  return r.out;
}

std::int64_t etcd_cluster::revision() const {
  auto r = checked({"get", "-w", "json", "--", "achan-test/revision-probe"});
  auto n = json_number(r.out, "revision");  // the header's, printed before any kvs
  if (n.empty())
    throw std::runtime_error("etcd_cluster: no revision in etcdctl get output: " + r.out);
  return std::stoll(n);
}

}  // namespace achan::test
