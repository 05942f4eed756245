// achan fault-proxy: TCP fault proxies behind toxiproxy's v2 HTTP API, until SIGINT or
// SIGTERM, logging one line per connection and per proxy or toxic change.
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include <achan/fault_proxy.hpp>

#include "cli/commands.hpp"
#include "cli/event_log.hpp"
#include "testkit/fault_proxy/json.hpp"
#include "testkit/program_args.hpp"

namespace achan::cli {

command_spec fault_proxy_spec() {
  return {
      "fault-proxy",
      "achan fault-proxy [flags]",
      "Runs TCP fault proxies for failure-injection tests, driven over toxiproxy's v2\n"
      "HTTP API (existing toxiproxy clients work unchanged): create proxies in front of\n"
      "any server and add toxics - latency, bandwidth, slicer, limit_data, timeout,\n"
      "reset_peer, slow_close, and partition (both directions stop, the connection\n"
      "stays open). Logs one line per connection and per proxy or toxic change to\n"
      "stdout. Runs until SIGINT/SIGTERM. See docs/fault-proxy.md.",
      {},
      {{"--api", "", "HOST:PORT",
        "the HTTP API's address (default 127.0.0.1:8474; port 0 picks one)"},
       {"--config", "-c", "FILE", "proxies to create at start: a JSON array as for POST /populate"},
       {"--seed", "", "N", "seed for toxicity draws, jitter and slice sizes (default 1)"},
       {"--json", "", "", "log one JSON object per line instead of text"},
       {"--max-connections", "", "N", "open connections per proxy (default 10000)"},
       {"--max-buffered", "", "BYTES",
        "bytes buffered per direction of a connection (default 1048576)"},
       {"--connect-timeout", "", "DURATION", "to an upstream (default 10s)"}}};
}

namespace {

std::string text_line(const std::string& at, const fault::log_event& e) {
  std::string line = at + " " + e.kind + " " + e.event;
  if (!e.proxy.empty())
    line += " proxy=" + e.proxy;
  for (auto& [k, v] : e.fields) {
    bool quote = v.find(' ') != std::string::npos || v.empty();
    line += " " + k + "=" + (quote ? "\"" + v + "\"" : v);
  }
  return line;
}

std::string json_line(const std::string& at, const fault::log_event& e) {
  nlohmann::json j{{"time", at}, {"kind", e.kind}, {"event", e.event}};
  if (!e.proxy.empty())
    j["proxy"] = e.proxy;
  for (auto& [k, v] : e.fields)
    j[k] = v;
  return j.dump();
}

std::vector<fault::proxy_config> read_config(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw usage_error("--config: cannot read '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  auto list = fault::json::proxy_list_from_json(text.str());
  if (!list)
    throw usage_error("--config " + path + ": " + list.error().message);
  return std::move(*list);
}

void print(event_log& log) {
  for (auto& line : log.pop_all(std::chrono::milliseconds{100}))
    std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

}  // namespace

int run_fault_proxy(const parsed_args& args) {
  auto api = args.get("--api", "127.0.0.1:8474");
  auto [api_host, api_port] = parse_host_port("--api", api);
  auto colon = api.rfind(':');

  fault::options opts;
  opts.seed = static_cast<std::uint64_t>(
      args.integer("--seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
  opts.max_connections =
      static_cast<std::size_t>(args.integer("--max-connections", 10000, 1, 1'000'000));
  opts.max_buffered =
      static_cast<std::size_t>(args.integer("--max-buffered", 1 << 20, 4096, 1 << 30));
  if (auto t = args.duration("--connect-timeout"))
    opts.connect_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*t);
  std::vector<fault::proxy_config> config;
  if (args.has("--config"))
    config = read_config(args.get("--config"));

  // The proxies' I/O thread only queues lines; this thread prints them, so a slow stdout
  // never stalls a proxied connection.
  auto log = std::make_shared<event_log>();
  bool as_json = args.has("--json");
  opts.log = [log, as_json](const fault::log_event& e) {
    auto at = utc_timestamp();
    log->push(as_json ? json_line(at, e) : text_line(at, e));
  };

  auto stop = testkit::block_stop_signals();  // before any thread starts
  auto proxies = std::make_unique<fault::proxy_set>(opts);
  if (!config.empty()) {
    auto made = proxies->populate(config);
    if (!made) {
      print(*log);
      std::fprintf(stderr, "achan fault-proxy: --config: %s\n", made.error().message.c_str());
      return made.error().code == status_code::invalid_argument ? 2 : 1;
    }
  }
  std::unique_ptr<fault::http_api> server;
  try {
    server =
        std::make_unique<fault::http_api>(*proxies, api_host, static_cast<std::uint16_t>(api_port));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "achan fault-proxy: %s\n", e.what());
    return 1;
  }
  std::printf("api listening on %s:%u\n", api.substr(0, colon).c_str(), unsigned{server->port()});
  std::fflush(stdout);
  timespec tick{0, 0};
  for (;;) {
    print(*log);
    if (sigtimedwait(&stop, nullptr, &tick) > 0)
      break;
  }
  server.reset();
  proxies.reset();  // closes every connection: their log lines come next
  print(*log);
  if (auto n = log->dropped())
    std::fprintf(stderr, "achan fault-proxy: %zu log lines dropped (stdout too slow)\n", n);
  return 0;
}

}  // namespace achan::cli
