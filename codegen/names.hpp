#pragma once
/// C++ names of protobuf entities, as protobuf's own C++ generator spells them, and the
/// checks that keep the generated names from colliding.
#include <string>
#include <string_view>

#include <google/protobuf/descriptor.h>

#include "codegen/model.hpp"

namespace achan::codegen {

/// True if `word` is a C++20 keyword or alternative token (protobuf appends "_" to such
/// message names; a service or method so named is refused, see build_model).
bool is_cpp_keyword(std::string_view word);

/// The C++ namespace of a protobuf package: "a.b" gives "a::b", "" gives "".
std::string package_namespace(const std::string& package);

/// The fully qualified C++ class of a message, as protobuf's generator names it:
/// "::a::b::Outer_Inner" for a.b.Outer.Inner (keywords get a trailing "_").
std::string qualified_class_name(const google::protobuf::Descriptor* message);

/// "dir/name.proto" without its ".proto" (protobuf's StripProto).
std::string strip_proto(const std::string& file_name);

/// Builds the model of `file`: file names and every service. Returns false with
/// `*error` set when a name would not make valid or unambiguous C++: a service or method
/// named like a C++ keyword, or a method named like a member the generated classes
/// already have (Client, Service, Methods, channel, channel_, add_to).
bool build_model(const google::protobuf::FileDescriptor* file, file_model& out, std::string* error);

}  // namespace achan::codegen
