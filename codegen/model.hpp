#pragma once
/// What protoc-gen-achan generates from: the services of one .proto file with every
/// C++ name already resolved, so that the emitters (emit.hpp) never look at descriptors.
#include <string>
#include <vector>

namespace achan::codegen {

/// The four gRPC call kinds.
enum class method_kind { unary, server_stream, client_stream, bidi_stream };

/// One rpc of a service.
struct method_model {
  std::string name;           ///< "Unary": the C++ member names and "<name>Call"
  std::string path;           ///< "/pkg.Service/Unary", the HTTP/2 :path
  std::string request;        ///< fully qualified C++ class, "::pkg::Request"
  std::string response;       ///< fully qualified C++ class
  std::string request_full;   ///< protobuf full name "pkg.Request", for comments
  std::string response_full;  ///< protobuf full name, for comments
  method_kind kind = method_kind::unary;
};

/// One service of the file.
struct service_model {
  std::string name;       ///< "Echo": the C++ namespace holding Client, Service, ...
  std::string full_name;  ///< "pkg.Echo"
  std::string ns;         ///< "pkg::Echo" (no leading "::"), for namespace blocks
  std::string qualified;  ///< "::pkg::Echo", for references
  std::vector<method_model> methods;

  /// True if some method is unary (the stub actor serves unary methods only).
  bool has_unary() const;
};

/// One .proto file and the names of what is generated for it.
struct file_model {
  std::string proto;   ///< "dir/echo.proto", as protoc names it
  std::string pb_h;    ///< "dir/echo.pb.h", protobuf's header
  std::string header;  ///< "dir/echo.achan.pb.h"
  std::string source;  ///< "dir/echo.achan.pb.cc"
  std::vector<service_model> services;
};

/// Plugin parameters (protoc's --achan_opt=key=value,...).
struct generator_options {
  bool actor = true;  ///< actor=false: no <Method>Call messages and no StubActor
};

}  // namespace achan::codegen
