// Final call status from grpc-status / grpc-message / HTTP :status.
#include <doctest/doctest.h>

#include "transport/grpc/status_mapping.hpp"

using namespace achan;
using namespace achan::grpc;
using sc = status_code;

TEST_CASE("status_mapping: HTTP status table follows http-grpc-status-mapping") {
  struct row {
    int http;
    sc code;
  };
  const row rows[] = {
      {400, sc::internal},      {401, sc::unauthenticated}, {403, sc::permission_denied},
      {404, sc::unimplemented}, {429, sc::unavailable},     {502, sc::unavailable},
      {503, sc::unavailable},   {504, sc::unavailable},     {200, sc::unknown},
      {500, sc::unknown},       {301, sc::unknown},         {402, sc::unknown},
      {0, sc::unknown},         {-1, sc::unknown}};
  for (const auto& r : rows) {
    CAPTURE(r.http);
    CHECK(http_to_grpc(r.http) == r.code);
  }
}

TEST_CASE("status_mapping: grpc-status parses 0 to 16 and maps larger numbers to UNKNOWN") {
  for (int i = 0; i <= 16; ++i) {
    CHECK(parse_grpc_status(std::to_string(i)) == static_cast<sc>(i));
  }
  CHECK(parse_grpc_status("014") == sc::unavailable);
  CHECK(parse_grpc_status("17") == sc::unknown);
  CHECK(parse_grpc_status("170") == sc::unknown);
  CHECK(parse_grpc_status("99999999999999999999999") == sc::unknown);
}

TEST_CASE("status_mapping: non-numeric grpc-status is rejected") {
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1.0", "OK", "0x1"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_grpc_status(bad));
  }
}

TEST_CASE("status_mapping: trailers give the code and the percent-decoded message") {
  auto st = status_from_trailers("14", "no%20backend%3A %E2%9C%93", 200);
  CHECK(st.code == sc::unavailable);
  CHECK(st.message == "no backend: \xe2\x9c\x93");
  auto bare = status_from_trailers("5", std::nullopt, 200);
  CHECK(bare.code == sc::not_found);
  CHECK(bare.message.empty());
}

TEST_CASE("status_mapping: OK drops any grpc-message") {
  auto st = status_from_trailers("0", "fine", 200);
  CHECK(st.ok());
  CHECK(st.message.empty());
}

TEST_CASE("status_mapping: missing grpc-status with HTTP 200 is UNKNOWN") {
  auto st = status_from_trailers(std::nullopt, "ignored", 200);
  CHECK(st.code == sc::unknown);
  CHECK(st.message == "server sent no grpc-status");
}

TEST_CASE("status_mapping: malformed grpc-status is INTERNAL") {
  auto st = status_from_trailers("abc", std::nullopt, 200);
  CHECK(st.code == sc::internal);
  CHECK(st.message == "malformed grpc-status 'abc'");
}

TEST_CASE("status_mapping: non-200 HTTP status wins over grpc-status") {
  auto st = status_from_trailers(std::nullopt, std::nullopt, 503);
  CHECK(st.code == sc::unavailable);
  CHECK(st.message == "HTTP status 503");
  auto with_status = status_from_trailers("0", "ok?", 404);
  CHECK(with_status.code == sc::unimplemented);
  CHECK(with_status.message == "HTTP status 404");
  CHECK(status_from_trailers("0", std::nullopt, 500).code == sc::unknown);
}
