#pragma once
/// The client side of gRPC server reflection (grpc.reflection.v1alpha): what `achan call`
/// uses when no --proto is given. One ServerReflectionInfo bidi stream per session asks
/// for the files declaring the wanted symbols, then for each of their dependencies not
/// received yet (well-known google/protobuf/* files come from libprotobuf instead), and
/// optionally for the service list; requests are pipelined and answered in order.
///
///   auto cat = catalog_from_reflection(ch, {"achan.test.Echo"}, 5s);
///   if (!cat) { std::cerr << cat.error().message << "\n"; return 1; }   // one line
///   auto m = cat->find_method("/achan.test.Echo/Unary");
///
/// Errors (one line each): "server does not support the reflection service; pass
/// --proto" (the server answered UNIMPLEMENTED), "symbol 'x.Y' not found on the server",
/// "server reflection did not finish within 5s; pass --proto if the server has no
/// reflection service" (a server that answers unknown methods only after the client
/// half-closes, like achan's own h2_server today, ends up here too), "server reflection
/// failed: UNAVAILABLE: ...".
#include <functional>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.pb.h>

#include <achan/channel.hpp>
#include "cli/proto_catalog.hpp"
#include "cli/result.hpp"

namespace achan::cli {

/// The method every session calls.
inline constexpr const char* reflection_method =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

/// What a session asks for.
struct reflection_query {
  /// Fully-qualified symbols (services, usually) whose files, with their dependencies,
  /// are fetched.
  std::vector<std::string> symbols;
  /// Also ask for the server's list of services.
  bool list_services = true;
};

/// What a session got.
struct reflection_answer {
  /// The server's services, in its order (empty unless the query asked for them).
  std::vector<std::string> services;
  /// Every file received, each once, in arrival order: the symbols' files and their
  /// dependencies (well-known types only if the server sent them).
  std::vector<google::protobuf::FileDescriptorProto> files;
};

/// Runs one reflection session on `ch` in the background. `done` runs exactly once, on
/// an achan thread (it must not block), with the answer or the error. `opts.timeout`
/// bounds the whole session; without one a silent server keeps it open until the
/// channel closes. Callable from any thread, including achan's.
void start_reflection(channel ch, reflection_query query, call_options opts,
                      std::function<void(result<reflection_answer>)> done);

/// Blocking form: runs a session with `timeout` (and request metadata `md`) and waits for
/// it. Never call it on an achan thread (a channel completion or handler): it would
/// wait for itself.
result<reflection_answer> fetch_reflection(channel ch, reflection_query query,
                                           clock_duration timeout, metadata md = {});

/// Blocking: fetches the files declaring `symbols` and builds a catalog of them (origin
/// "the server's reflection"), for method lookup and JSON conversion.
result<proto_catalog> catalog_from_reflection(channel ch, std::vector<std::string> symbols,
                                              clock_duration timeout, metadata md = {});

}  // namespace achan::cli
