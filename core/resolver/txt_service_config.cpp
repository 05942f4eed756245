#include "core/resolver/txt_service_config.hpp"

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace achan {

namespace {

// ordered_json keeps the record's key order in the text handed on.
using json = nlohmann::ordered_json;

struct too_deep {};

status invalid(std::string m) {
  return {status_code::invalid_argument, "grpc_config: " + std::move(m)};
}

/// Record text quoted in messages is cut at about `n` bytes (on a UTF-8 boundary): a
/// hostile record must not make a 64 KiB error message.
std::string clip(std::string s, std::size_t n = 64) {
  if (s.size() > n) {
    while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
      --n;
    s.resize(n);
    s += "...";
  }
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

/// "an array", "a string", ... for messages.
std::string kind(const json& j) {
  switch (j.type()) {
    case json::value_t::object:
      return "an object";
    case json::value_t::array:
      return "an array";
    case json::value_t::string:
      return "a string";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

/// Null status if `j[field]` is absent or an array of strings.
std::optional<status> check_string_list(const json& choice, const std::string& where,
                                        const char* field) {
  auto it = choice.find(field);
  if (it == choice.end())
    return std::nullopt;
  if (!it->is_array())
    return invalid(where + "." + field + " must be an array of strings, got " + kind(*it));
  for (std::size_t i = 0; i < it->size(); ++i)
    if (!(*it)[i].is_string())
      return invalid(where + "." + field + "[" + std::to_string(i) + "] must be a string, got " +
                     kind((*it)[i]));
  return std::nullopt;
}

/// Null status if `choice` is a valid A2 choice.
std::optional<status> check_choice(const json& choice, const std::string& where) {
  if (!choice.is_object())
    return invalid(where + " must be an object, got " + kind(choice));
  for (auto& [key, value] : choice.items()) {
    if (key != "clientLanguage" && key != "percentage" && key != "clientHostname" &&
        key != "serviceConfig")
      return invalid(where + ": unknown field '" + clip(key) +
                     "' (a choice has only clientLanguage, percentage, clientHostname and "
                     "serviceConfig)");
  }
  if (auto bad = check_string_list(choice, where, "clientLanguage"))
    return bad;
  if (auto bad = check_string_list(choice, where, "clientHostname"))
    return bad;
  if (auto it = choice.find("percentage"); it != choice.end()) {
    // Integers parse as unsigned unless negative; 50.0 and 5e1 are floats.
    if (!it->is_number_unsigned() || it->get<std::uint64_t>() > 100)
      return invalid(where + ".percentage must be an integer from 0 to 100, got " +
                     clip(it->dump()));
  }
  auto sc = choice.find("serviceConfig");
  if (sc == choice.end())
    return invalid(where + ".serviceConfig is missing");
  if (!sc->is_object())
    return invalid(where + ".serviceConfig must be an object, got " + kind(*sc));
  return std::nullopt;
}

bool list_matches(const json& choice, const char* field, auto&& match) {
  auto it = choice.find(field);
  if (it == choice.end() || it->empty())
    return true;  // absent or empty: every client (A2)
  return std::any_of(it->begin(), it->end(),
                     [&](const json& s) { return match(s.get_ref<const std::string&>()); });
}

}  // namespace

txt_config choose_txt_service_config(const std::vector<std::string>& records,
                                     std::string_view client_hostname, unsigned roll) {
  auto record = std::find_if(records.begin(), records.end(), [](const std::string& r) {
    return r.compare(0, grpc_config_attribute.size(), grpc_config_attribute) == 0;
  });
  if (record == records.end())
    return std::optional<std::string>{};
  std::string_view text{*record};
  text.remove_prefix(grpc_config_attribute.size());

  json choices;
  try {
    auto limit_depth = [](int depth, json::parse_event_t event, json&) {
      // `depth` counts the containers around this one: the top level is 0.
      if ((event == json::parse_event_t::object_start ||
           event == json::parse_event_t::array_start) &&
          depth >= max_grpc_config_depth)
        throw too_deep{};
      return true;
    };
    choices = json::parse(text.begin(), text.end(), limit_depth);
  } catch (const too_deep&) {
    return invalid("JSON nested deeper than " + std::to_string(max_grpc_config_depth) + " levels");
  } catch (const json::exception& e) {
    std::string what = e.what();  // "[json.exception.parse_error.101] parse error at ..."
    if (auto close = what.find("] "); what.front() == '[' && close != std::string::npos)
      what.erase(0, close + 2);
    return invalid("invalid JSON: " + clip(std::move(what), 200));
  }
  if (!choices.is_array())
    return invalid("the value must be a JSON array of service config choices, got " +
                   kind(choices));
  for (std::size_t i = 0; i < choices.size(); ++i)
    if (auto bad = check_choice(choices[i], "choices[" + std::to_string(i) + "]"))
      return *bad;

  for (const auto& choice : choices) {
    if (!list_matches(choice, "clientLanguage",
                      [](const std::string& lang) { return iequals(lang, "c++"); }))
      continue;
    if (!list_matches(choice, "clientHostname",
                      [&](const std::string& h) { return !h.empty() && h == client_hostname; }))
      continue;
    if (auto p = choice.find("percentage"); p != choice.end() && roll >= p->get<std::uint64_t>())
      continue;
    return std::optional<std::string>{choice.at("serviceConfig").dump()};
  }
  return std::optional<std::string>{};  // no choice for this client
}

}  // namespace achan
