// achan serve: the test service of proto/echo.proto (plus grpc.health.v1 and server
// reflection) on achan's own HTTP/2 server, until SIGINT or SIGTERM; SIGUSR1 toggles its
// health between SERVING and NOT_SERVING. Behaviour flags for demos and tests: --delay,
// --fail-rate/--seed (the echo service), --orca (load reports in every call's trailers).
#include <csignal>
#include <cstdio>
#include <limits>

#include <achan/etcd.hpp>
#include <achan/server.hpp>
#include "cli/commands.hpp"
#include "cli/dial_flags.hpp"
#include "cli/flags.hpp"
#include "cli/load_sampler.hpp"
#include "cli/reflection_service.hpp"
#include "testkit/echo_service.hpp"
#include "testkit/health_service.hpp"
#include "testkit/program_args.hpp"

namespace achan::cli {
command_spec serve_spec() {
  return {
      "serve",
      "achan serve [--port PORT] [--host HOST] [--name NAME] [flags]",
      "Serves achan.test.Echo (proto/echo.proto: Unary, ServerStream, ClientStream, Bidi;\n"
      "every reply names the server), grpc.health.v1.Health and server reflection\n"
      "(grpc.reflection.v1alpha) until SIGINT or SIGTERM, then shuts down gracefully:\n"
      "GOAWAY, in-flight calls get --grace to finish. Prints 'listening on HOST:PORT'\n"
      "once ready; --port 0 (the default) picks a free port. Connection-level events\n"
      "(accept errors, GOAWAYs sent for protocol errors or abuse) are logged to stderr.\n"
      "SIGUSR1 toggles the health of the server and every service between SERVING and\n"
      "NOT_SERVING (Check and Watch see it) and prints 'health: SERVING' or\n"
      "'health: NOT_SERVING'. Limits and their defaults: docs/limits.md.\n"
      "For demos and tests of load-aware clients: --delay and --fail-rate change how\n"
      "achan.test.Echo answers; --orca puts an ORCA load report (trailer\n"
      "endpoint-load-metrics-bin: process CPU utilization, Echo calls and errors per\n"
      "second, sampled every second) in every call's trailers.",
      {},
      {{"--port", "-p", "PORT", "TCP port, 0..65535 (0: a free one)"},
       {"--host", "", "HOST", "address to listen on (default 127.0.0.1)"},
       {"--name", "", "NAME", "server name put in every reply (default: achan)"},
       {"--threads", "", "N", "I/O threads (default 1)"},
       {"--grace", "", "DURATION", "how long in-flight calls may finish at shutdown (default 5s)"},
       {"--max-concurrent-streams", "", "N",
        "calls one connection may have open at once (default 100)"},
       {"--max-connection-idle", "", "DURATION",
        "GOAWAY to a connection without calls for this long (default: never)"},
       {"--max-connection-age", "", "DURATION",
        "GOAWAY to a connection this old, +-10 % (default: never)"},
       {"--max-connection-age-grace", "", "DURATION",
        "close it this long after that GOAWAY (default: never)"},
       {"--tls-cert", "", "FILE", "serve TLS with this certificate chain (PEM; needs --tls-key)"},
       {"--tls-key", "", "FILE", "the certificate's private key (PEM)"},
       {"--tls-client-ca", "", "FILE",
        "ask clients for certificates and verify them against these CAs (PEM)"},
       {"--require-client-cert", "", "", "refuse clients without a valid certificate (mTLS)"},
       {"--log-calls", "", "", "print 'call METHOD' on stdout as each call arrives"},
       {"--not-serving", "", "",
        "start with the server and every service NOT_SERVING (SIGUSR1 toggles)"},
       {"--orca", "", "", "send an ORCA load report with every reply (docs/cli.md)"},
       {"--delay", "", "DURATION", "answer every Echo call this much later (no thread blocks)"},
       {"--fail-rate", "", "P",
        "fail this fraction of Echo calls, 0..1, with UNAVAILABLE (default 0)"},
       {"--seed", "", "N", "seed choosing which calls --fail-rate fails (default 1)"},
       {"--register", "", "etcd://HOST:PORT/PREFIX",
        "keep PREFIX/ADDRESS registered in etcd under a lease while serving (docs/etcd.md)"},
       {"--advertise", "", "HOST:PORT",
        "the address to register (default: --host and the port listened on)"},
       {"--lease-ttl", "", "DURATION", "the registration's lease TTL (default 10s)"}}};
}

namespace {

/// server_tls from --tls-cert --tls-key --tls-client-ca --require-client-cert, or nullopt.
std::optional<server_tls> serve_tls_from(const parsed_args& args) {
  bool any = args.has("--tls-cert") || args.has("--tls-key") || args.has("--tls-client-ca") ||
             args.has("--require-client-cert");
  if (!any)
    return std::nullopt;
  if (!args.has("--tls-cert") || !args.has("--tls-key"))
    throw usage_error("TLS needs both --tls-cert and --tls-key");
  if (args.has("--require-client-cert") && !args.has("--tls-client-ca"))
    throw usage_error("--require-client-cert needs --tls-client-ca (the CAs to verify with)");
  server_tls t;
  t.cert_chain = pem_source::from_file(args.get("--tls-cert"));
  t.key = pem_source::from_file(args.get("--tls-key"));
  if (args.has("--tls-client-ca")) {
    t.client_ca = pem_source::from_file(args.get("--tls-client-ca"));
    t.auth = args.has("--require-client-cert") ? client_auth::require : client_auth::request;
  }
  return t;
}

}  // namespace

int run_serve(const parsed_args& args) {
  auto port = static_cast<std::uint16_t>(args.integer("--port", 0, 0, 65535));
  auto host = args.get("--host", "127.0.0.1");
  transport::server_options opts;
  opts.io_threads = static_cast<unsigned>(args.integer("--threads", 1, 1, 64));
  opts.max_concurrent_streams = static_cast<std::uint32_t>(args.integer(
      "--max-concurrent-streams", opts.max_concurrent_streams, 1, std::int64_t{1} << 31));
  auto ms = [&](const char* flag) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        args.duration(flag).value_or(std::chrono::nanoseconds{0}));
  };
  opts.max_connection_idle = ms("--max-connection-idle");
  opts.max_connection_age = ms("--max-connection-age");
  opts.max_connection_age_grace = ms("--max-connection-age-grace");
  // Connection-level events (accept errors, GOAWAYs for abuse) go to stderr.
  opts.log = [](const std::string& line) {
    std::fprintf(stderr, "achan serve: %s\n", line.c_str());
  };
  opts.tls = serve_tls_from(args);
  auto grace = args.duration("--grace").value_or(std::chrono::seconds(5));
  bool log_calls = args.has("--log-calls");
  testkit::echo_options echo;
  echo.delay = args.duration("--delay").value_or(std::chrono::nanoseconds{0});
  echo.fail_rate = args.number_in("--fail-rate", 0, 0, 1);
  echo.seed = static_cast<std::uint64_t>(
      args.integer("--seed", 1, 0, std::numeric_limits<std::int64_t>::max()));

  // Block the signals before any thread starts (threads inherit the mask); the main
  // thread takes them with sigwait, so nothing runs in a signal handler.
  auto stop = testkit::block_stop_signals();
  sigaddset(&stop, SIGUSR1);  // toggle health
  if (opts.tls)               // SIGHUP: reload the certificate files
    sigaddset(&stop, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  // Declared before the server: the echo service counts into it until the server is gone;
  // started after the signals are blocked, like every thread.
  std::unique_ptr<load_sampler> sampler;
  if (args.has("--orca")) {
    opts.orca = std::make_shared<transport::server_metric_recorder>();
    sampler = std::make_unique<load_sampler>(opts.orca);
  }
  echo.on_call = [log_calls, s = sampler.get()](const std::string& m) {
    if (s)
      s->count_call();
    if (log_calls) {
      std::printf("call %s\n", m.c_str());
      std::fflush(stdout);
    }
  };
  if (sampler)
    echo.on_failure = [s = sampler.get()](status_code) { s->count_failure(); };
  transport::h2_server server{opts};
  auto service = testkit::add_echo_service(server, args.get("--name", "achan"), std::move(echo));
  const std::string echo_service = "achan.test.Echo";
  auto health = testkit::health_service::add(server, {echo_service});
  bool serving = !args.has("--not-serving");
  if (!serving)
    health->set_all(testkit::serving_status::not_serving);
  add_reflection_service(
      server, {echo_service, "grpc.health.v1.Health", std::string{reflection_service_name}});
  auto l = server.listen(host, port);
  if (!l.ok()) {
    if (l.error().code == status_code::invalid_argument)  // a bad address or TLS file
      throw usage_error(l.error().message);
    std::fprintf(stderr, "achan serve: %s\n", l.error().message.c_str());
    return 1;
  }
  std::printf("listening on %s:%u\n", host.c_str(), (*l));
  std::fflush(stdout);
  // Registration in etcd (after listening: the advertised port is known).
  std::optional<client_system> etcd_sys;
  std::shared_ptr<etcd_registration> registration;
  if (args.has("--register")) {
    auto advertise = args.get("--advertise", "");
    if (advertise.empty()) {
      if (host.empty() || host == "0.0.0.0" || host == "::")
        throw usage_error("--register with a wildcard --host needs --advertise HOST:PORT");
      advertise = join_host_port(host, *l);
    }
    etcd_registration_options ro;
    auto ttl = args.duration("--lease-ttl").value_or(std::chrono::seconds(10));
    ro.ttl = std::chrono::ceil<std::chrono::seconds>(ttl);
    etcd_sys.emplace();
    auto r = etcd_registration::start(etcd_sys->get(), args.get("--register"), advertise, ro);
    if (!r)
      throw usage_error(r.error().message);
    registration = std::move(*r);
    std::printf("registering %s in etcd\n", registration->key().c_str());
    std::fflush(stdout);
  }
  for (;;) {
    int sig = testkit::wait_for_stop(stop);
    if (sig == SIGUSR1) {
      serving = !serving;
      health->set_all(serving ? testkit::serving_status::serving
                              : testkit::serving_status::not_serving);
      std::printf("health: %s\n", serving ? "SERVING" : "NOT_SERVING");
      std::fflush(stdout);
      continue;
    }
    if (sig != SIGHUP)
      break;  // SIGINT or SIGTERM
    auto ok = server.reload_tls(*opts.tls);
    if (ok.ok())
      std::printf("reloaded TLS certificates\n");
    else
      std::fprintf(stderr, "achan serve: TLS reload failed (keeping the old certificates): %s\n",
                   ok.message.c_str());
    std::fflush(stdout);
  }
  if (registration)
    registration->stop();  // the key goes first: clients stop picking this server
  health->shutdown();      // NOT_SERVING to watchers, and their streams end
  server.shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(grace));
  return 0;
}

}  // namespace achan::cli
