#include "core/etcd/endpoint_value.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

#include <achan/target.hpp>

namespace achan::etcd {
namespace {

std::string quoted(std::string_view key) {
  std::string out = "'";
  for (char c : key.substr(0, 200))
    out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  return out + (key.size() > 200 ? "...'" : "'");
}

malformed bad(std::string_view key, const std::string& why) {
  return malformed{"etcd key " + quoted(key) + " skipped: " + why};
}

/// "host:port" with an explicit port, or a message.
std::optional<std::string> check_address(std::string_view addr) {
  if (addr.empty())
    return "the address is empty";
  auto hp = split_host_port(addr, 0);
  if (!hp)
    return hp.error().message;
  if (hp->port == 0)
    return "address '" + std::string(addr) + "' has no port";
  return std::nullopt;
}

/// Metadata.weight: a positive integer (number or decimal string), else 1 / a message.
std::optional<std::string> read_weight(const nlohmann::json& md, std::uint32_t& weight) {
  if (!md.is_object() || !md.contains("weight"))
    return std::nullopt;
  const auto& w = md["weight"];
  std::uint64_t v = 0;
  if (w.is_number_unsigned()) {
    v = w.get<std::uint64_t>();
  } else if (w.is_string()) {
    auto s = w.get<std::string>();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size())
      return "Metadata.weight '" + s + "' is not a positive integer";
  } else {
    return "Metadata.weight must be a positive integer";
  }
  if (v == 0 || v > UINT32_MAX)
    return "Metadata.weight " + std::to_string(v) + " is out of range 1..4294967295";
  weight = static_cast<std::uint32_t>(v);
  return std::nullopt;
}

endpoint_value parse_json(std::string_view key, std::string_view value) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded())
    return bad(key, "the value is not valid JSON");
  if (!j.is_object())
    return bad(key, "the value is JSON but not an object with \"Addr\"");
  if (j.contains("Op")) {
    const auto& op = j["Op"];
    if (!op.is_number_unsigned() || op.get<std::uint64_t>() > 1)
      return bad(key, "\"Op\" must be 0 (add) or 1 (delete)");
    if (op.get<std::uint64_t>() == 1)
      return withdrawn{};
  }
  if (!j.contains("Addr") || !j["Addr"].is_string())
    return bad(key, "the value has no string \"Addr\"");
  endpoint e;
  e.address = j["Addr"].get<std::string>();
  if (auto why = check_address(e.address))
    return bad(key, *why);
  if (j.contains("Metadata"))
    if (auto why = read_weight(j["Metadata"], e.weight))
      return bad(key, *why);
  return e;
}

}  // namespace

endpoint_value parse_endpoint_value(std::string_view name, std::string_view key,
                                    std::string_view value) {
  if (value.size() > max_value_bytes)
    return bad(key, "the value is larger than 64 KiB");
  if (name == service_config_key)
    return service_config_text{std::string(value)};
  auto first = value.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos)
    return bad(key, "the value is empty");
  if (value[first] == '{' || value[first] == '"')  // '[' starts "[v6]:port"
    return parse_json(key, value);
  auto last = value.find_last_not_of(" \t\r\n");
  auto addr = value.substr(first, last - first + 1);
  if (auto why = check_address(addr))
    return bad(key, *why);
  return endpoint{std::string(addr), 1};
}

}  // namespace achan::etcd
