// achan's own server with the echo test service as a program, for tests that need it
// in its own process and for bench/compare.sh --server achan:
//   achan_echo_server --port P [--threads N] [--name NAME] [--log-calls 1]
// --log-calls 1 prints "call <method>" when a call reaches its handler.
// Listens on 127.0.0.1 only, prints "listening on 127.0.0.1:PORT" when ready, and shuts
// down gracefully (GOAWAY, 2 s drain) on SIGTERM/SIGINT, exiting 0.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "testkit/echo_service.hpp"

int main(int argc, char** argv) {
  int port = -1;
  unsigned threads = 1;
  std::string name = "achan";
  bool log_calls = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i], v = argv[i + 1];
    if (flag == "--port")
      port = std::atoi(v.c_str());
    else if (flag == "--threads")
      threads = static_cast<unsigned>(std::atoi(v.c_str()));
    else if (flag == "--name")
      name = v;
    else if (flag == "--log-calls")
      log_calls = v != "0";
    else {
      std::fprintf(stderr, "achan_echo_server: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  if (port < 0 || port > 65535 || (argc - 1) % 2 != 0) {
    std::fprintf(stderr,
                 "usage: achan_echo_server --port P [--threads N] [--name NAME] [--log-calls 1]\n");
    return 2;
  }
  // Block the stop signals before the I/O threads start (they inherit the mask).
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  achan::transport::server_options opts;
  opts.io_threads = threads;
  achan::transport::h2_server server{opts};
  auto service = achan::testkit::add_echo_service(server, name, [log_calls](const std::string& m) {
    if (log_calls) {
      std::printf("call %s\n", m.c_str());
      std::fflush(stdout);
    }
  });
  auto l = server.listen("127.0.0.1", static_cast<std::uint16_t>(port));
  if (!l.error.empty()) {
    std::fprintf(stderr, "achan_echo_server: %s\n", l.error.c_str());
    return 1;
  }
  std::printf("listening on 127.0.0.1:%u\n", l.port);
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  server.shutdown(std::chrono::seconds(2));
  return 0;
}
