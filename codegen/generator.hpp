#pragma once
/// protoc-gen-achan's CodeGenerator: for every .proto file protoc hands it, writes
/// `<name>.achan.pb.h` and `<name>.achan.pb.cc` (always both, also for files without
/// services, so build rules can name their outputs in advance).
#include <string>

#include <google/protobuf/compiler/code_generator.h>

namespace achan::codegen {

/// Called by protoc (through PluginMain) once per file to generate, on protoc's thread.
class achan_generator final : public google::protobuf::compiler::CodeGenerator {
 public:
  /// Generates the two files for `file`. Returns false with `*error` set (protoc prints
  /// it and fails) for a bad parameter or a name that cannot become valid C++.
  bool Generate(const google::protobuf::FileDescriptor* file, const std::string& parameter,
                google::protobuf::compiler::GeneratorContext* context,
                std::string* error) const override;
  /// Proto3 `optional` fields do not concern services: declared supported.
  uint64_t GetSupportedFeatures() const override;
};

}  // namespace achan::codegen
