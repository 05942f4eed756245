#include "codegen/names.hpp"

#include <algorithm>
#include <iterator>

namespace achan::codegen {

namespace pb = google::protobuf;

namespace {

// C++20 keywords and alternative tokens (protobuf's generator uses the same list).
constexpr std::string_view keywords[] = {
    "NULL",
    "alignas",
    "alignof",
    "and",
    "and_eq",
    "asm",
    "auto",
    "bitand",
    "bitor",
    "bool",
    "break",
    "case",
    "catch",
    "char",
    "class",
    "compl",
    "const",
    "constexpr",
    "const_cast",
    "continue",
    "decltype",
    "default",
    "delete",
    "do",
    "double",
    "dynamic_cast",
    "else",
    "enum",
    "explicit",
    "export",
    "extern",
    "false",
    "float",
    "for",
    "friend",
    "goto",
    "if",
    "inline",
    "int",
    "long",
    "mutable",
    "namespace",
    "new",
    "noexcept",
    "not",
    "not_eq",
    "nullptr",
    "operator",
    "or",
    "or_eq",
    "private",
    "protected",
    "public",
    "register",
    "reinterpret_cast",
    "return",
    "short",
    "signed",
    "sizeof",
    "static",
    "static_assert",
    "static_cast",
    "struct",
    "switch",
    "template",
    "this",
    "thread_local",
    "throw",
    "true",
    "try",
    "typedef",
    "typeid",
    "typename",
    "union",
    "unsigned",
    "using",
    "virtual",
    "void",
    "volatile",
    "wchar_t",
    "while",
    "xor",
    "xor_eq",
    "char8_t",
    "char16_t",
    "char32_t",
    "concept",
    "consteval",
    "constinit",
    "co_await",
    "co_return",
    "co_yield",
    "requires",
    "atomic_cancel",
    "atomic_commit",
    "atomic_noexcept",
    "reflexpr",
};

// Members of the generated Client and Service classes a method must not be named like.
constexpr std::string_view reserved_members[] = {"Client",  "Service",  "Methods",
                                                 "channel", "channel_", "add_to"};

std::string dots_to_colons(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '.')
      out += "::";
    else
      out += c;
  }
  return out;
}

method_kind kind_of(const pb::MethodDescriptor* m) {
  if (m->client_streaming())
    return m->server_streaming() ? method_kind::bidi_stream : method_kind::client_stream;
  return m->server_streaming() ? method_kind::server_stream : method_kind::unary;
}

// Unqualified class name: containing messages joined with "_" (protobuf's ClassName).
std::string class_name(const pb::Descriptor* d) {
  std::string name = d->name();
  for (auto* p = d->containing_type(); p; p = p->containing_type())
    name = p->name() + "_" + name;
  return is_cpp_keyword(name) ? name + "_" : name;
}

}  // namespace

bool is_cpp_keyword(std::string_view word) {
  return std::find(std::begin(keywords), std::end(keywords), word) != std::end(keywords);
}

std::string package_namespace(const std::string& package) {
  return dots_to_colons(package);
}

std::string qualified_class_name(const pb::Descriptor* message) {
  auto ns = package_namespace(message->file()->package());
  return (ns.empty() ? "::" : "::" + ns + "::") + class_name(message);
}

std::string strip_proto(const std::string& file_name) {
  constexpr std::string_view ext = ".proto";
  if (file_name.size() >= ext.size() &&
      file_name.compare(file_name.size() - ext.size(), ext.size(), ext) == 0)
    return file_name.substr(0, file_name.size() - ext.size());
  return file_name;
}

bool build_model(const pb::FileDescriptor* file, file_model& out, std::string* error) {
  auto stem = strip_proto(file->name());
  out.proto = file->name();
  out.pb_h = stem + ".pb.h";
  out.header = stem + ".achan.pb.h";
  out.source = stem + ".achan.pb.cc";
  auto ns = package_namespace(file->package());
  for (int i = 0; i < file->service_count(); ++i) {
    auto* s = file->service(i);
    if (is_cpp_keyword(s->name())) {
      *error = "protoc-gen-achan: service " + s->full_name() + " is named like a C++ keyword";
      return false;
    }
    service_model sm;
    sm.name = s->name();
    sm.full_name = s->full_name();
    sm.ns = ns.empty() ? s->name() : ns + "::" + s->name();
    sm.qualified = "::" + sm.ns;
    for (int j = 0; j < s->method_count(); ++j) {
      auto* m = s->method(j);
      if (is_cpp_keyword(m->name()) ||
          std::find(std::begin(reserved_members), std::end(reserved_members), m->name()) !=
              std::end(reserved_members)) {
        *error =
            "protoc-gen-achan: method " + m->full_name() + " is named like " +
            (is_cpp_keyword(m->name()) ? "a C++ keyword" : "a member of the generated classes") +
            "; rename it";
        return false;
      }
      method_model mm;
      mm.name = m->name();
      mm.path = "/" + s->full_name() + "/" + m->name();
      mm.request = qualified_class_name(m->input_type());
      mm.response = qualified_class_name(m->output_type());
      mm.request_full = m->input_type()->full_name();
      mm.response_full = m->output_type()->full_name();
      mm.kind = kind_of(m);
      sm.methods.push_back(std::move(mm));
    }
    out.services.push_back(std::move(sm));
  }
  return true;
}

bool service_model::has_unary() const {
  return std::any_of(methods.begin(), methods.end(),
                     [](const method_model& m) { return m.kind == method_kind::unary; });
}

}  // namespace achan::codegen
