#pragma once
/// The plugin's parameters: `--achan_opt=actor=false` (or `--achan_out=actor=false:DIR`).
#include <string>

#include "codegen/model.hpp"

namespace achan::codegen {

/// Parses protoc's parameter string ("key=value,key=value"; empty means defaults) into
/// `out`. An unknown key, a missing or bad value, or a repeated key is an error: returns
/// false with `*error` saying which and what is accepted (protoc reports it and fails).
bool parse_options(const std::string& parameter, generator_options& out, std::string* error);

}  // namespace achan::codegen
