#pragma once
/// The subset of etcd's v3 API (etcdserverpb, mvccpb; proto/etcd.proto) that the etcd
/// resolver and registration speak, as plain structs with a hand-rolled protobuf codec,
/// so neither the core nor the installed library needs protobuf (as core/orca/ does for
/// ORCA). Encoders write what protobuf's generated code writes (zero fields omitted);
/// decoders skip unknown fields of every wire type and fail with INTERNAL
/// "malformed <Message> (what, at byte N)" on truncated or malformed input. A decoder
/// never reads outside its input and allocates only for the strings and repeated
/// entries the input holds.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <achan/result.hpp>

namespace achan::etcd {

/// The gRPC methods used (full paths).
inline constexpr const char* range_method = "/etcdserverpb.KV/Range";
inline constexpr const char* put_method = "/etcdserverpb.KV/Put";
inline constexpr const char* watch_method = "/etcdserverpb.Watch/Watch";
inline constexpr const char* lease_grant_method = "/etcdserverpb.Lease/LeaseGrant";
inline constexpr const char* lease_revoke_method = "/etcdserverpb.Lease/LeaseRevoke";
inline constexpr const char* lease_keepalive_method = "/etcdserverpb.Lease/LeaseKeepAlive";
inline constexpr const char* authenticate_method = "/etcdserverpb.Auth/Authenticate";

/// The end of the key range holding every key that starts with `prefix` (etcd's
/// GetPrefixRangeEnd): the prefix with its last byte below 0xFF incremented and what
/// follows dropped; "\0" (every key) for an empty or all-0xFF prefix.
std::string prefix_range_end(std::string_view prefix);

/// RangeRequest: keys in [key, range_end) at `revision` (0: the latest), at most `limit`
/// (0: no limit), sorted by key ascending.
struct range_request {
  std::string key, range_end;
  std::int64_t limit = 0;
  std::int64_t revision = 0;
};
std::string encode(const range_request& r);

/// mvccpb.KeyValue (the fields used).
struct key_value {
  std::string key, value;
  std::int64_t mod_revision = 0;
  std::int64_t lease = 0;
};

/// RangeResponse: header.revision, kvs, more.
struct range_response {
  std::int64_t revision = 0;
  std::vector<key_value> kvs;
  bool more = false;
};
result<range_response> decode_range_response(std::string_view bytes);

/// WatchRequest carrying a WatchCreateRequest for [key, range_end) from
/// `start_revision` (0: now), with progress notifications.
struct watch_create {
  std::string key, range_end;
  std::int64_t start_revision = 0;
  bool progress_notify = true;
};
std::string encode(const watch_create& w);

/// mvccpb.Event: PUT (0) or DELETE (1) of kv.
struct watch_event {
  bool is_delete = false;
  key_value kv;
};

/// WatchResponse (the fields used).
struct watch_response {
  std::int64_t revision = 0;  ///< header.revision
  std::int64_t watch_id = 0;
  bool created = false;
  bool canceled = false;
  std::int64_t compact_revision = 0;
  std::string cancel_reason;
  bool fragment = false;
  std::vector<watch_event> events;
};
result<watch_response> decode_watch_response(std::string_view bytes);

/// PutRequest of `key` = `value`, attached to `lease` (0: none).
struct put_request {
  std::string key, value;
  std::int64_t lease = 0;
};
std::string encode(const put_request& p);

/// LeaseGrantRequest (TTL in seconds) and its response (ID, TTL, error text).
struct lease_grant_request {
  std::int64_t ttl = 0;
};
std::string encode(const lease_grant_request& g);
struct lease_grant_response {
  std::int64_t id = 0, ttl = 0;
  std::string error;
};
result<lease_grant_response> decode_lease_grant_response(std::string_view bytes);

/// LeaseKeepAliveRequest / LeaseRevokeRequest: the lease ID (field 1 of both).
struct lease_id_request {
  std::int64_t id = 0;
};
std::string encode(const lease_id_request& r);
/// LeaseKeepAliveResponse: ID and the remaining TTL (<= 0: the lease is gone).
struct lease_keepalive_response {
  std::int64_t id = 0, ttl = 0;
};
result<lease_keepalive_response> decode_lease_keepalive_response(std::string_view bytes);

/// AuthenticateRequest (user name, password) and the token of its response.
struct authenticate_request {
  std::string name, password;
};
std::string encode(const authenticate_request& a);
result<std::string> decode_authenticate_token(std::string_view bytes);

}  // namespace achan::etcd
