#include "cli/flags.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

namespace achan::cli {
namespace {

const flag_spec* find_flag(const command_spec& spec, std::string_view word) {
  for (auto& f : spec.flags)
    if (word == f.name || (!f.alias.empty() && word == f.alias))
      return &f;
  return nullptr;
}

std::string quote(std::string_view s) {
  return "'" + std::string{s} + "'";
}

}  // namespace

bool parsed_args::has(std::string_view name) const {
  return values.find(name) != values.end();
}

std::string parsed_args::get(std::string_view name, std::string fallback) const {
  auto i = values.find(name);
  return i == values.end() || i->second.empty() ? fallback : i->second.back();
}

std::vector<std::string> parsed_args::all(std::string_view name) const {
  auto i = values.find(name);
  return i == values.end() ? std::vector<std::string>{} : i->second;
}

std::optional<std::chrono::nanoseconds> parsed_args::duration(std::string_view name) const {
  if (!has(name))
    return std::nullopt;
  return parse_duration(get(name), name);
}

std::int64_t parsed_args::integer(std::string_view name, std::int64_t fallback, std::int64_t lo,
                                  std::int64_t hi) const {
  if (!has(name))
    return fallback;
  auto text = get(name);
  std::int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size())
    throw usage_error(std::string{name} + ": " + quote(text) + " is not an integer");
  if (v < lo || v > hi)
    throw usage_error(std::string{name} + ": " + text + " is out of range " + std::to_string(lo) +
                      ".." + std::to_string(hi));
  return v;
}

double parsed_args::number(std::string_view name, double fallback) const {
  if (!has(name))
    return fallback;
  auto text = get(name);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v <= 0)
    throw usage_error(std::string{name} + ": " + quote(text) + " is not a positive number");
  return v;
}

double parsed_args::number_in(std::string_view name, double fallback, double lo, double hi) const {
  if (!has(name))
    return fallback;
  auto text = get(name);
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || !(v >= lo && v <= hi)) {
    auto bound = [](double b) {
      auto s = std::to_string(b);  // "1.000000" -> "1"
      s.erase(s.find_last_not_of('0') + 1);
      if (s.back() == '.')
        s.pop_back();
      return s;
    };
    throw usage_error(std::string{name} + ": " + quote(text) + " is not a number in [" + bound(lo) +
                      ", " + bound(hi) + "]");
  }
  return v;
}

parsed_args parse(const command_spec& spec, const std::vector<std::string>& args) {
  parsed_args out;
  bool only_positionals = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto& word = args[i];
    if (only_positionals || word == "-" || word.empty() || word[0] != '-') {
      out.positionals.push_back(word);
      continue;
    }
    if (word == "--") {
      only_positionals = true;
      continue;
    }
    if (word == "--help" || word == "-h") {
      out.help = true;
      return out;
    }
    std::string_view key = word;
    std::optional<std::string> inline_value;
    if (auto eq = word.find('='); word.starts_with("--") && eq != std::string::npos) {
      key = std::string_view{word}.substr(0, eq);
      inline_value = word.substr(eq + 1);
    }
    const flag_spec* f = find_flag(spec, key);
    if (!f)
      throw usage_error("unknown flag " + quote(key) + " (see achan " + spec.name + " --help)");
    auto& slot = out.values[f->name];
    if (!slot.empty() && !f->repeatable)
      throw usage_error(f->name + " given twice");
    if (f->value_name.empty()) {
      if (inline_value)
        throw usage_error(f->name + " takes no value");
      slot.emplace_back();
      continue;
    }
    if (inline_value) {
      slot.push_back(*inline_value);
    } else if (i + 1 < args.size()) {
      slot.push_back(args[++i]);
    } else {
      throw usage_error(f->name + " needs a value (" + f->value_name + ")");
    }
  }
  if (out.positionals.size() != spec.positionals.size()) {
    std::string want;
    for (auto& p : spec.positionals)
      want += (want.empty() ? "" : " ") + p;
    if (out.positionals.size() < spec.positionals.size())
      throw usage_error("missing " + spec.positionals[out.positionals.size()] +
                        " (usage: " + spec.usage + ")");
    throw usage_error("unexpected argument " + quote(out.positionals[spec.positionals.size()]) +
                      " (usage: " + spec.usage + ")");
  }
  return out;
}

std::string help_text(const command_spec& spec) {
  std::string out = "usage: " + spec.usage + "\n\n" + spec.summary + "\n";
  if (spec.flags.empty())
    return out;
  out += "\nflags:\n";
  std::vector<std::string> left;
  std::size_t width = 0;
  for (auto& f : spec.flags) {
    std::string l = "  " + (f.alias.empty() ? std::string{"    "} : f.alias + ", ") + f.name;
    if (!f.value_name.empty())
      l += " " + f.value_name;
    width = std::max(width, l.size());
    left.push_back(std::move(l));
  }
  for (std::size_t i = 0; i < left.size(); ++i) {
    auto& f = spec.flags[i];
    out += left[i] + std::string(width - left[i].size() + 2, ' ') + f.help +
           (f.repeatable ? " (repeatable)" : "") + "\n";
  }
  out += "  -h, --help" + std::string(width > 12 ? width - 12 + 2 : 2, ' ') + "show this help\n";
  return out;
}

std::chrono::nanoseconds parse_duration(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) {
    return usage_error(std::string{what} + ": invalid duration " + quote(text) + " (" +
                       std::string{why} + "; write e.g. 500ms, 10s, 2m)");
  };
  if (text == "0")
    return std::chrono::nanoseconds{0};
  std::size_t n = 0;
  while (n < text.size() && (std::isdigit(static_cast<unsigned char>(text[n])) || text[n] == '.'))
    ++n;
  if (n == 0)
    throw bad("no number");
  auto unit = text.substr(n);
  double scale = 0;
  if (unit == "ns")
    scale = 1;
  else if (unit == "us" || unit == "µs")
    scale = 1e3;
  else if (unit == "ms")
    scale = 1e6;
  else if (unit == "s")
    scale = 1e9;
  else if (unit == "m")
    scale = 60e9;
  else if (unit == "h")
    scale = 3600e9;
  else
    throw bad(unit.empty() ? "missing unit" : "unknown unit '" + std::string{unit} + "'");
  std::string number{text.substr(0, n)};
  char* end = nullptr;
  double v = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size())
    throw bad("malformed number");
  double ns = v * scale;
  if (!std::isfinite(ns) || ns > 1e18)
    throw bad("too long");
  return std::chrono::nanoseconds{static_cast<std::int64_t>(std::llround(ns))};
}

std::pair<std::string, std::uint16_t> parse_host_port(std::string_view flag, const std::string& v) {
  auto colon = v.rfind(':');
  auto port = colon == std::string::npos ? std::string{} : v.substr(colon + 1);
  if (colon == std::string::npos || colon == 0 || port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos || std::stol(port) > 65535)
    throw usage_error(std::string{flag} + ": '" + v + "' is not HOST:PORT");
  auto host = v.substr(0, colon);
  if (host.size() > 2 && host.front() == '[')
    host = host.substr(1, host.size() - 2);
  return {host, static_cast<std::uint16_t>(std::stol(port))};
}

}  // namespace achan::cli
