// gRPC Length-Prefixed-Message framing: append_frame / write_frame_header and the deframer.
#include <doctest/doctest.h>

#include "tests/support/seed.hpp"

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "transport/grpc/framing.hpp"

using namespace achan;
using achan::grpc::deframer;

namespace {

using achan::test::test_seed;

std::string frame(std::string_view msg, bool compressed = false) {
  std::string out;
  grpc::append_frame(out, msg, compressed);
  return out;
}

/// A raw header with any flag byte and length, for cases append_frame cannot produce.
std::string raw_header(std::uint8_t flag, std::uint32_t length) {
  std::string h(grpc::frame_header_size, '\0');
  grpc::write_frame_header(h.data(), length, false);
  h[0] = static_cast<char>(flag);
  return h;
}

std::vector<std::string> drain(deframer& d) {
  std::vector<std::string> out;
  std::string m;
  while (d.next(m)) {
    out.push_back(m);
  }
  return out;
}

/// Messages of assorted sizes and contents, including empty and ones holding 0x00 bytes.
std::vector<std::string> sample_messages(std::mt19937& rng) {
  std::vector<std::string> msgs{"", "a", std::string(1, '\0'), "hello world", ""};
  std::uniform_int_distribution<int> len(0, 3000);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 40; ++i) {
    std::string m(static_cast<std::size_t>(len(rng)), '\0');
    for (auto& c : m) {
      c = static_cast<char>(byte(rng));
    }
    msgs.push_back(std::move(m));
  }
  return msgs;
}

}  // namespace

TEST_CASE("framing: append_frame writes flag and big-endian length before the message") {
  CHECK(frame("abc") == std::string("\x00\x00\x00\x00\x03"
                                    "abc",
                                    8));
  CHECK(frame("", true) == std::string("\x01\x00\x00\x00\x00", 5));
  std::string out = "prefix";
  grpc::append_frame(out, std::string(0x010203, 'x'));
  REQUIRE(out.size() == 6 + 5 + 0x010203);
  CHECK(out.substr(6, 5) == std::string("\x00\x00\x01\x02\x03", 5));
}

TEST_CASE("framing: write_frame_header encodes the full 32-bit length range") {
  char h[grpc::frame_header_size];
  grpc::write_frame_header(h, 0xfedcba98u, true);
  CHECK(std::string(h, 5) == std::string("\x01\xfe\xdc\xba\x98", 5));
}

TEST_CASE("deframer: many messages round-trip when fed one byte at a time") {
  std::mt19937 rng(7);
  auto msgs = sample_messages(rng);
  std::string stream;
  for (const auto& m : msgs) {
    grpc::append_frame(stream, m);
  }
  deframer d;
  for (char c : stream) {
    REQUIRE(d.feed(std::string_view(&c, 1)).ok());
  }
  CHECK(drain(d) == msgs);
  CHECK(d.finish().ok());
}

TEST_CASE("deframer: many messages round-trip in random chunk sizes") {
  const auto seed = test_seed();
  MESSAGE("seed " << seed);
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  for (int round = 0; round < 20; ++round) {
    auto msgs = sample_messages(rng);
    std::string stream;
    for (const auto& m : msgs) {
      grpc::append_frame(stream, m);
    }
    deframer d;
    std::vector<std::string> got;
    std::uniform_int_distribution<std::size_t> chunk(0, round % 2 ? 7 : 5000);
    for (std::size_t at = 0; at < stream.size();) {
      const std::size_t n = std::min(chunk(rng), stream.size() - at);
      REQUIRE(d.feed(std::string_view(stream).substr(at, n)).ok());
      at += n;
      for (auto& m : drain(d)) {  // interleave popping with feeding
        got.push_back(std::move(m));
      }
    }
    CHECK(got == msgs);
    CHECK(d.finish().ok());
  }
}

TEST_CASE("deframer: an empty message is delivered as soon as its header arrives") {
  deframer d;
  auto f = frame("");
  REQUIRE(d.feed(std::string_view(f).substr(0, 4)).ok());
  CHECK(d.queued() == 0);
  REQUIRE(d.feed(std::string_view(f).substr(4)).ok());
  CHECK(drain(d) == std::vector<std::string>{""});
  CHECK(d.finish().ok());
}

TEST_CASE("deframer: a message exactly at the limit is accepted") {
  deframer d(100);
  REQUIRE(d.feed(frame(std::string(100, 'z'))).ok());
  CHECK(drain(d) == std::vector<std::string>{std::string(100, 'z')});
}

TEST_CASE("deframer: message over the receive limit fails with RESOURCE_EXHAUSTED") {
  deframer d(100);
  // Only the header is sent: the error must not wait for (or buffer) the body.
  auto st = d.feed(raw_header(0, 101));
  CHECK(st.code == status_code::resource_exhausted);
  CHECK(st.message == "received message larger than max (101 vs. 100)");
  CHECK(d.failed());
}

TEST_CASE("deframer: a 4 GiB length header fails at the default limit without allocating") {
  deframer d;
  auto st = d.feed(raw_header(0, 0xffffffffu));
  CHECK(st.code == status_code::resource_exhausted);
  CHECK(st.message == "received message larger than max (4294967295 vs. 4194304)");
}

TEST_CASE("deframer: a 1 MiB message round-trips whole and in 1000-byte chunks") {
  std::string big(1 << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) {
    big[i] = static_cast<char>(i * 31 + 7);
  }
  auto f = frame(big);
  deframer whole;
  REQUIRE(whole.feed(f).ok());
  CHECK(drain(whole) == std::vector<std::string>{big});
  deframer chunked;
  for (std::size_t at = 0; at < f.size(); at += 1000) {
    REQUIRE(chunked.feed(std::string_view(f).substr(at, 1000)).ok());
  }
  CHECK(drain(chunked) == std::vector<std::string>{big});
  CHECK(chunked.finish().ok());
}

TEST_CASE("deframer: compressed flag without grpc-encoding fails with INTERNAL") {
  deframer d;
  auto st = d.feed(frame("x", true));
  CHECK(st.code == status_code::internal);
  CHECK(st.message == "compressed message received without grpc-encoding");
}

TEST_CASE("deframer: compressed flag with identity encoding fails with INTERNAL") {
  deframer d;
  d.set_encoding("identity");
  auto st = d.feed(frame("x", true));
  CHECK(st.code == status_code::internal);
  CHECK(st.message == "compressed message received with grpc-encoding 'identity'");
}

TEST_CASE("deframer: compressed flag with gzip encoding fails with UNIMPLEMENTED") {
  deframer d;
  d.set_encoding("gzip");
  REQUIRE(d.feed(frame("plain")).ok());  // uncompressed messages are fine under any encoding
  auto st = d.feed(frame("x", true));
  CHECK(st.code == status_code::unimplemented);
  CHECK(st.message == "unsupported grpc-encoding 'gzip'");
  CHECK(drain(d) == std::vector<std::string>{"plain"});  // completed before the error
}

TEST_CASE("deframer: compressed flag values other than 0 and 1 fail with INTERNAL") {
  for (int flag : {2, 0x80, 0xff}) {
    CAPTURE(flag);
    deframer d;
    auto st = d.feed(raw_header(static_cast<std::uint8_t>(flag), 0));
    CHECK(st.code == status_code::internal);
    CHECK(st.message == "invalid compressed flag " + std::to_string(flag));
  }
}

TEST_CASE("deframer: after an error further input is ignored and the same error returned") {
  deframer d(10);
  std::string stream = raw_header(0, 11) + frame("ok");
  auto first = d.feed(stream);
  REQUIRE(first.code == status_code::resource_exhausted);
  auto again = d.feed(frame("more"));
  CHECK(again.code == first.code);
  CHECK(again.message == first.message);
  CHECK(d.queued() == 0);
  CHECK(d.finish().message == first.message);
}

TEST_CASE("deframer: finish in the middle of a body fails with INTERNAL") {
  deframer d;
  auto f = frame("0123456789");
  REQUIRE(d.feed(std::string_view(f).substr(0, 8)).ok());
  auto st = d.finish();
  CHECK(st.code == status_code::internal);
  CHECK(st.message == "stream ended with an incomplete message (got 3 of 10 bytes)");
  CHECK(d.feed(f).message == st.message);  // failed for good
}

TEST_CASE("deframer: finish in the middle of a header fails with INTERNAL") {
  deframer d;
  REQUIRE(d.feed(frame("a")).ok());
  REQUIRE(d.feed(std::string_view("\0\0", 2)).ok());
  auto st = d.finish();
  CHECK(st.code == status_code::internal);
  CHECK(st.message == "stream ended with an incomplete message header (got 2 of 5 bytes)");
  CHECK(drain(d) == std::vector<std::string>{"a"});
}

TEST_CASE("deframer: finish after 1 to 4 header bytes fails with INTERNAL") {
  for (std::size_t got = 1; got < grpc::frame_header_size; ++got) {
    CAPTURE(got);
    deframer d;
    REQUIRE(d.feed(frame("abc").substr(0, got)).ok());
    CHECK(d.finish().message == "stream ended with an incomplete message header (got " +
                                    std::to_string(got) + " of 5 bytes)");
  }
}

TEST_CASE("deframer: finish right after a header with a non-empty body pending fails") {
  deframer d;
  REQUIRE(d.feed(raw_header(0, 4)).ok());
  CHECK(d.finish().message == "stream ended with an incomplete message (got 0 of 4 bytes)");
}

TEST_CASE("deframer: finish on an empty stream or a message boundary is OK") {
  deframer empty;
  CHECK(empty.finish().ok());
  deframer d;
  REQUIRE(d.feed(frame("a") + frame("b")).ok());
  CHECK(d.finish().ok());
  CHECK(drain(d) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("deframer: next leaves the output untouched when no message is queued") {
  deframer d;
  std::string m = "keep";
  CHECK_FALSE(d.next(m));
  CHECK(m == "keep");
}

TEST_CASE("deframer: messages taken one at a time while more arrive keep their order") {
  deframer d;
  std::string two;
  grpc::append_frame(two, "a");
  grpc::append_frame(two, "b");
  REQUIRE(d.feed(two).ok());
  std::string m;
  REQUIRE(d.next(m));
  CHECK(m == "a");
  CHECK(d.queued() == 1);
  std::string more;
  grpc::append_frame(more, "c");
  REQUIRE(d.feed(more).ok());  // arrives while "b" is still queued
  CHECK(d.queued() == 2);
  CHECK(drain(d) == std::vector<std::string>{"b", "c"});
  CHECK(d.queued() == 0);
  REQUIRE(d.feed(two).ok());  // after a full drain the queue starts over
  CHECK(drain(d) == std::vector<std::string>{"a", "b"});
}
