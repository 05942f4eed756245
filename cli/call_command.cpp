// achan call TARGET METHOD: one call of any kind, JSON in (-d) and out (stdout).
#include <cstdio>
#include <future>
#include <memory>

#include "cli/commands.hpp"
#include "cli/dial_flags.hpp"
#include "cli/event_log.hpp"
#include "cli/method_lookup.hpp"
#include "transport/grpc/wire_text.hpp"

namespace achan::cli {
command_spec call_spec() {
  command_spec s{
      "call",
      "achan call TARGET METHOD [--proto FILE] [-d JSON] [flags]",
      "Makes one call of METHOD (/package.Service/Method) through achan's channel and prints\n"
      "the response as JSON on stdout; a server-streaming or bidi method prints one JSON\n"
      "object per response message. Request messages come from -d (one JSON object per\n"
      "message; client- and bidi-streaming methods take any number). Message types come\n"
      "from --proto files or, without --proto, from the server's reflection service.\n"
      "A non-OK status prints 'ERROR: CODE: message' on stderr and exits 1.",
      {"TARGET", "METHOD"},
      {}};
  add_method_flags(s.flags);
  add_dial_flags(s.flags, dial_flags_calls);
  s.flags.push_back(
      {"--verbose", "-v", "", "also print response metadata and which backend answered (stderr)"});
  s.flags.push_back({"--compact", "", "", "print each response on one line"});
  s.flags.push_back({"--emit-defaults", "", "", "print fields that hold their default value"});
  return s;
}

namespace {

/// One call in flight: responses and the final result pass to the main thread.
struct outcome {
  event_log messages;  // serialized responses, in order
  std::promise<call_result> done;
};

}  // namespace

int run_call(const parsed_args& args) {
  auto dopts = dial_options_from(args);
  auto copts = call_options_from(args);
  json_format format{!args.has("--compact"), args.has("--emit-defaults"), false};
  bool verbose = args.has("--verbose");

  client_system sys;
  auto ch = dial_or_throw(sys.get(), args.positionals[0], std::move(dopts));
  auto lookup_timeout = copts.timeout.value_or(std::chrono::seconds(10));
  auto method = find_method(args, ch, args.positionals[1], lookup_timeout, copts.md);
  if (!method) {
    std::fprintf(stderr, "ERROR: %s\n", method.error().message.c_str());
    return 1;
  }
  auto requests = read_requests(args, *method);
  json_codec out{*method->info.output};
  auto& info = method->info;

  auto o = std::make_shared<outcome>();
  auto result = o->done.get_future();
  auto on_message = [o](std::string&& m) { o->messages.push(std::move(m)); };
  auto on_done = [o](call_result&& r) {
    if (!r.payload.empty())
      o->messages.push(std::move(r.payload));
    o->done.set_value(std::move(r));
  };
  if (!info.client_streaming && !info.server_streaming) {
    ch.call(info.path, std::move(requests.front()), copts, on_done);
  } else if (!info.client_streaming) {
    ch.server_stream(info.path, std::move(requests.front()), copts, on_message, on_done);
  } else {
    auto stream = info.server_streaming ? ch.bidi_stream(info.path, copts, on_message, on_done)
                                        : ch.client_stream(info.path, copts, on_done);
    for (auto& r : requests)
      stream.write(std::move(r));
    stream.writes_done();
  }

  int rc = 0;
  auto print = [&](std::vector<std::string> batch) {
    for (auto& m : batch) {
      auto text = out.to_json(m, format);
      if (!text) {
        std::fprintf(stderr, "ERROR: %s\n", text.error().message.c_str());
        rc = 1;
        continue;
      }
      std::fputs(text->c_str(), stdout);
      std::fputc('\n', stdout);
    }
    std::fflush(stdout);
  };
  while (result.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready)
    print(o->messages.pop_all(std::chrono::milliseconds(20)));
  auto r = result.get();
  print(o->messages.pop_all(std::chrono::milliseconds(0)));
  if (verbose) {
    std::fprintf(stderr, "answered by: %s\n", r.peer.empty() ? "(no backend)" : r.peer.c_str());
    for (auto& [k, v] : r.trailers) {
      auto shown = grpc::is_binary_header(k) ? grpc::base64_encode(v) : v;
      std::fprintf(stderr, "metadata: %s: %s\n", k.c_str(), shown.c_str());
    }
  }
  if (!r.status.ok()) {
    std::fprintf(stderr, "ERROR: %s: %s\n", std::string{to_string(r.status.code)}.c_str(),
                 r.status.message.c_str());
    return 1;
  }
  return rc;
}

}  // namespace achan::cli
