#include <achan/target.hpp>

#include <arpa/inet.h>

#include <algorithm>

namespace achan {

namespace {

bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

// RFC 3986: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). Returns it lower-cased, or
// nothing if `s` is not a scheme.
std::optional<std::string> lower_scheme(std::string_view s) {
  if (s.empty() || !is_alpha(s.front()))
    return std::nullopt;
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (!is_alpha(c) && !is_digit(c) && c != '+' && c != '-' && c != '.')
      return std::nullopt;
    out.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
  }
  return out;
}

std::string quoted(std::string_view s) {
  return "'" + std::string(s) + "'";
}

// Decimal 1..65535, digits only (no sign, no spaces).
std::optional<std::uint16_t> parse_port(std::string_view s) {
  if (s.empty() || s.size() > 5)
    return std::nullopt;
  unsigned value = 0;
  for (char c : s) {
    if (!is_digit(c))
      return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value < 1 || value > 65535)
    return std::nullopt;
  return static_cast<std::uint16_t>(value);
}

status invalid(std::string message) {
  return {status_code::invalid_argument, std::move(message)};
}
status fail(std::string message) {
  return invalid(std::move(message));
}

}  // namespace

target_result parse_target(std::string_view text,
                           const std::function<bool(std::string_view)>& is_registered,
                           std::string_view default_scheme) {
  if (text.empty())
    return invalid("empty target");
  auto fallback = [&] {
    return target_result{
        target{std::string(default_scheme), "", std::string(text), std::string(text)}};
  };
  auto colon = text.find(':');
  if (colon == std::string_view::npos)
    return fallback();
  auto scheme = lower_scheme(text.substr(0, colon));
  if (!scheme || !is_registered || !is_registered(*scheme))
    return fallback();
  target t{*scheme, "", "", std::string(text)};
  auto rest = text.substr(colon + 1);
  if (rest.starts_with("//")) {
    rest.remove_prefix(2);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos) {
      // unix: leave the verdict to parse_unix, which knows the unix rules.
      if (t.scheme != "unix" && t.scheme != "unix-abstract")
        return invalid("target " + quoted(text) + " has no endpoint: expected '/' after " +
                       "authority " + quoted(rest));
      t.authority = std::string(rest);
      return t;
    }
    t.authority = std::string(rest.substr(0, slash));
    t.endpoint = std::string(rest.substr(slash + 1));
  } else {
    t.endpoint = std::string(rest);
  }
  return t;
}

host_port_result split_host_port(std::string_view text, std::uint16_t default_port) {
  if (text.empty())
    return fail("empty address");
  std::string_view host;
  std::optional<std::string_view> port;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos)
      return fail("unterminated '[' in " + quoted(text));
    host = text.substr(1, close - 1);
    auto after = text.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return fail("unexpected " + quoted(after) + " after ']' in " + quoted(text));
      port = after.substr(1);
    }
  } else {
    auto first = text.find(':');
    if (first != std::string_view::npos && text.find(':', first + 1) == std::string_view::npos) {
      host = text.substr(0, first);
      port = text.substr(first + 1);
    } else {
      // No colon: a host name; two or more: a bare IPv6 literal. Either way, no port.
      host = text;
    }
  }
  if (host.empty())
    return fail("empty host in " + quoted(text));
  if (!port)
    return host_port{std::string(host), default_port};
  auto value = parse_port(*port);
  if (!value)
    return fail("invalid port " + quoted(*port) + " in " + quoted(text));
  return host_port{std::string(host), *value};
}

std::string join_host_port(std::string_view host, std::uint16_t port) {
  std::string out;
  if (host.find(':') != std::string_view::npos)
    out.append("[").append(host).append("]");
  else
    out.append(host);
  return out.append(":").append(std::to_string(port));
}

address_list_result parse_ip_list(std::string_view endpoint, bool v6) {
  const char* family = v6 ? "ipv6" : "ipv4";
  if (endpoint.empty())
    return invalid(std::string("empty ") + family + " address list");
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (true) {
    auto comma = endpoint.find(',', begin);
    auto element = endpoint.substr(
        begin, comma == std::string_view::npos ? endpoint.size() - begin : comma - begin);
    if (element.empty())
      return invalid(std::string("empty element in ") + family + " address list " +
                     quoted(endpoint));
    auto hp = split_host_port(element, 443);
    if (!hp)
      return hp.error();
    unsigned char buf[16];
    char text[INET6_ADDRSTRLEN];
    int af = v6 ? AF_INET6 : AF_INET;
    if (inet_pton(af, hp->host.c_str(), buf) != 1 ||
        inet_ntop(af, buf, text, sizeof text) == nullptr)
      return invalid(std::string("invalid ") + family + " address " + quoted(hp->host) + " in " +
                     quoted(element));
    out.push_back(join_host_port(text, hp->port));
    if (comma == std::string_view::npos)
      break;
    begin = comma + 1;
  }
  return out;
}

address_list_result parse_unix(const target& t) {
  if (t.scheme != "unix" && t.scheme != "unix-abstract")
    return invalid("not a unix target: scheme " + quoted(t.scheme));
  if (!t.authority.empty())
    return invalid("invalid (non-empty) authority " + quoted(t.authority) + " in unix target " +
                   quoted(t.original));
  if (t.endpoint.empty())
    return invalid("empty path in unix target " + quoted(t.original));
  // "unix:///abs" lost its leading '/' to the authority syntax; "unix:/abs" and "unix:rel" did not.
  std::string_view after_scheme = t.original;
  after_scheme.remove_prefix(std::min(after_scheme.size(), t.scheme.size() + 1));
  bool had_authority = after_scheme.starts_with("//");
  return std::vector<std::string>{t.scheme + ":" + (had_authority ? "/" : "") + t.endpoint};
}

}  // namespace achan
