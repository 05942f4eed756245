#include "transport/dns/lookup.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace achan::dns {

namespace {

std::optional<std::string> normalized_literal(const std::string& host, int family) {
  unsigned char buf[sizeof(in6_addr)];
  char text[INET6_ADDRSTRLEN];
  if (inet_pton(family, host.c_str(), buf) != 1 ||
      inet_ntop(family, buf, text, sizeof text) == nullptr)
    return std::nullopt;
  return std::string(text);
}

bool is_localhost(const std::string& host) {
  static const std::string name = "localhost";
  return std::equal(host.begin(), host.end(), name.begin(), name.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == b;
  });
}

}  // namespace

std::string format_address(const std::string& host, std::uint16_t port) {
  std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return out + ":" + std::to_string(port);
}

std::optional<lookup_result> answer_locally(const std::string& host, std::uint16_t port) {
  lookup_result r;
  if (auto v4 = normalized_literal(host, AF_INET)) {
    r.addresses.push_back(format_address(*v4, port));
  } else if (auto v6 = normalized_literal(host, AF_INET6)) {
    r.addresses.push_back(format_address(*v6, port));
  } else if (is_localhost(host)) {
    r.addresses.push_back(format_address("127.0.0.1", port));
    r.addresses.push_back(format_address("::1", port));
  } else {
    return std::nullopt;
  }
  return r;
}

}  // namespace achan::dns
