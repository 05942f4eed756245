#pragma once
// "host:port" handling for the fault proxy: listen and upstream addresses as toxiproxy
// writes them ("localhost:6379", "127.0.0.1:0", "[::1]:8080", ":8080" for all addresses).
#include <asio/ip/tcp.hpp>

#include <optional>
#include <string>

namespace achan::fault::detail {

struct host_port {
  std::string host;  ///< without brackets; empty for ":port"
  std::string port;  ///< digits, 0..65535
};

/// Splits "host:port" / "[v6]:port"; nullopt when there is no port or it is not a number
/// in 0..65535.
std::optional<host_port> split_host_port(const std::string& address);

/// "127.0.0.1:40123" / "[::1]:40123".
std::string format_endpoint(const asio::ip::tcp::endpoint& ep);

}  // namespace achan::fault::detail
