#include "core/etcd/etcd_wire.hpp"

#include <optional>

namespace achan::etcd {
namespace {

enum wire : std::uint32_t {
  varint_wire = 0,
  fixed64_wire = 1,
  length_wire = 2,
  start_group = 3,
  end_group = 4,
  fixed32_wire = 5
};
constexpr int max_group_depth = 100;

// --- encoding ------------------------------------------------------------------

void put_varint(std::string& out, std::uint64_t v) {
  for (; v >= 0x80; v >>= 7)
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
  out.push_back(static_cast<char>(v));
}
void put_int(std::string& out, std::uint32_t number, std::int64_t v) {
  if (v == 0)
    return;
  put_varint(out, number << 3 | varint_wire);
  put_varint(out, static_cast<std::uint64_t>(v));  // int64: two's complement, 10 bytes if < 0
}
void put_bool(std::string& out, std::uint32_t number, bool v) {
  put_int(out, number, v ? 1 : 0);
}
void put_bytes(std::string& out, std::uint32_t number, std::string_view v) {
  if (v.empty())
    return;
  put_varint(out, number << 3 | length_wire);
  put_varint(out, v.size());
  out.append(v);
}

// --- decoding ------------------------------------------------------------------

/// Walks one message's fields. On the first error `failed` holds the status; every
/// later read returns nothing.
class reader {
 public:
  reader(std::string_view in, const char* message) : in_(in), message_(message) {}

  /// The next field's number and wire type; false at the end or after an error.
  bool next(std::uint32_t& number, std::uint32_t& wire_type) {
    if (failed || pos_ >= in_.size())
      return false;
    auto tag = varint("tag");
    if (!tag)
      return false;
    number = static_cast<std::uint32_t>(*tag >> 3);
    wire_type = static_cast<std::uint32_t>(*tag & 7);
    if (number == 0 || wire_type > 5)
      return fail("bad tag");
    return true;
  }
  std::optional<std::uint64_t> varint(const char* what = "varint") {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) {
        fail(what);
        return std::nullopt;
      }
      auto b = static_cast<std::uint8_t>(in_[pos_++]);
      v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80))
        return v;
    }
    fail(what);
    return std::nullopt;
  }
  std::optional<std::string_view> bytes() {
    auto n = varint("length");
    if (!n)
      return std::nullopt;
    if (*n > in_.size() - pos_) {
      fail("length past the end");
      return std::nullopt;
    }
    auto out = in_.substr(pos_, *n);
    pos_ += *n;
    return out;
  }
  /// Reads an integer field (varint wire); a field of another wire type is skipped.
  void read_int(std::uint32_t wire_type, std::int64_t& out) {
    if (wire_type != varint_wire)
      return skip(wire_type);
    if (auto v = varint())
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
    if (auto v = bytes())
      out.assign(*v);
  }
  /// A sub-message's bytes, or nothing (skipped) for another wire type.
  std::optional<std::string_view> message(std::uint32_t wire_type) {
    if (wire_type != length_wire) {
      skip(wire_type);
      return std::nullopt;
    }
    return bytes();
  }
  void skip(std::uint32_t wire_type, int depth = 0) {
    switch (wire_type) {
      case varint_wire:
        varint();
        return;
      case fixed64_wire:
        advance(8);
        return;
      case fixed32_wire:
        advance(4);
        return;
      case length_wire:
        bytes();
        return;
      case start_group: {
        if (depth >= max_group_depth) {
          fail("groups nested too deep");
          return;
        }
        std::uint32_t n = 0, w = 0;
        while (next(n, w)) {
          if (w == end_group)
            return;
          skip(w, depth + 1);
        }
        if (!failed)
          fail("unterminated group");
        return;
      }
      default:
        fail("unexpected end of group");
        return;
    }
  }
  bool fail(const char* what) {
    if (!failed)
      error = status{status_code::internal, std::string("malformed ") + message_ + " (" + what +
                                                ", at byte " + std::to_string(pos_) + ")"};
    failed = true;
    return false;
  }
  /// Adopts a nested reader's error (its byte offsets are the sub-message's).
  void adopt(const reader& inner) {
    if (inner.failed && !failed) {
      failed = true;
      error = inner.error;
    }
  }

  bool failed = false;
  status error;

 private:
  void advance(std::size_t n) {
    if (n > in_.size() - pos_)
      fail("fixed field past the end");
    else
      pos_ += n;
  }
  std::string_view in_;
  std::size_t pos_ = 0;
  const char* message_;
};

/// ResponseHeader: the revision (field 3).
void read_header(reader& outer, std::string_view bytes, std::int64_t& revision) {
  reader r(bytes, "ResponseHeader");
  std::uint32_t n = 0, w = 0;
  while (r.next(n, w))
    n == 3 ? r.read_int(w, revision) : r.skip(w);
  outer.adopt(r);
}

void read_kv(reader& outer, std::string_view bytes, key_value& kv) {
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

void read_event(reader& outer, std::string_view bytes, watch_event& e) {
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
  if (r.failed)
    return r.error;
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
  put_varint(out, 1 << 3 | length_wire);  // create_request, even when empty
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
