#include <achan/request_stream.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using achan::transport::request_stream;

namespace {
/// Records each message's `sent` outcome by name.
struct outcomes {
  std::vector<std::string> seen;
  request_stream::sent_fn fn(std::string name) {
    return [this, name](bool ok) { seen.push_back(name + (ok ? ":sent" : ":dropped")); };
  }
};
}  // namespace

TEST_CASE("request_stream counts written bytes until the transport settles them") {
  request_stream rs;
  outcomes o;
  CHECK(rs.write("abc", o.fn("a")));
  CHECK(rs.write("defgh", o.fn("b")));
  CHECK(rs.write("ij"));  // no callback
  CHECK(rs.buffered() == 10);
  std::string out;
  std::vector<request_stream::taken> taken;
  CHECK_FALSE(rs.take_framed(out, taken));
  REQUIRE(taken.size() == 3);
  CHECK(out.size() == 3 * 5 + 10);
  CHECK(taken[0].end == 8);  // 5-byte prefix + "abc"
  CHECK(taken[1].end == 18);
  CHECK(taken[2].end == 25);
  CHECK(rs.buffered() == 10);  // taken is not yet handed on
  rs.settle(std::move(taken[0]), true);
  CHECK(rs.buffered() == 7);
  CHECK(o.seen == std::vector<std::string>{"a:sent"});
  rs.settle(std::move(taken[1]), false);
  rs.settle(std::move(taken[2]), true);
  CHECK(rs.buffered() == 0);
  CHECK(o.seen == std::vector<std::string>{"a:sent", "b:dropped"});
}

TEST_CASE("request_stream abandon drops the queue with false and zeroes buffered") {
  request_stream rs;
  outcomes o;
  rs.write("taken", o.fn("t"));
  std::string out;
  std::vector<request_stream::taken> taken;
  rs.take_framed(out, taken);
  rs.write("queued", o.fn("q"));
  rs.abandon();
  CHECK(o.seen == std::vector<std::string>{"q:dropped"});
  CHECK(rs.buffered() == 0);
  CHECK(rs.closed());
  CHECK_FALSE(rs.write("after", o.fn("x")));  // refused: its callback never runs
  rs.settle(std::move(taken[0]), false);      // the transport's drop, after the end
  CHECK(rs.buffered() == 0);
  CHECK(o.seen == std::vector<std::string>{"q:dropped", "t:dropped"});
  rs.abandon();  // idempotent
  CHECK(o.seen.size() == 2);
}

TEST_CASE("request_stream take hands messages on at once") {
  request_stream rs;
  outcomes o;
  rs.write("one", o.fn("1"));
  rs.write("two", o.fn("2"));
  rs.close();
  std::vector<std::string> msgs;
  CHECK(rs.take(msgs));
  CHECK(msgs == std::vector<std::string>{"one", "two"});
  CHECK(o.seen == std::vector<std::string>{"1:sent", "2:sent"});
  CHECK(rs.buffered() == 0);
}
