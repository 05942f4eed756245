#pragma once
/// protobuf's well-known types (google/protobuf/*.proto: Timestamp, Duration, Any,
/// Struct, wrappers, ...) taken from the descriptors compiled into libprotobuf, so that
/// .proto files importing them load without a protobuf include directory on disk, and
/// reflection clients need not fetch them from a server.
#include <string>
#include <string_view>

#include <google/protobuf/descriptor_database.h>

namespace achan::cli {

/// True for names under "google/protobuf/" (the well-known types' files).
bool is_well_known_file(std::string_view filename) noexcept;

/// A DescriptorDatabase serving ONLY the well-known types' files, from protobuf's
/// generated pool (never achan's own echo.proto or health.proto, which a user's files
/// of the same name must not be mixed with). Stateless and thread-safe; symbol and
/// extension lookups always miss.
class well_known_database : public google::protobuf::DescriptorDatabase {
 public:
  /// Fills `output` and returns true if `filename` is a well-known file libprotobuf has.
  bool FindFileByName(const std::string& filename,
                      google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingSymbol(const std::string& symbol_name,
                                google::protobuf::FileDescriptorProto* output) override;
  bool FindFileContainingExtension(const std::string& containing_type, int field_number,
                                   google::protobuf::FileDescriptorProto* output) override;
};

}  // namespace achan::cli
