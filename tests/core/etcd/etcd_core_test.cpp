#include <doctest/doctest.h>

#include "core/etcd/endpoint_value.hpp"
#include "core/etcd/etcd_wire.hpp"
#include "core/etcd/prefix_view.hpp"

using namespace achan::etcd;

namespace {
// Encoders for the responses an etcd server sends (the codec only decodes them).
void varint(std::string& o, std::uint64_t v) {
  for (; v >= 0x80; v >>= 7)
    o.push_back(static_cast<char>((v & 0x7F) | 0x80));
  o.push_back(static_cast<char>(v));
}
void field_int(std::string& o, int n, std::int64_t v) {
  varint(o, static_cast<std::uint64_t>(n) << 3);
  varint(o, static_cast<std::uint64_t>(v));
}
void field_bytes(std::string& o, int n, const std::string& v) {
  varint(o, static_cast<std::uint64_t>(n) << 3 | 2);
  varint(o, v.size());
  o += v;
}
std::string header(std::int64_t rev) {
  std::string h;
  field_int(h, 1, 77);  // cluster_id (skipped)
  field_int(h, 3, rev);
  return h;
}
std::string kv(const std::string& key, const std::string& value, std::int64_t mod) {
  std::string o;
  field_bytes(o, 1, key);
  field_int(o, 2, 1);  // create_revision (skipped)
  field_int(o, 3, mod);
  field_bytes(o, 5, value);
  return o;
}
key_value kvs(const std::string& key, const std::string& value, std::int64_t mod) {
  return key_value{key, value, mod, 0};
}
watch_response events(std::int64_t rev, std::vector<watch_event> e) {
  watch_response w;
  w.revision = rev;
  w.events = std::move(e);
  return w;
}
}  // namespace

TEST_CASE("etcd wire: a RangeResponse decodes its revision keys values and more flag") {
  std::string r;
  field_bytes(r, 1, header(42));
  field_bytes(r, 2, kv("svc/a", "10.0.0.1:1", 40));
  field_bytes(r, 2, kv("svc/b", "10.0.0.2:1", 41));
  field_int(r, 3, 1);
  field_int(r, 4, 9);  // count (skipped)
  auto d = decode_range_response(r);
  REQUIRE(d);
  CHECK(d->revision == 42);
  REQUIRE(d->kvs.size() == 2);
  CHECK(d->kvs[1].key == "svc/b");
  CHECK(d->kvs[1].value == "10.0.0.2:1");
  CHECK(d->kvs[1].mod_revision == 41);
  CHECK(d->more);
}

TEST_CASE("etcd wire: truncated or malformed responses fail with a message and never overread") {
  std::string r;
  field_bytes(r, 1, header(42));
  field_bytes(r, 2, kv("svc/a", "10.0.0.1:1", 40));
  for (std::size_t n = 1; n < r.size(); ++n) {
    auto d = decode_range_response(std::string_view(r).substr(0, n));
    if (!d)
      CHECK(d.error().message.find("malformed") != std::string::npos);
  }
  auto bad = decode_watch_response(std::string("\x0a\xff\xff\xff\xff\x0f", 6));
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("field past the end") != std::string::npos);
  CHECK_FALSE(decode_watch_response(std::string("\x00", 1)));  // field number 0
}

TEST_CASE("etcd wire: a WatchResponse with events and a compaction cancel decodes") {
  std::string ev;
  field_int(ev, 1, 1);  // DELETE
  field_bytes(ev, 2, kv("svc/a", "", 50));
  std::string w;
  field_bytes(w, 1, header(50));
  field_int(w, 2, 7);
  field_bytes(w, 11, ev);
  auto d = decode_watch_response(w);
  REQUIRE(d);
  CHECK(d->watch_id == 7);
  REQUIRE(d->events.size() == 1);
  CHECK(d->events[0].is_delete);
  CHECK(d->events[0].kv.mod_revision == 50);
  std::string c;
  field_int(c, 4, 1);
  field_int(c, 5, 30);
  field_bytes(c, 6, "required revision has been compacted");
  auto cd = decode_watch_response(c);
  REQUIRE(cd);
  CHECK(cd->canceled);
  CHECK(cd->compact_revision == 30);
}

TEST_CASE("etcd wire: requests encode as protobuf writes them") {
  CHECK(encode(lease_id_request{5}) == std::string("\x08\x05", 2));
  CHECK(encode(lease_grant_request{10}) == std::string("\x08\x0a", 2));
  auto w = encode(watch_create{"a/", "a0", 3, true});
  CHECK(w == std::string("\x0a\x0c\x0a\x02"
                         "a/"
                         "\x12\x02"
                         "a0"
                         "\x18\x03\x20\x01",
                         14));
  CHECK(prefix_range_end("a/") == "a0");
  CHECK(prefix_range_end("a\xff") == "b");
  CHECK(prefix_range_end("") == std::string(1, '\0'));
}

TEST_CASE("etcd values: naming format bare host port endpoint JSON weights and deletes") {
  auto v = parse_endpoint_value("a", "p/a",
                                R"({"Op":0,"Addr":"10.0.0.1:50051","Metadata":{"weight":3}})");
  REQUIRE(std::holds_alternative<endpoint>(v));
  CHECK(std::get<endpoint>(v).address == "10.0.0.1:50051");
  CHECK(std::get<endpoint>(v).weight == 3);
  CHECK(std::holds_alternative<withdrawn>(
      parse_endpoint_value("a", "p/a", R"({"Op":1,"Addr":"x:1"})")));
  auto bare = parse_endpoint_value("a", "p/a", " [::1]:80\n");
  REQUIRE(std::holds_alternative<endpoint>(bare));
  CHECK(std::get<endpoint>(bare).address == "[::1]:80");
  auto addr =
      parse_endpoint_value("a", "p/a", R"({"Addr":"h.example:9","Metadata":{"weight":"7"}})");
  REQUIRE(std::holds_alternative<endpoint>(addr));
  CHECK(std::get<endpoint>(addr).weight == 7);
  CHECK(std::holds_alternative<service_config_text>(
      parse_endpoint_value("_grpc_config", "p/_grpc_config", "{}")));
  for (const char* bad : {"", "no-port", "{", R"({"Op":2,"Addr":"a:1"})", R"({"Addr":5})",
                          R"({"Addr":"a:1","Metadata":{"weight":0}})", "[1,2]"}) {
    auto b = parse_endpoint_value("a", "p/a", bad);
    REQUIRE_MESSAGE(std::holds_alternative<malformed>(b), bad);
    CHECK(std::get<malformed>(b).message.find("etcd key 'p/a' skipped") == 0);
  }
  // A hostile value is bounded: one byte over 64 KiB is malformed, 64 KiB is parsed.
  std::string padded = R"({"Addr":"a:1","Metadata":{"pad":")";
  padded += std::string(max_value_bytes - padded.size() - 3, 'x') + "\"}}";
  REQUIRE(padded.size() == max_value_bytes);
  CHECK(std::holds_alternative<endpoint>(parse_endpoint_value("a", "p/a", padded)));
  auto huge = parse_endpoint_value("a", "p/a", padded + " ");
  REQUIRE(std::holds_alternative<malformed>(huge));
  CHECK(std::get<malformed>(huge).message.find("larger than 64 KiB") != std::string::npos);
}

TEST_CASE("etcd prefix view: paged listing then watch events give complete lists") {
  prefix_view v("svc/", 100, 2);
  auto first = v.first_page();
  CHECK(first.key == "svc/");
  CHECK(first.range_end == "svc0");
  CHECK(first.limit == 2);
  range_response p1{10, {kvs("svc/a", "10.0.0.1:1", 3), kvs("svc/b", "bad", 4)}, true};
  auto next = v.on_page(p1);
  REQUIRE(next);
  REQUIRE(*next);
  CHECK((*next)->key == std::string("svc/b\0", 6));
  CHECK((*next)->revision == 10);
  CHECK_FALSE(v.listed());
  range_response p2{
      10, {kvs("svc/c", R"({"Addr":"10.0.0.3:1","Metadata":{"weight":2}})", 5)}, false};
  auto done = v.on_page(p2);
  REQUIRE(done);
  CHECK_FALSE(*done);
  CHECK(v.revision() == 10);
  auto s = v.current();
  CHECK(s.addresses == std::vector<std::string>{"10.0.0.1:1", "10.0.0.3:1"});
  CHECK(s.weights == std::vector<std::uint32_t>{1, 2});
  CHECK(v.take_notes().size() == 1);  // svc/b
  CHECK(v.watch_request().start_revision == 11);

  CHECK(v.on_watch(events(11, {{false, kvs("svc/d", "10.0.0.4:1", 11)}})) ==
        prefix_view::watch_step::changed);
  CHECK(v.on_watch(events(12, {{true, kvs("svc/a", "", 12)}})) == prefix_view::watch_step::changed);
  CHECK(v.current().addresses == std::vector<std::string>{"10.0.0.3:1", "10.0.0.4:1"});
  CHECK(v.revision() == 12);
  // A watch resumed on another member repeats history at or below 12: skipped.
  CHECK(v.on_watch(events(12, {{false, kvs("svc/a", "10.0.0.1:1", 9)}})) ==
        prefix_view::watch_step::nothing);
  CHECK(v.current().addresses.size() == 2);
}

TEST_CASE("etcd prefix view: compaction asks for a relisting and a plain cancel for a rewatch") {
  prefix_view v("svc/");
  v.first_page();
  REQUIRE(v.on_page(range_response{5, {}, false}));
  watch_response c;
  c.canceled = true;
  c.compact_revision = 9;
  CHECK(v.on_watch(c) == prefix_view::watch_step::relist);
  c.compact_revision = 0;
  c.cancel_reason = "permission denied";
  CHECK(v.on_watch(c) == prefix_view::watch_step::rewatch);
  auto notes = v.take_notes();
  REQUIRE(notes.size() == 2);
  CHECK(notes[1].find("permission denied") != std::string::npos);
  CHECK(v.current().addresses.empty());
}

TEST_CASE("etcd prefix view: a listing over max_keys fails and inconsistent pages are refused") {
  prefix_view v("svc/", 1, 10);
  v.first_page();
  auto r = v.on_page(range_response{5, {kvs("svc/a", "a:1", 1), kvs("svc/b", "b:1", 2)}, false});
  REQUIRE_FALSE(r);
  CHECK(r.error().code == achan::status_code::resource_exhausted);
  prefix_view w("svc/");
  w.first_page();
  CHECK_FALSE(w.on_page(range_response{5, {kvs("other/a", "a:1", 1)}, false}));
  w.first_page();
  CHECK_FALSE(w.on_page(range_response{0, {}, false}));
}
