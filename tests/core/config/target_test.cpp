#include <achan/target.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace achan;

namespace {

// The schemes a default channel registers.
bool registered(std::string_view scheme) {
  for (auto s : {"dns", "ipv4", "ipv6", "unix", "unix-abstract", "passthrough", "manual"})
    if (scheme == s)
      return true;
  return false;
}

struct parse_case {
  std::string text;
  std::string scheme, authority, endpoint;  // all empty: an error is expected
};

}  // namespace

TEST_CASE("target: valid and invalid forms parse as grpc-go does") {
  std::vector<parse_case> cases = {
      {"dns:///foo:50051", "dns", "", "foo:50051"},
      {"dns://8.8.8.8:53/foo", "dns", "8.8.8.8:53", "foo"},
      {"dns://8.8.8.8:53/foo:443", "dns", "8.8.8.8:53", "foo:443"},
      {"dns:foo", "dns", "", "foo"},
      {"dns:foo:80", "dns", "", "foo:80"},
      {"DNS:///foo", "dns", "", "foo"},
      {"Dns://AUTH/Foo", "dns", "AUTH", "Foo"},
      {"passthrough:///x", "passthrough", "", "x"},
      {"passthrough:x", "passthrough", "", "x"},
      {"manual:///svc", "manual", "", "svc"},
      {"ipv4:1.2.3.4,5.6.7.8:80", "ipv4", "", "1.2.3.4,5.6.7.8:80"},
      {"ipv6:[::1]:80,[::2]", "ipv6", "", "[::1]:80,[::2]"},
      {"ipv6:::1", "ipv6", "", "::1"},
      {"unix:///a/b", "unix", "", "a/b"},
      {"unix:/a/b", "unix", "", "/a/b"},
      {"unix:rel/p", "unix", "", "rel/p"},
      {"unix://host", "unix", "host", ""},  // parse_unix rejects it
      {"dns:", "dns", "", ""},              // the dns resolver rejects it
      // Fallbacks to the default scheme: whole text is the endpoint.
      {"localhost:50051", "dns", "", "localhost:50051"},
      {"localhost", "dns", "", "localhost"},
      {"127.0.0.1:1", "dns", "", "127.0.0.1:1"},
      {"[::1]:443", "dns", "", "[::1]:443"},
      {"::1", "dns", "", "::1"},
      {"foo:bar", "dns", "", "foo:bar"},
      {"foo://bar", "dns", "", "foo://bar"},
      {"a_b:1", "dns", "", "a_b:1"},
      {"1abc:2", "dns", "", "1abc:2"},
      {"a/b:c", "dns", "", "a/b:c"},
      // Errors.
      {"", "", "", ""},
      {"dns://host-without-slash", "", "", ""},
      {"dns://", "", "", ""},
      {"passthrough://8.8.8.8:53", "", "", ""},
  };
  for (const auto& c : cases) {
    INFO("target: '" << c.text << "'");
    auto r = parse_target(c.text, registered);
    if (c.scheme.empty()) {
      CHECK_FALSE(r.ok());
      CHECK_FALSE(r.ok());
      continue;
    }
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(r.ok());
    CHECK(r->scheme == c.scheme);
    CHECK(r->authority == c.authority);
    CHECK(r->endpoint == c.endpoint);
    CHECK(r->original == c.text);
  }
}

TEST_CASE("target: unregistered scheme and empty registry fall back to the default scheme") {
  auto none = parse_target("dns:///foo", nullptr);
  REQUIRE(none.ok());
  CHECK(none->scheme == "dns");
  CHECK(none->endpoint == "dns:///foo");

  auto custom = parse_target("foo:bar", registered, "passthrough");
  REQUIRE(custom.ok());
  CHECK(custom->scheme == "passthrough");
  CHECK(custom->endpoint == "foo:bar");

  std::string asked;
  parse_target("MyScheme:x", [&](std::string_view s) {
    asked = std::string(s);
    return false;
  });
  CHECK(asked == "myscheme");
}

TEST_CASE("target: error messages name the problem") {
  auto r = parse_target("dns://host-without-slash", registered);
  CHECK(r.error().message.find("host-without-slash") != std::string::npos);
  CHECK(parse_target("", registered).error().message == "empty target");
  CHECK(split_host_port("127.0.0.1:x", 443).error().message == "invalid port 'x' in '127.0.0.1:x'");
}

TEST_CASE("target: split_host_port table") {
  struct hp_case {
    std::string text;
    std::string host;  // empty: an error is expected
    std::uint16_t port;
  };
  std::vector<hp_case> cases = {
      {"host:80", "host", 80},
      {"1.2.3.4:65535", "1.2.3.4", 65535},
      {"host", "host", 443},
      {"[::1]:80", "::1", 80},
      {"[::1]", "::1", 443},
      {"::1", "::1", 443},
      {"fe80::1:2", "fe80::1:2", 443},
      {"host:0080", "host", 80},
      {"", "", 0},
      {":80", "", 0},
      {"[]:80", "", 0},
      {"host:", "", 0},
      {"host:x", "", 0},
      {"host:0", "", 0},
      {"host:65536", "", 0},
      {"host:99999", "", 0},
      {"host:123456", "", 0},
      {"host:-1", "", 0},
      {"host:+80", "", 0},
      {"host: 80", "", 0},
      {"[::1", "", 0},
      {"[::1]x", "", 0},
      {"[::1]:", "", 0},
      {"[::1]:80x", "", 0},
  };
  for (const auto& c : cases) {
    INFO("text: '" << c.text << "'");
    auto r = split_host_port(c.text, 443);
    if (c.host.empty()) {
      CHECK_FALSE(r.ok());
      CHECK_FALSE(r.ok());
      continue;
    }
    REQUIRE_MESSAGE(r.ok(), r.error().message);
    CHECK(r->host == c.host);
    CHECK(r->port == c.port);
  }
}

TEST_CASE("target: join_host_port brackets IPv6 hosts") {
  CHECK(join_host_port("1.2.3.4", 80) == "1.2.3.4:80");
  CHECK(join_host_port("example.com", 443) == "example.com:443");
  CHECK(join_host_port("::1", 80) == "[::1]:80");
}

TEST_CASE("target: ipv4 and ipv6 address lists") {
  struct list_case {
    std::string text;
    std::vector<std::string> addresses;  // empty: an error is expected
  };
  std::vector<list_case> cases = {
      {"ipv4:1.2.3.4", {"1.2.3.4:443"}},
      {"ipv4:1.2.3.4:80", {"1.2.3.4:80"}},
      {"ipv4:1.2.3.4:80,5.6.7.8", {"1.2.3.4:80", "5.6.7.8:443"}},
      {"ipv4:///1.2.3.4:80", {"1.2.3.4:80"}},
      {"ipv6:[::1]:80,[::2]", {"[::1]:80", "[::2]:443"}},
      {"ipv6:::1", {"[::1]:443"}},
      {"ipv6:[2001:DB8:0:0::1]:50051", {"[2001:db8::1]:50051"}},
      {"ipv4:1.2.3:80", {}},
      {"ipv4:1.2.3.4:99999", {}},
      {"ipv4:", {}},
      {"ipv4:1.2.3.4,", {}},
      {"ipv4:1.2.3.4,,5.6.7.8", {}},
      {"ipv4:[::1]:80", {}},
      {"ipv4:localhost:80", {}},
      {"ipv6:1.2.3.4:80", {}},
      {"ipv6:[::1", {}},
      {"ipv6:[::g]:80", {}},
  };
  for (const auto& c : cases) {
    INFO("target: '" << c.text << "'");
    auto t = parse_target(c.text, registered);
    REQUIRE_MESSAGE(t.ok(), t.error().message);
    auto r = parse_ip_list(t->endpoint, t->scheme == "ipv6");
    if (c.addresses.empty()) {
      CHECK_FALSE(r.ok());
      continue;
    }
    REQUIRE(r.ok());
    CHECK(*r == c.addresses);
  }
}

TEST_CASE("target: ipv4 list errors name the bad element") {
  CHECK(parse_ip_list("1.2.3.4,1.2.3:80", false).error().message.find("'1.2.3:80'") !=
        std::string::npos);
  CHECK(parse_ip_list("1.2.3.4:99999", false).error().message.find("99999") != std::string::npos);
}

TEST_CASE("target: unix forms and errors") {
  struct unix_case {
    std::string text;
    std::string address;  // empty: an error is expected (from parse_target or parse_unix)
  };
  std::vector<unix_case> cases = {
      {"unix:///a/b", "unix:/a/b"},
      {"unix:/a/b", "unix:/a/b"},
      {"unix:rel/p", "unix:rel/p"},
      {"UNIX:///a/b", "unix:/a/b"},
      {"unix-abstract:name", "unix-abstract:name"},
      {"unix-abstract:///name", "unix-abstract:/name"},
      {"unix://host/a/b", ""},
      {"unix://host", ""},
      {"unix://", ""},
      {"unix:///", ""},
      {"unix:", ""},
      {"unix-abstract:", ""},
      {"unix-abstract://host/x", ""},
  };
  for (const auto& c : cases) {
    INFO("target: '" << c.text << "'");
    auto t = parse_target(c.text, registered);
    if (!t.ok()) {
      CHECK(c.address.empty());
      continue;
    }
    auto r = parse_unix(*t);
    if (c.address.empty()) {
      CHECK_FALSE(r.ok());
      continue;
    }
    REQUIRE(r.ok());
    CHECK(*r == std::vector<std::string>{c.address});
  }
  auto dns = parse_target("dns:///x", registered);
  REQUIRE(dns.ok());
  CHECK_FALSE(parse_unix(*dns).ok());
}
