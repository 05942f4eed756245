#include "codegen/options.hpp"

#include <set>
#include <utility>
#include <vector>

#include <google/protobuf/compiler/code_generator.h>

namespace achan::codegen {

namespace {

constexpr const char* known = "known parameters: actor=true|false";

bool parse_bool(const std::string& key, const std::string& value, bool& out, std::string* error) {
  if (value == "true" || value == "false") {
    out = value == "true";
    return true;
  }
  *error = "protoc-gen-achan: parameter '" + key + "' needs the value true or false, not '" +
           value + "'";
  return false;
}

}  // namespace

bool parse_options(const std::string& parameter, generator_options& out, std::string* error) {
  std::vector<std::pair<std::string, std::string>> pairs;
  google::protobuf::compiler::ParseGeneratorParameter(parameter, &pairs);
  std::set<std::string> seen;
  for (const auto& [key, value] : pairs) {
    if (!seen.insert(key).second) {
      *error = "protoc-gen-achan: parameter '" + key + "' given twice";
      return false;
    }
    if (key == "actor") {
      if (!parse_bool(key, value, out.actor, error))
        return false;
    } else {
      *error = "protoc-gen-achan: unknown parameter '" + key + "' (" + known + ")";
      return false;
    }
  }
  return true;
}

}  // namespace achan::codegen
