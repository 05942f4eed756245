#pragma once
/// The text of the generated files, from a file_model (docs/codegen.md shows the result).
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "codegen/model.hpp"

namespace achan::codegen {

/// `$key$` → value substitutions for fill().
using substitutions = std::initializer_list<std::pair<std::string_view, std::string_view>>;

/// `tmpl` with every `$key$` replaced by its value. A `$` not starting a known key is
/// kept as is (generated C++ never contains one).
std::string fill(std::string_view tmpl, substitutions vars);

/// The whole `<name>.achan.pb.h`: includes, and per service its namespace with Methods,
/// Client, Service and (with options.actor and a unary method) the stub actor.
std::string header_text(const file_model& file, const generator_options& options);

/// The whole `<name>.achan.pb.cc`: the out-of-line members declared by header_text.
std::string source_text(const file_model& file, const generator_options& options);

}  // namespace achan::codegen
