#pragma once
/// The server side of gRPC server reflection (grpc.reflection.v1alpha) for `achan serve`:
/// lets grpcurl, `achan call` without --proto and any other reflection client discover
/// the services a server offers. Answers come from a descriptor pool (the program's
/// generated pool by default) the way grpc++'s reflection plugin answers: a file request
/// gets the file and all of its transitive dependencies, every time.
///
///   achan::transport::h2_server srv;
///   achan::cli::add_reflection_service(srv, {"achan.test.Echo", "grpc.health.v1.Health",
///                                             std::string(achan::cli::reflection_service_name)});
#include <string>
#include <string_view>
#include <vector>

#include <achan/server.hpp>

namespace google::protobuf {
class DescriptorPool;
}  // namespace google::protobuf

namespace grpc::reflection::v1alpha {
class ServerReflectionRequest;
class ServerReflectionResponse;
}  // namespace grpc::reflection::v1alpha

namespace achan::cli {

/// The reflection service's full name (list it among the services to advertise it).
inline constexpr std::string_view reflection_service_name =
    "grpc.reflection.v1alpha.ServerReflection";

/// Answers one request: the pure core of the service (no I/O), for the handler and tests.
/// `services` is what list_services returns, in that order. Symbols and files are
/// looked up in `pool` whether or not they belong to a listed service (as grpc++ does).
/// Unknown symbol, file or extension: error_response with code 5 (NOT_FOUND) and a
/// message naming it; a request with nothing set: code 12 (UNIMPLEMENTED).
grpc::reflection::v1alpha::ServerReflectionResponse answer_reflection_request(
    const grpc::reflection::v1alpha::ServerReflectionRequest& request,
    const std::vector<std::string>& services, const google::protobuf::DescriptorPool& pool);

/// Registers ServerReflectionInfo on `server` (before listen()). Each stream's requests
/// are answered in order as they arrive, on the connection's I/O thread; the stream ends
/// OK when the client half-closes. A request that does not parse ends the stream with
/// INVALID_ARGUMENT. `pool` (default: the generated pool) must outlive the server.
void add_reflection_service(transport::h2_server& server, std::vector<std::string> services,
                            const google::protobuf::DescriptorPool* pool = nullptr);

}  // namespace achan::cli
