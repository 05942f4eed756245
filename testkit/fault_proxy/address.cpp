#include "testkit/fault_proxy/address.hpp"

#include <cctype>

namespace achan::fault::detail {

std::optional<host_port> split_host_port(const std::string& address) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos)
    return std::nullopt;
  host_port hp{address.substr(0, colon), address.substr(colon + 1)};
  if (hp.port.empty() || hp.port.size() > 5)
    return std::nullopt;
  for (char c : hp.port)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return std::nullopt;
  if (std::stoul(hp.port) > 65535)
    return std::nullopt;
  if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']')
    hp.host = hp.host.substr(1, hp.host.size() - 2);
  else if (hp.host.find(':') != std::string::npos)
    return std::nullopt;  // an IPv6 address needs brackets
  return hp;
}

std::string format_endpoint(const asio::ip::tcp::endpoint& ep) {
  auto a = ep.address();
  auto host = a.is_v6() ? "[" + a.to_string() + "]" : a.to_string();
  return host + ":" + std::to_string(ep.port());
}

}  // namespace achan::fault::detail
