// libFuzzer target for the server side of achan's TLS engine (transport/tls/engine.cpp):
// the bytes a hostile client sends before and after the handshake.
//
// The input is the client's byte stream, fed in chunks whose sizes come from the byte at
// each chunk's start. Invariants (a violation aborts, which libFuzzer reports):
// - handshake() ends in `failed` or `done`, or asks for more input; after `failed` it
//   has a failure text and stays failed;
// - read() never returns more than asked, and returns -1 from then on once it failed;
// - the engine's pending output stays bounded (alerts and handshake messages only).
// A real client handshake (a seed in fuzz/corpus/tls_server) gets the fuzzer past the
// ClientHello parsing quickly; the server certificate is made at start-up.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/support/cert_forge.hpp"
#include "transport/tls/context.hpp"
#include "transport/tls/engine.hpp"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

achan::transport::tls::context_ptr server_context() {
  static achan::transport::tls::context_ptr ctx = [] {
    achan::test::cert_authority ca{"fuzz CA"};
    auto leaf = ca.issue({.cn = "fuzz", .dns = {"localhost"}});
    achan::server_tls t;
    t.cert_chain = achan::pem_source::from_text(leaf.cert_pem);
    t.key = achan::pem_source::from_text(leaf.key_pem);
    auto built = achan::transport::tls::context::server(t);
    check(static_cast<bool>(built), "server context");
    return *built;
  }();
  return ctx;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using achan::transport::tls::engine;
  engine e{server_context(), {}};
  std::string out;
  bool failed = false;
  bool done = false;
  std::uint8_t plain[4096];
  std::size_t at = 0;
  while (at < size) {
    std::size_t chunk = 1 + data[at] % 64;
    if (chunk > size - at)
      chunk = size - at;
    e.feed(data + at, chunk);
    at += chunk;
    if (!done && !failed) {
      auto p = e.handshake();
      failed = p == engine::progress::failed;
      done = p == engine::progress::done;
      check(!failed || !e.failure().empty(), "a failed handshake says why");
    }
    if (done && !failed) {
      long n = e.read(plain, sizeof plain);
      check(n <= static_cast<long>(sizeof plain), "read within the buffer");
      if (n < 0)
        failed = true;
    } else if (failed) {
      check(e.read(plain, sizeof plain) <= 0, "no plaintext after a failure");
    }
    e.take_output(out);
    check(out.size() < 64 * 1024, "bounded output");
    out.clear();
  }
  return 0;
}
