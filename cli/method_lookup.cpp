#include "cli/method_lookup.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

namespace achan::cli {
namespace {

std::string read_source(const std::string& data) {
  if (data.empty() || data[0] != '@')
    return data;
  auto path = data.substr(1);
  if (path == "-")
    return {std::istreambuf_iterator<char>{std::cin}, std::istreambuf_iterator<char>{}};
  std::ifstream in{path, std::ios::binary};
  if (!in)
    throw usage_error("--data: cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

// Defined in reflection_lookup.cpp.
result<resolved_method> resolve_by_reflection(channel& ch, const std::string& method,
                                              clock_duration timeout, const metadata& md);

void add_method_flags(std::vector<flag_spec>& flags) {
  flags.push_back({"--proto", "", "FILE",
                   ".proto file declaring the method (default: ask the server's reflection)",
                   true});
  flags.push_back(
      {"--import-path", "-I", "DIR", "where --proto files and their imports are", true});
  flags.push_back({"--data", "-d", "JSON",
                   "request message(s) as JSON; @FILE reads a file, @- stdin; one object per "
                   "message"});
}

result<resolved_method> find_method(const parsed_args& args, channel& ch, const std::string& method,
                                    clock_duration timeout, const metadata& md) {
  if (args.has("--proto")) {
    auto cat = proto_catalog::from_files(args.all("--proto"), args.all("--import-path"));
    if (!cat)
      throw usage_error(cat.error().message);
    auto m = cat->find_method(method);
    if (!m)
      throw usage_error(m.error().message);
    auto info = *m;
    return resolved_method{std::move(*cat), info};
  }
  return resolve_by_reflection(ch, method, timeout, md);
}

std::vector<std::string> read_requests(const parsed_args& args, const resolved_method& m) {
  bool one = !m.info.client_streaming;
  if (!args.has("--data"))
    return one ? std::vector<std::string>{json_codec{*m.info.input}.to_binary("{}").operator*()}
               : std::vector<std::string>{};
  auto texts = split_json_objects(read_source(args.get("--data")));
  if (!texts)
    throw usage_error("--data: " + texts.error().message);
  if (one && texts->size() != 1)
    throw usage_error("--data: " + m.info.path + " takes one request message, got " +
                      std::to_string(texts->size()));
  json_codec codec{*m.info.input};
  std::vector<std::string> out;
  for (auto& t : *texts) {
    auto bytes = codec.to_binary(t);
    if (!bytes)
      throw usage_error("--data: " + bytes.error().message);
    out.push_back(std::move(*bytes));
  }
  return out;
}

}  // namespace achan::cli
