#include "cli/reflection_service.hpp"

#include <memory>
#include <set>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include <achan/status.hpp>
#include "proto/reflection.achan.pb.h"

namespace achan::cli {
namespace {

namespace pb = google::protobuf;
namespace rpb = grpc::reflection::v1alpha;

void set_error(rpb::ServerReflectionResponse& out, status_code code, std::string message) {
  auto* e = out.mutable_error_response();
  e->set_error_code(static_cast<int>(code));
  e->set_error_message(std::move(message));
}

/// Appends `file` and then its dependencies (depth first), each once.
void add_with_dependencies(const pb::FileDescriptor* file, std::set<std::string>& seen,
                           rpb::FileDescriptorResponse& out) {
  if (!seen.insert(file->name()).second)
    return;
  pb::FileDescriptorProto proto;
  file->CopyTo(&proto);
  out.add_file_descriptor_proto(proto.SerializeAsString());
  for (int i = 0; i < file->dependency_count(); ++i)
    add_with_dependencies(file->dependency(i), seen, out);
}

void set_files(rpb::ServerReflectionResponse& out, const pb::FileDescriptor* file) {
  std::set<std::string> seen;
  add_with_dependencies(file, seen, *out.mutable_file_descriptor_response());
}

}  // namespace

rpb::ServerReflectionResponse answer_reflection_request(const rpb::ServerReflectionRequest& request,
                                                        const std::vector<std::string>& services,
                                                        const pb::DescriptorPool& pool) {
  rpb::ServerReflectionResponse out;
  out.set_valid_host(request.host());
  *out.mutable_original_request() = request;
  using R = rpb::ServerReflectionRequest;
  switch (request.message_request_case()) {
    case R::kFileByFilename:
      if (const auto* f = pool.FindFileByName(request.file_by_filename()))
        set_files(out, f);
      else
        set_error(out, status_code::not_found,
                  "file '" + request.file_by_filename() + "' not found");
      break;
    case R::kFileContainingSymbol:
      if (const auto* f = pool.FindFileContainingSymbol(request.file_containing_symbol()))
        set_files(out, f);
      else
        set_error(out, status_code::not_found,
                  "symbol '" + request.file_containing_symbol() + "' not found");
      break;
    case R::kFileContainingExtension: {
      const auto& ext = request.file_containing_extension();
      const auto* type = pool.FindMessageTypeByName(ext.containing_type());
      const auto* field = type ? pool.FindExtensionByNumber(type, ext.extension_number()) : nullptr;
      if (field != nullptr)
        set_files(out, field->file());
      else
        set_error(out, status_code::not_found,
                  "extension " + std::to_string(ext.extension_number()) + " of '" +
                      ext.containing_type() + "' not found");
      break;
    }
    case R::kAllExtensionNumbersOfType: {
      const auto* type = pool.FindMessageTypeByName(request.all_extension_numbers_of_type());
      if (type == nullptr) {
        set_error(out, status_code::not_found,
                  "type '" + request.all_extension_numbers_of_type() + "' not found");
        break;
      }
      std::vector<const pb::FieldDescriptor*> extensions;
      pool.FindAllExtensions(type, &extensions);
      auto* numbers = out.mutable_all_extension_numbers_response();
      numbers->set_base_type_name(type->full_name());
      for (const auto* e : extensions)
        numbers->add_extension_number(e->number());
      break;
    }
    case R::kListServices: {
      auto* list = out.mutable_list_services_response();
      for (const auto& name : services)
        list->add_service()->set_name(name);
      break;
    }
    case R::MESSAGE_REQUEST_NOT_SET:
      set_error(out, status_code::unimplemented, "the request asks for nothing");
      break;
  }
  return out;
}

namespace {

/// ServerReflectionInfo: one answer per request, in order; OK after the half-close.
class reflection_impl final : public rpb::ServerReflection::Service {
 public:
  reflection_impl(std::vector<std::string> services, const pb::DescriptorPool* pool)
      : services_(std::move(services)), pool_(pool) {}

  request_reader<rpb::ServerReflectionRequest> ServerReflectionInfo(
      transport::server_call_info, response_writer<rpb::ServerReflectionResponse> out) override {
    return {[this, out](rpb::ServerReflectionRequest&& request) {
              out.write(answer_reflection_request(request, services_, *pool_));
            },
            [out] { out.finish(); }};
  }

 private:
  const std::vector<std::string> services_;
  const pb::DescriptorPool* const pool_;
};

}  // namespace

void add_reflection_service(transport::h2_server& server, std::vector<std::string> services,
                            const pb::DescriptorPool* pool) {
  if (pool == nullptr)
    pool = pb::DescriptorPool::generated_pool();
  rpb::ServerReflection::Service::add_to(
      server, std::make_shared<reflection_impl>(std::move(services), pool));
}

}  // namespace achan::cli
