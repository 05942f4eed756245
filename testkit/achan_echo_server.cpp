// achan's own server with the echo test service as a program, for tests that need it
// in its own process (the e2e tests that kill a server; `achan serve` is the user-facing one):
//   achan_echo_server --port P [--threads N] [--name NAME] [--log-calls 1]
// --log-calls 1 prints "call <method>" when a call reaches its handler.
// Listens on 127.0.0.1 only, prints "listening on 127.0.0.1:PORT" when ready, and shuts
// down gracefully (GOAWAY, 2 s drain) on SIGTERM/SIGINT, exiting 0.
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "testkit/echo_service.hpp"
#include "testkit/program_args.hpp"

int main(int argc, char** argv) {
  const achan::testkit::program_args args{
      "achan_echo_server",
      "achan_echo_server --port P [--threads N] [--name NAME] [--log-calls 1]"};
  long port = -1;
  unsigned threads = 1;
  std::string name = "achan";
  bool log_calls = false;
  args.each_flag(argc, argv, [&](const std::string& flag, const std::string& v) {
    if (flag == "--port")
      port = args.number(flag, v);
    else if (flag == "--threads")
      threads = static_cast<unsigned>(args.number(flag, v));
    else if (flag == "--name")
      name = v;
    else if (flag == "--log-calls")
      log_calls = args.number(flag, v) != 0;
    else
      return false;
    return true;
  });
  if (port < 0 || port > 65535)
    args.fail("--port 0..65535 is required");
  if (threads < 1)
    args.fail("--threads must be at least 1");
  // Block the stop signals before the I/O threads start (they inherit the mask).
  auto stop = achan::testkit::block_stop_signals();
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
  achan::testkit::wait_for_stop(stop);
  server.shutdown(std::chrono::seconds(2));
  return 0;
}
