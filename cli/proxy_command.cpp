// achan proxy: a gRPC L7 proxy (include/achan/grpc_proxy.hpp) that balances each call
// across a route's backends, with gRPC-level fault injection, until SIGINT or SIGTERM.
#include <csignal>
#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include <achan/grpc_proxy.hpp>

#include "cli/commands.hpp"
#include "cli/dial_flags.hpp"
#include "cli/flags.hpp"
#include "proxy/config_json.hpp"
#include "testkit/program_args.hpp"

namespace achan::cli {

command_spec proxy_spec() {
  std::vector<flag_spec> flags{
      {"--listen", "", "HOST:PORT", "where clients connect (default 127.0.0.1:0: a free port)"},
      {"--target", "", "TARGET", "where every call goes (one route named 'default')"},
      {"--routes", "", "FILE",
       "routes by method prefix, each to its own target (JSON; docs/proxy.md)"},
      {"--api", "", "HOST:PORT", "serve the HTTP control API here (stats, faults at run time)"},
      {"--fault-headers", "", "",
       "honour x-achan-fault-delay-ms and x-achan-fault-abort-code request headers"},
      {"--delay", "", "DURATION", "fault: delay --delay-percent of the calls by this much"},
      {"--delay-percent", "", "P", "fault: percentage of calls delayed, 0..100 (default 100)"},
      {"--abort-code", "", "CODE", "fault: abort --abort-percent of the calls with this status"},
      {"--abort-percent", "", "P", "fault: percentage of calls aborted, 0..100 (default 100)"},
      {"--seed", "", "N", "seed for the fault draws (default 1)"},
      {"--via", "", "", "add 'via: achan-proxy' to forwarded requests and responses"},
      {"--threads", "", "N", "server I/O threads (default 1)"},
      {"--stream-buffer", "", "BYTES",
       "bytes one direction of a call may hold before its sender is paused (default 262144)"},
      {"--grace", "", "DURATION", "how long in-flight calls may finish at shutdown (default 5s)"},
  };
  add_dial_flags(flags, dial_flags_basic);
  return {"proxy",
          "achan proxy (--target TARGET | --routes FILE) [--listen HOST:PORT] [flags]",
          "Proxies gRPC calls of any service (no .proto needed; unary and streaming alike)\n"
          "to a target, balancing each call across its backends with --lb: for clients\n"
          "that cannot balance. Metadata, -bin headers, status, trailers, deadlines and\n"
          "cancellation pass through; each direction of each call is flow-controlled end\n"
          "to end. --routes sends method prefixes to different targets. Faults (Envoy's\n"
          "fault filter): --delay/--abort-code with percentages for the --target route,\n"
          "per-rule in the route file, by request header with --fault-headers, and at run\n"
          "time over --api. Prints 'listening on HOST:PORT' once ready; logs route state\n"
          "changes to stderr. The dial flags apply to the --target route. See docs/proxy.md.",
          {},
          std::move(flags)};
}

namespace {

std::vector<proxy::route_config> read_routes(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw usage_error("--routes: cannot read '" + path + "'");
  std::stringstream text;
  text << in.rdbuf();
  auto routes = proxy::json::routes_from_json(text.str());
  if (!routes.ok())
    throw usage_error("--routes " + path + ": " + routes.error().message);
  return std::move(*routes);
}

/// The --delay / --abort-code rule for the --target route, if asked for.
std::optional<proxy::fault_rule> flag_fault(const parsed_args& args) {
  if (!args.has("--delay") && !args.has("--abort-code"))
    return std::nullopt;
  proxy::fault_rule r;
  if (auto d = args.duration("--delay")) {
    r.delay = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    r.delay_percent = args.number_in("--delay-percent", 100, 0, 100);
  }
  if (args.has("--abort-code")) {
    auto code = proxy::json::fault_from_json({{"abort_code", args.get("--abort-code")}});
    if (!code.ok()) {
      auto n = args.integer("--abort-code", 14, 1, 16);
      r.abort_code = static_cast<status_code>(n);
    } else {
      r.abort_code = code->abort_code;
    }
    r.abort_percent = args.number_in("--abort-percent", 100, 0, 100);
  }
  if (auto st = proxy::validate(r); !st.ok())
    throw usage_error(st.message);
  return r;
}

}  // namespace

int run_proxy(const parsed_args& args) {
  if (args.has("--target") == args.has("--routes"))
    throw usage_error("give either --target or --routes");
  proxy::proxy_options o;
  if (args.has("--target")) {
    proxy::route_config r{.name = "default", .target = args.get("--target")};
    r.dial = dial_options_from(args);
    if (auto tls = tls_from(args))
      r.dial.tls = std::move(tls);
    if (auto f = flag_fault(args))
      r.faults.push_back(*f);
    o.routes.push_back(std::move(r));
  } else {
    o.routes = read_routes(args.get("--routes"));
  }
  if (args.has("--fault-headers"))
    for (auto& r : o.routes)
      r.fault_headers = true;
  auto [host, port] = parse_host_port("--listen", args.get("--listen", "127.0.0.1:0"));
  std::optional<std::pair<std::string, std::uint16_t>> api;
  if (args.has("--api"))
    api = parse_host_port("--api", args.get("--api"));
  o.seed = static_cast<std::uint64_t>(
      args.integer("--seed", 1, 0, std::numeric_limits<std::int64_t>::max()));
  o.add_via = args.has("--via");
  o.server.io_threads = static_cast<unsigned>(args.integer("--threads", 1, 1, 64));
  o.stream_buffer =
      static_cast<std::size_t>(args.integer("--stream-buffer", 256 * 1024, 1024, 1 << 30));
  o.log = [](const std::string& line) { std::fprintf(stderr, "achan proxy: %s\n", line.c_str()); };
  o.server.log = o.log;
  auto grace = args.duration("--grace").value_or(std::chrono::seconds(5));

  auto stop = testkit::block_stop_signals();  // before any thread starts
  client_system sys;
  auto p = proxy::grpc_proxy::start(sys.get(), std::move(o), host, port);
  if (!p.ok()) {
    if (p.error().code == status_code::invalid_argument)
      throw usage_error(p.error().message);
    std::fprintf(stderr, "achan proxy: %s\n", p.error().message.c_str());
    return 1;
  }
  std::unique_ptr<proxy::control_api> control;
  if (api) {
    try {
      control = std::make_unique<proxy::control_api>(**p, api->first, api->second);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "achan proxy: %s\n", e.what());
      return 1;
    }
  }
  std::printf("listening on %s:%u\n", host.c_str(), unsigned{(*p)->port()});
  if (control)
    std::printf("api listening on %s:%u\n", api->first.c_str(), unsigned{control->port()});
  std::fflush(stdout);
  testkit::wait_for_stop(stop);
  control.reset();
  (*p)->shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(grace));
  return 0;
}

}  // namespace achan::cli
