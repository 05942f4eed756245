#include "core/etcd/etcd_wire.hpp"

#include <optional>
#include <utility>

#include "transport/grpc/proto_wire.hpp"

namespace achan::etcd {
namespace {

using namespace proto_wire;

void put_bool(std::string& out, std::uint32_t number, bool v) {
  put_int(out, number, v ? 1 : 0);
}

/// A sub-message's bytes and where they start in the outermost message.
using sub_message = std::pair<std::string_view, std::size_t>;

/// proto_wire::reader with the reads etcd's messages need: a field of an unexpected wire
/// type is skipped (as protobuf does), the first failure stays in error().
class reader {
 public:
  reader(std::string_view in, const char* message, std::size_t base = 0) : r_(in, message, base) {}
  reader(const sub_message& m, const char* message) : r_(m.first, message, m.second) {}

  /// The next field's number and wire type; false at the end or after a failure.
  bool next(std::uint32_t& number, std::uint32_t& wire_type) {
    if (r_.done())
      return false;
    auto t = r_.tag();
    if (!t)
      return false;
    number = number_ = t->first;
    wire_type = t->second;
    return true;
  }
  void read_int(std::uint32_t wire_type, std::int64_t& out) {
    if (wire_type != varint_wire)
      return skip(wire_type);
    if (auto v = r_.varint())
      out = static_cast<std::int64_t>(*v);
  }
  void read_bool(std::uint32_t wire_type, bool& out) {
    std::int64_t v = 0;
    read_int(wire_type, v);
    out = v != 0;
  }
  void read_string(std::uint32_t wire_type, std::string& out) {
    if (wire_type != length_wire)
      return skip(wire_type);
    if (auto v = r_.bytes())
      out.assign(v->first);
  }
  /// A sub-message, or nothing (skipped) for another wire type.
  std::optional<sub_message> message(std::uint32_t wire_type) {
    if (wire_type != length_wire) {
      skip(wire_type);
      return std::nullopt;
    }
    return r_.bytes();
  }
  /// Skips the current field's value.
  void skip(std::uint32_t wire_type) { r_.skip(number_, wire_type); }
  /// Adopts a nested reader's failure.
  void adopt(const reader& inner) {
    if (inner.error())
      r_.fail(*inner.error());
  }
  const std::optional<status>& error() const noexcept { return r_.error(); }

 private:
  proto_wire::reader r_;
  std::uint32_t number_ = 0;
};

/// ResponseHeader: the revision (field 3).
void read_header(reader& outer, const sub_message& bytes, std::int64_t& revision) {
  reader r(bytes, "ResponseHeader");
  std::uint32_t n = 0, w = 0;
  while (r.next(n, w))
    n == 3 ? r.read_int(w, revision) : r.skip(w);
  outer.adopt(r);
}

void read_kv(reader& outer, const sub_message& bytes, key_value& kv) {
  reader r(bytes, "KeyValue");
  std::uint32_t n = 0, w = 0;
  while (r.next(n, w)) {
    switch (n) {
      case 1:
        r.read_string(w, kv.key);
        break;
      case 3:
        r.read_int(w, kv.mod_revision);
        break;
      case 5:
        r.read_string(w, kv.value);
        break;
      case 6:
        r.read_int(w, kv.lease);
        break;
      default:
        r.skip(w);
    }
  }
  outer.adopt(r);
}

void read_event(reader& outer, const sub_message& bytes, watch_event& e) {
  reader r(bytes, "Event");
  std::uint32_t n = 0, w = 0;
  while (r.next(n, w)) {
    if (n == 1) {
      std::int64_t type = 0;
      r.read_int(w, type);
      e.is_delete = type == 1;
    } else if (n == 2) {
      if (auto m = r.message(w))
        read_kv(r, *m, e.kv);
    } else {
      r.skip(w);
    }
  }
  outer.adopt(r);
}

/// Decodes a response that has a header (field 1) and the fields `on` handles.
template <class T, class F>
result<T> decode(std::string_view bytes, const char* name, F on) {
  T out;
  reader r(bytes, name);
  std::uint32_t n = 0, w = 0;
  while (r.next(n, w))
    on(r, n, w, out);
  if (r.error())
    return *r.error();
  return out;
}

}  // namespace

std::string prefix_range_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xFF) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

std::string encode(const range_request& q) {
  std::string out;
  put_bytes(out, 1, q.key);
  put_bytes(out, 2, q.range_end);
  put_int(out, 3, q.limit);
  put_int(out, 4, q.revision);
  put_int(out, 5, 1);  // sort_order ASCEND
  // sort_target KEY (0) is the default.
  return out;
}

result<range_response> decode_range_response(std::string_view bytes) {
  return decode<range_response>(bytes, "RangeResponse",
                                [](reader& r, std::uint32_t n, std::uint32_t w, range_response& o) {
                                  if (n == 1) {
                                    if (auto m = r.message(w))
                                      read_header(r, *m, o.revision);
                                  } else if (n == 2) {
                                    if (auto m = r.message(w))
                                      read_kv(r, *m, o.kvs.emplace_back());
                                  } else if (n == 3) {
                                    r.read_bool(w, o.more);
                                  } else {
                                    r.skip(w);
                                  }
                                });
}

std::string encode(const watch_create& c) {
  std::string inner;
  put_bytes(inner, 1, c.key);
  put_bytes(inner, 2, c.range_end);
  put_int(inner, 3, c.start_revision);
  put_bool(inner, 4, c.progress_notify);
  std::string out;
  put_tag(out, 1, length_wire);  // create_request, even when empty
  put_varint(out, inner.size());
  out += inner;
  return out;
}

result<watch_response> decode_watch_response(std::string_view bytes) {
  return decode<watch_response>(bytes, "WatchResponse",
                                [](reader& r, std::uint32_t n, std::uint32_t w, watch_response& o) {
                                  switch (n) {
                                    case 1:
                                      if (auto m = r.message(w))
                                        read_header(r, *m, o.revision);
                                      break;
                                    case 2:
                                      r.read_int(w, o.watch_id);
                                      break;
                                    case 3:
                                      r.read_bool(w, o.created);
                                      break;
                                    case 4:
                                      r.read_bool(w, o.canceled);
                                      break;
                                    case 5:
                                      r.read_int(w, o.compact_revision);
                                      break;
                                    case 6:
                                      r.read_string(w, o.cancel_reason);
                                      break;
                                    case 7:
                                      r.read_bool(w, o.fragment);
                                      break;
                                    case 11:
                                      if (auto m = r.message(w))
                                        read_event(r, *m, o.events.emplace_back());
                                      break;
                                    default:
                                      r.skip(w);
                                  }
                                });
}

std::string encode(const put_request& p) {
  std::string out;
  put_bytes(out, 1, p.key);
  put_bytes(out, 2, p.value);
  put_int(out, 3, p.lease);
  return out;
}

std::string encode(const lease_grant_request& g) {
  std::string out;
  put_int(out, 1, g.ttl);
  return out;
}

result<lease_grant_response> decode_lease_grant_response(std::string_view bytes) {
  return decode<lease_grant_response>(
      bytes, "LeaseGrantResponse",
      [](reader& r, std::uint32_t n, std::uint32_t w, lease_grant_response& o) {
        if (n == 2)
          r.read_int(w, o.id);
        else if (n == 3)
          r.read_int(w, o.ttl);
        else if (n == 4)
          r.read_string(w, o.error);
        else
          r.skip(w);
      });
}

std::string encode(const lease_id_request& q) {
  std::string out;
  put_int(out, 1, q.id);
  return out;
}

result<lease_keepalive_response> decode_lease_keepalive_response(std::string_view bytes) {
  return decode<lease_keepalive_response>(
      bytes, "LeaseKeepAliveResponse",
      [](reader& r, std::uint32_t n, std::uint32_t w, lease_keepalive_response& o) {
        if (n == 2)
          r.read_int(w, o.id);
        else if (n == 3)
          r.read_int(w, o.ttl);
        else
          r.skip(w);
      });
}

std::string encode(const authenticate_request& a) {
  std::string out;
  put_bytes(out, 1, a.name);
  put_bytes(out, 2, a.password);
  return out;
}

result<std::string> decode_authenticate_token(std::string_view bytes) {
  return decode<std::string>(bytes, "AuthenticateResponse",
                             [](reader& r, std::uint32_t n, std::uint32_t w, std::string& token) {
                               n == 2 ? r.read_string(w, token) : r.skip(w);
                             });
}

}  // namespace achan::etcd
