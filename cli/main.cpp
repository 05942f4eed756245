// The `achan` command: one binary for calling, load-testing and watching gRPC services
// through achan's channel, and for serving the echo test service. See docs/cli.md.
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "cli/commands.hpp"
#include "cli/flags.hpp"

namespace {

constexpr const char* top_help =
    "usage: achan COMMAND [ARGS...]\n"
    "\n"
    "Calls, load-tests and watches gRPC services through achan's client channel\n"
    "(resolver -> balancer -> subchannels), and serves a test service.\n"
    "\n"
    "commands:\n"
    "  call TARGET METHOD   make one call; request and response as JSON\n"
    "  bench TARGET METHOD  keep calls in flight and report rate, latency and backends\n"
    "  watch TARGET         print connectivity and resolver events as they happen\n"
    "  serve                run the echo test service (with health and reflection)\n"
    "  fault-proxy          TCP fault proxies driven over toxiproxy's HTTP API\n"
    "  scenario run FILE    a failure scenario in virtual time by seed (--sim) or for real\n"
    "\n"
    "TARGET is a gRPC target: dns:///host:port, host:port, ipv4:1.2.3.4:80,5.6.7.8:80,\n"
    "ipv6:[::1]:80, unix:/path, unix-abstract:name, dns://DNS_IP:PORT/host:port.\n"
    "Durations are written 500ms, 10s, 2m. 'achan COMMAND --help' lists a command's flags.\n"
    "Exit codes: 0 success, 1 the call or run failed, 2 usage error.\n";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> words(argv + 1, argv + argc);
  if (words.empty()) {
    std::fputs(top_help, stderr);
    return 2;
  }
  const std::string cmd = words.front();
  if (cmd == "--help" || cmd == "-h" || cmd == "help") {
    std::fputs(top_help, stdout);
    return 0;
  }
  words.erase(words.begin());
  struct command {
    const char* name;
    achan::cli::command_spec (*spec)();
    int (*run)(const achan::cli::parsed_args&);
  };
  static const command commands[] = {
      {"call", achan::cli::call_spec, achan::cli::run_call},
      {"bench", achan::cli::bench_spec, achan::cli::run_bench},
      {"watch", achan::cli::watch_spec, achan::cli::run_watch},
      {"serve", achan::cli::serve_spec, achan::cli::run_serve},
      {"fault-proxy", achan::cli::fault_proxy_spec, achan::cli::run_fault_proxy},
      {"proxy", achan::cli::proxy_spec, achan::cli::run_proxy},
      {"scenario", achan::cli::scenario_spec, achan::cli::run_scenario},
  };
  try {
    for (auto& c : commands) {
      if (cmd != c.name)
        continue;
      auto spec = c.spec();
      auto args = achan::cli::parse(spec, words);
      if (args.help) {
        std::fputs(achan::cli::help_text(spec).c_str(), stdout);
        return 0;
      }
      return c.run(args);
    }
    std::fprintf(stderr, "achan: unknown command '%s' (see achan --help)\n", cmd.c_str());
    return 2;
  } catch (const achan::cli::usage_error& e) {
    std::fprintf(stderr, "achan %s: %s\n", std::string{cmd}.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "achan %s: %s\n", std::string{cmd}.c_str(), e.what());
    return 1;
  }
}
