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
  try {
    if (cmd == "call")
      return achan::cli::run_call(words);
    if (cmd == "bench")
      return achan::cli::run_bench(words);
    if (cmd == "watch")
      return achan::cli::run_watch(words);
    if (cmd == "serve")
      return achan::cli::run_serve(words);
    std::fprintf(stderr, "achan: unknown command '%s' (see achan --help)\n",
                 std::string{cmd}.c_str());
    return 2;
  } catch (const achan::cli::usage_error& e) {
    std::fprintf(stderr, "achan %s: %s\n", std::string{cmd}.c_str(), e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "achan %s: %s\n", std::string{cmd}.c_str(), e.what());
    return 1;
  }
}
