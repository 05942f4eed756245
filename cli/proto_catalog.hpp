#pragma once
/// The message types of the methods `achan call` can make: from .proto files parsed at
/// run time (`--proto FILE -I DIR`) or from FileDescriptorProtos a server sent through
/// reflection. A catalog owns its descriptor pool; descriptors it hands out live as long
/// as the catalog (moving the catalog keeps them valid).
///
///   auto cat = proto_catalog::from_files({"echo.proto"}, {"protos/"});
///   if (!cat) { std::cerr << cat.error().message << "\n"; return 1; }
///   auto m = cat->find_method("/achan.test.Echo/Unary");   // m->input, m->output
///
/// Files importing the well-known types (google/protobuf/timestamp.proto, ...) load
/// without a protobuf include directory: libprotobuf's compiled-in copies are used when
/// the import path does not have them.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/result.hpp"

namespace google::protobuf {
class Descriptor;
class DescriptorPool;
class FileDescriptorProto;
class MethodDescriptor;
class ServiceDescriptor;
}  // namespace google::protobuf

namespace achan::cli {

/// One resolved method. The pointers stay valid while the catalog that made it lives.
struct method_info {
  std::string path;  ///< gRPC path, "/package.Service/Method"
  const google::protobuf::MethodDescriptor* method = nullptr;
  const google::protobuf::Descriptor* input = nullptr;   ///< request message type
  const google::protobuf::Descriptor* output = nullptr;  ///< response message type
  bool client_streaming = false;
  bool server_streaming = false;
};

/// A method name split into its parts.
struct method_name {
  std::string service;  ///< "package.Service"
  std::string method;   ///< "Method"
};

/// Splits "/pkg.Service/Method", "pkg.Service/Method" or "pkg.Service.Method" (what a
/// user may type). Error: "invalid method name 'x': expected /package.Service/Method".
result<method_name> split_method_name(std::string_view name);

/// A loaded set of .proto files. Lookups are const and may run on any thread at once;
/// loading runs on the caller's thread. Movable, not copyable.
class proto_catalog {
 public:
  /// Parses `proto_files` (each repeatable --proto) with their imports resolved in
  /// `import_paths` (-I, searched in order). Without import paths each file's own
  /// directory is the root it and its imports are found in. A file given by a disk path
  /// under an import path is named relative to it; otherwise the name is looked up in
  /// the import paths, and failing that its directory is added after them. Errors (one
  /// line, the first problem found): "cannot read 'x.proto': No such file or
  /// directory", "echo.proto:12:3: Expected \";\".", "no .proto file given".
  static result<proto_catalog> from_files(const std::vector<std::string>& proto_files,
                                          const std::vector<std::string>& import_paths);

  /// Builds a catalog from `files` (in any order; every dependency must be among them
  /// or be a well-known type). `origin` names where they came from in error messages
  /// ("the server's reflection"). Error: "invalid descriptor from <origin>: ...".
  static result<proto_catalog> from_descriptors(
      const std::vector<google::protobuf::FileDescriptorProto>& files, std::string origin);

  proto_catalog(proto_catalog&&) noexcept;
  proto_catalog& operator=(proto_catalog&&) noexcept;
  ~proto_catalog();

  /// Resolves a method named in any form split_method_name() takes. Errors: its own,
  /// "service 'x.Y' not found in echo.proto (it has: achan.test.Echo)", "method 'Foo'
  /// not found in service achan.test.Echo (it has: Unary, ...)"; at most 8 names listed.
  result<method_info> find_method(std::string_view name) const;

  /// A message type by its full name ("achan.test.EchoRequest"), or nullptr.
  const google::protobuf::Descriptor* find_message(std::string_view full_name) const;

  /// Full names of the services declared in the loaded files (not their imports), sorted.
  std::vector<std::string> services() const;

  /// Where the types came from, for messages: "echo.proto, other.proto" or the origin
  /// given to from_descriptors.
  const std::string& origin() const noexcept;

  /// The pool holding every loaded file (for callers needing more than the above).
  const google::protobuf::DescriptorPool& pool() const noexcept;

 private:
  struct state;
  explicit proto_catalog(std::unique_ptr<state> s);
  std::unique_ptr<state> s_;
};

}  // namespace achan::cli
