// Header text encodings: percent-encoded grpc-message, base64 "-bin" values, key/value rules.
#include <doctest/doctest.h>

#include "tests/support/seed.hpp"

#include <cstdint>
#include <cstdlib>
#include <random>
#include <string>

#include "transport/grpc/wire_text.hpp"

using namespace achan::grpc;
using namespace std::string_literals;

namespace {

using achan::test::test_seed;

}  // namespace

TEST_CASE("wire_text: percent encoding escapes non-printable bytes and percent signs") {
  struct row {
    std::string in, out;
  };
  const row rows[] = {
      {"", ""},           {"plain text ~!", "plain text ~!"},
      {"100%", "100%25"}, {"a\nb\tc", "a%0Ab%09c"},
      {"\x7f", "%7F"},    {"\x1f ", "%1F "},
      {"\0"s, "%00"},     {"caf\xc3\xa9", "caf%C3%A9"},  // UTF-8 goes byte by byte
      {"\xff", "%FF"},
  };
  for (const auto& r : rows) {
    CAPTURE(r.in);
    CHECK(percent_encode_message(r.in) == r.out);
    CHECK(percent_decode_message(r.out) == r.in);
  }
}

TEST_CASE("wire_text: percent decoding keeps malformed escapes literally") {
  CHECK(percent_decode_message("%") == "%");
  CHECK(percent_decode_message("%4") == "%4");
  CHECK(percent_decode_message("a%zzb") == "a%zzb");
  CHECK(percent_decode_message("%4g%41") == "%4gA");
  CHECK(percent_decode_message("%%41") == "%A");
  CHECK(percent_decode_message("%c3%A9") == "\xc3\xa9");  // either hex case
  CHECK(percent_decode_message("50%") == "50%");
}

TEST_CASE("wire_text: percent encoding round-trips every byte value") {
  std::string all;
  for (int c = 0; c < 256; ++c) {
    all += static_cast<char>(c);
  }
  auto enc = percent_encode_message(all);
  for (char c : enc) {
    CHECK((c >= 0x20 && c <= 0x7e));
  }
  CHECK(percent_decode_message(enc) == all);
}

TEST_CASE("wire_text: base64 encodes RFC 4648 vectors without padding") {
  struct row {
    std::string in, out;
  };
  const row rows[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},          {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}, {"\xfb\xff"s, "+/8"},
      {"\0\0\0"s, "AAAA"}};
  for (const auto& r : rows) {
    CAPTURE(r.in);
    CHECK(base64_encode(r.in) == r.out);
    CHECK(base64_decode(r.out) == r.in);
  }
}

TEST_CASE("wire_text: base64 decoding accepts padded input") {
  CHECK(base64_decode("Zg==") == "f");
  CHECK(base64_decode("Zm8=") == "fo");
  CHECK(base64_decode("Zm9vYg==") == "foob");
  CHECK(base64_decode("Zm9vYmFy") == "foobar");
}

TEST_CASE("wire_text: base64 decoding rejects invalid characters and lengths") {
  for (const char* bad : {"Z", "Zm9vY", "Zg=", "Zg===", "Zm8==", "=", "==", "====", "Zg==Zg==",
                          "Z=g=", "Zm9v\n", "Zm 9v", "Zm-_", "Zm9v*", "Zm9vY===", "A==="}) {
    CAPTURE(bad);
    CHECK_FALSE(base64_decode(bad));
  }
}

TEST_CASE("wire_text: base64 round-trips random bytes") {
  const auto seed = test_seed();
  MESSAGE("seed " << seed);
  std::mt19937 rng(static_cast<std::uint32_t>(seed));
  for (int len = 0; len < 200; ++len) {
    std::string s(static_cast<std::size_t>(len), '\0');
    for (auto& c : s) {
      c = static_cast<char>(rng());
    }
    auto enc = base64_encode(s);
    CHECK(base64_decode(enc) == s);
    while (enc.size() % 4 != 0) {
      enc += '=';
    }
    CHECK(base64_decode(enc) == s);
  }
}

TEST_CASE("wire_text: binary headers are exactly those ending in -bin") {
  CHECK(is_binary_header("x-trace-bin"));
  CHECK(is_binary_header("grpc-status-details-bin"));
  CHECK(is_binary_header("-bin"));
  CHECK_FALSE(is_binary_header("x-bin-data"));
  CHECK_FALSE(is_binary_header("x-trace-BIN"));
  CHECK_FALSE(is_binary_header("bin"));
}

TEST_CASE("wire_text: header keys allow only lower-case letters digits and -_.") {
  for (const char* ok : {"a", "x-user-id", "key_1.v2", "grpc-status-details-bin", "0"}) {
    CAPTURE(ok);
    CHECK(valid_header_key(ok));
  }
  for (const char* bad : {"", "X-User", ":path", "a b", "a/b", "caf\xc3\xa9", "a:b", "tab\t"}) {
    CAPTURE(bad);
    CHECK_FALSE(valid_header_key(bad));
  }
}

TEST_CASE("wire_text: transport-owned headers are reserved but status details are not") {
  for (const char* r : {"te", "content-type", "grpc-timeout", "grpc-encoding",
                        "grpc-accept-encoding", "grpc-status", "grpc-message", ":authority"}) {
    CAPTURE(r);
    CHECK(reserved_header(r));
  }
  for (const char* r : {"grpc-status-details-bin", "x-te", "authorization", "user-agent"}) {
    CAPTURE(r);
    CHECK_FALSE(reserved_header(r));
  }
}

TEST_CASE("wire_text: ASCII header values must be printable") {
  CHECK(valid_ascii_header_value(""));
  CHECK(valid_ascii_header_value("Bearer abc ~!"));
  CHECK_FALSE(valid_ascii_header_value("a\r\nb"));
  CHECK_FALSE(valid_ascii_header_value("\x7f"));
  CHECK_FALSE(valid_ascii_header_value("caf\xc3\xa9"));
  CHECK_FALSE(valid_ascii_header_value("\0"s));
}

TEST_CASE("wire_text: metadata_error names the first bad entry") {
  using md = std::vector<std::pair<std::string, std::string>>;
  CHECK(
      achan::grpc::metadata_error(md{{"x-a", "b"}, {"x-c-bin", std::string("\0\xff", 2)}}).empty());
  CHECK(achan::grpc::metadata_error(md{{"x-a", "b"}, {"Bad", "v"}}).find("'Bad'") !=
        std::string::npos);
  CHECK(achan::grpc::metadata_error(md{{"grpc-timeout", "1S"}}).find("reserved") !=
        std::string::npos);
  CHECK(achan::grpc::metadata_error(md{{"x-t", "tab\there"}}).find("'x-t'") != std::string::npos);
  CHECK(achan::grpc::metadata_error(md{{"", "v"}}).find("invalid metadata key") !=
        std::string::npos);
}
