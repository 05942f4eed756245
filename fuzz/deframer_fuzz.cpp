// libFuzzer target for achan::grpc::deframer, the first code that touches bytes a server sends.
//
// The whole input is the gRPC byte stream; it is fed in chunks whose sizes are derived from the
// byte at the chunk's start, so the fuzzer controls both the stream and how it is split.
// Invariants checked (any violation aborts, which libFuzzer reports as a crash):
// - chunking does not matter: the same messages and the same final status as one whole feed;
// - every message fits the limit, and messages plus their 5-byte headers fit in the input;
// - after an error every further feed() and finish() returns that same error.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "transport/grpc/framing.hpp"

namespace {

/// Small, so that short inputs (libFuzzer starts with short ones) can reach and pass the limit.
constexpr std::size_t max_size = 100;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "invariant violated: %s\n", what);
    std::abort();
  }
}

bool same(const achan::status& a, const achan::status& b) {
  return a.code == b.code && a.message == b.message;
}

struct outcome {
  std::vector<std::string> messages;
  achan::status final_status;
};

void drain(achan::grpc::deframer& d, outcome& out) {
  std::string m;
  while (d.next(m)) {
    check(m.size() <= max_size, "message over the limit was delivered");
    out.messages.push_back(std::move(m));
  }
}

/// Encoding depends on the first byte so the compressed-flag paths are all reachable.
void configure(achan::grpc::deframer& d, const std::uint8_t* data, std::size_t size) {
  if (size > 0 && (data[0] & 0x02)) {
    d.set_encoding((data[0] & 0x04) ? "gzip" : "identity");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  outcome chunked;
  achan::grpc::deframer d(max_size);
  configure(d, data, size);
  achan::status first_error;
  for (std::size_t at = 0; at < size;) {
    const std::uint8_t b = data[at];
    std::size_t n = (b & 0x40) ? size - at : 1 + (b % 16);
    if (n > size - at) {
      n = size - at;
    }
    auto st = d.feed(data + at, n);
    if (!first_error.ok()) {
      check(same(st, first_error), "feed after an error returned a different status");
    } else if (!st.ok()) {
      first_error = st;
    }
    check(d.failed() == !first_error.ok(), "failed() disagrees with feed()");
    at += n;
    if (b & 0x20) {
      drain(d, chunked);
    }
  }
  drain(d, chunked);
  chunked.final_status = d.finish();
  if (!first_error.ok()) {
    check(same(chunked.final_status, first_error), "finish after an error changed the status");
    check(same(d.feed(data, size), first_error), "feed after finish changed the error");
  }
  check(same(d.finish(), chunked.final_status), "finish is not idempotent");

  std::size_t total = 0;
  for (const auto& m : chunked.messages) {
    total += m.size() + achan::grpc::frame_header_size;
  }
  check(total <= size, "popped more bytes than were fed");

  outcome whole;
  achan::grpc::deframer w(max_size);
  configure(w, data, size);
  w.feed(data, size);
  drain(w, whole);
  whole.final_status = w.finish();
  check(whole.messages == chunked.messages, "chunking changed the messages");
  check(same(whole.final_status, chunked.final_status), "chunking changed the final status");

  // Re-framing the messages must reproduce the consumed prefix of the input byte for byte.
  std::string reframed;
  for (const auto& m : chunked.messages) {
    achan::grpc::append_frame(reframed, m);
  }
  check(reframed.compare(0, reframed.size(), reinterpret_cast<const char*>(data),
                         reframed.size()) == 0,
        "re-framed messages differ from the input");
  return 0;
}
