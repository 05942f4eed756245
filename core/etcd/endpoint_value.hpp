#pragma once
/// What the value of one key under an etcd resolver's prefix means. Accepted forms:
///   {"Op":0,"Addr":"10.0.0.1:50051","Metadata":{"weight":3}}  etcd's gRPC naming format
///                                                             (Go services; Op 1 = delete)
///   {"Addr":"10.0.0.1:50051"}                                 endpoints.Endpoint (etcd 3.5)
///   10.0.0.1:50051                                            a bare host:port
/// and, under the key `<prefix>_grpc_config`, a service config in gRPC's JSON schema.
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace achan::etcd {

/// The key (after the prefix) whose value is the service config for the prefix's
/// channel, as DNS's `_grpc_config.` TXT record is.
inline constexpr std::string_view service_config_key = "_grpc_config";

/// One endpoint: its address ("host:port", "[v6]:port") and static weight (1 unless the
/// metadata says otherwise; 1..2^32-1).
struct endpoint {
  std::string address;
  std::uint32_t weight = 1;
};
/// The value withdraws the key's endpoint (naming format Op 1).
struct withdrawn {};
/// The value is the prefix's service config (JSON text, validated by the channel).
struct service_config_text {
  std::string json;
};
/// The value cannot be used; `message` says why (for the channel's observer).
struct malformed {
  std::string message;
};

using endpoint_value = std::variant<endpoint, withdrawn, service_config_text, malformed>;

/// Largest value parsed (64 KiB): a longer one is malformed.
inline constexpr std::size_t max_value_bytes = 64 * 1024;

/// Interprets `value` stored under `key`; `name` is the key without the prefix (decides
/// whether it is the service config key). Never throws. A weight comes from
/// Metadata.weight as a positive integer or a string of one; other metadata is ignored.
endpoint_value parse_endpoint_value(std::string_view name, std::string_view key,
                                    std::string_view value);

}  // namespace achan::etcd
