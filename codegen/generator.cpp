#include "codegen/generator.hpp"

#include <memory>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/io/printer.h>
#include <google/protobuf/io/zero_copy_stream.h>

#include "codegen/emit.hpp"
#include "codegen/names.hpp"
#include "codegen/options.hpp"

namespace achan::codegen {

namespace pb = google::protobuf;

namespace {

void write_file(pb::compiler::GeneratorContext* context, const std::string& name,
                const std::string& text) {
  std::unique_ptr<pb::io::ZeroCopyOutputStream> out{context->Open(name)};
  pb::io::Printer printer{out.get(), '$'};
  printer.PrintRaw(text);
}

}  // namespace

bool achan_generator::Generate(const pb::FileDescriptor* file, const std::string& parameter,
                               pb::compiler::GeneratorContext* context, std::string* error) const {
  generator_options options;
  if (!parse_options(parameter, options, error))
    return false;
  file_model model;
  if (!build_model(file, model, error))
    return false;
  write_file(context, model.header, header_text(model, options));
  write_file(context, model.source, source_text(model, options));
  return true;
}

uint64_t achan_generator::GetSupportedFeatures() const {
  return FEATURE_PROTO3_OPTIONAL;
}

}  // namespace achan::codegen
