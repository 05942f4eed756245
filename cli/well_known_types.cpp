#include "cli/well_known_types.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

namespace achan::cli {

bool is_well_known_file(std::string_view filename) noexcept {
  return filename.starts_with("google/protobuf/");
}

bool well_known_database::FindFileByName(const std::string& filename,
                                         google::protobuf::FileDescriptorProto* output) {
  if (!is_well_known_file(filename))
    return false;
  const auto* file = google::protobuf::DescriptorPool::generated_pool()->FindFileByName(filename);
  if (file == nullptr)
    return false;
  output->Clear();
  file->CopyTo(output);
  return true;
}

bool well_known_database::FindFileContainingSymbol(const std::string&,
                                                   google::protobuf::FileDescriptorProto*) {
  return false;
}

bool well_known_database::FindFileContainingExtension(const std::string&, int,
                                                      google::protobuf::FileDescriptorProto*) {
  return false;
}

}  // namespace achan::cli
