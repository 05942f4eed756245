#include <achan/simulated_transport.hpp>

#include <achan/request_stream.hpp>

#include <algorithm>
#include <atomic>
#include <unordered_map>
#include <vector>

namespace achan::transport {

/// One simulated connection. State lives on the executor; `closed_` is atomic so
/// that close() takes effect for events already posted.
class sim_connection final : public connection,
                             public std::enable_shared_from_this<sim_connection> {
 public:
  enum class phase : std::uint8_t { connecting, ready, draining, closed };

  sim_connection(std::shared_ptr<simulated_transport> owner, std::string address,
                 std::shared_ptr<connection_events> events)
      : owner_(std::move(owner)), address_(std::move(address)), events_(std::move(events)) {}

  const std::string& address() const noexcept override { return address_; }

  void start_call(const call_ptr& c) override {
    owner_->exec_->post({}, [self = shared_from_this(), c] { self->do_start(c); });
  }

  void cancel_call(const call_ptr& c) override {
    owner_->exec_->post({}, [self = shared_from_this(), id = c->id()] {
      self->collected_.erase(id);
      if (self->calls_.erase(id) > 0)
        ++self->owner_->at(self->address_).stats.cancels;
    });
  }

  void close() override {
    closed_.store(true, std::memory_order_release);
    owner_->exec_->post({}, [self = shared_from_this()] {
      self->end({status_code::unavailable, "connection closed"}, false);
    });
  }

  void drain() override {
    closed_.store(true, std::memory_order_release);
    owner_->exec_->post({}, [self = shared_from_this()] {
      if (self->phase_ == phase::ready) {
        --self->owner_->at(self->address_).stats.open;
        self->phase_ = phase::draining;  // its calls still complete (reply checks calls_)
      }
      if (self->phase_ != phase::draining || self->calls_.empty())
        self->end({status_code::unavailable, "connection closed"}, false);
    });
  }

  // --- executor side ---
  void begin() {
    auto& st = owner_->at(address_);
    ++st.stats.connects;
    std::erase_if(st.conns, [](const auto& w) { return w.expired(); });
    st.conns.push_back(weak_from_this());
    auto b = st.behavior;
    if (b.connect == sim_behavior::connect_mode::hang || st.partitioned)
      return;
    owner_->exec_->post(b.connect_delay, [self = shared_from_this(), b] {
      if (self->closed_.load(std::memory_order_acquire) || self->phase_ != phase::connecting ||
          self->owner_->at(self->address_).partitioned)
        return;
      if (b.connect == sim_behavior::connect_mode::refuse) {
        self->phase_ = phase::closed;
        self->events_->on_connect_failed(
            {status_code::unavailable, "connection refused (" + self->address_ + ")"});
        return;
      }
      self->phase_ = phase::ready;
      ++self->owner_->at(self->address_).stats.open;
      self->events_->on_ready();
      if (b.drop_after)
        self->owner_->exec_->post(*b.drop_after, [self] {
          self->end(
              {status_code::unavailable, "connection closed by simulated peer right after READY"},
              true);
        });
    });
  }

  /// Ends the connection: fails its calls; tells the owner when `notify`.
  void end(const status& why, bool notify) {
    if (phase_ == phase::closed)
      return;
    if (phase_ == phase::ready)
      --owner_->at(address_).stats.open;
    phase_ = phase::closed;
    auto calls = std::move(calls_);
    calls_.clear();
    held_.clear();
    stalled_.clear();
    for (auto& [id, c] : calls)
      c->fail(why.code, why.message, address_);
    if (notify && !closed_.load(std::memory_order_acquire))
      events_->on_closed(why);
  }

  bool is_ready() const noexcept { return phase_ == phase::ready; }

  /// GOAWAY: no new calls; the ones carried complete; the owner hears on_closed now.
  void drain(const status& why) {
    if (phase_ != phase::ready)
      return;
    --owner_->at(address_).stats.open;
    phase_ = phase::draining;
    if (!closed_.load(std::memory_order_acquire))
      events_->on_closed(why);
  }

  /// Healed: the replies held back by the partition go out now.
  void release_stalled() {
    auto stalled = std::move(stalled_);
    stalled_.clear();
    for (auto& [c, b] : stalled)
      reply(c, b);
  }

  /// Held streams of `method` still open, oldest first.
  std::vector<call_ptr> held(const std::string& method) const {
    std::vector<call_ptr> out;
    for (const auto& c : held_)
      if (c->method() == method && calls_.count(c->id()) > 0)
        out.push_back(c);
    return out;
  }

  void push(const std::string& method, const std::string& message) {
    for (auto& c : held(method))
      c->deliver(std::string{message});
  }

  void end_held(const std::string& method, const status& why) {
    for (auto& c : held(method))
      if (calls_.erase(c->id()) > 0)
        c->finish(call_result{why, {}, {}, address_});
    std::erase_if(held_, [this](const call_ptr& c) { return calls_.count(c->id()) == 0; });
  }

 private:
  void do_start(const call_ptr& c) {
    if (phase_ != phase::ready) {
      if (!c->reroute || !c->reroute(c))
        c->fail(status_code::unavailable, "connection to " + address_ + " is not ready", address_);
      return;
    }
    auto& st = owner_->at(address_);
    ++st.stats.calls;
    if (c->finished())
      return;
    calls_.emplace(c->id(), c);
    if (c->deadline() != time_point::max()) {
      auto left = c->deadline() - owner_->exec_->now();
      owner_->exec_->post(left > clock_duration::zero() ? left : clock_duration::zero(),
                          [self = shared_from_this(), c] {
                            self->collected_.erase(c->id());
                            if (self->calls_.erase(c->id()) == 0)
                              return;  // answered, cancelled or lost first
                            ++self->owner_->at(self->address_).stats.cancels;
                            c->fail(status_code::deadline_exceeded, "deadline exceeded",
                                    self->address_);
                          });
    }
    if (!st.behavior.answer_calls)
      return;
    if (c->streams_responses() && !c->requests &&
        std::find(st.behavior.held_methods.begin(), st.behavior.held_methods.end(), c->method()) !=
            st.behavior.held_methods.end()) {
      std::erase_if(held_, [this](const call_ptr& h) { return calls_.count(h->id()) == 0; });
      held_.push_back(c);  // the test drives it (simulated_transport::push, end_streams)
      if (st.behavior.held_greeting)
        c->deliver(st.behavior.held_greeting(*c));
      return;
    }
    if (c->requests) {
      // Client/bidi streaming: take each write on the executor (see pump).
      // Weak: the closure lives in the call's own request stream.
      c->requests->on_ready([w = weak_from_this(), wc = std::weak_ptr<call>{c}, b = st.behavior] {
        auto self = w.lock();
        auto c = wc.lock();
        if (self && c)
          self->owner_->exec_->post({}, [self, c, b] { self->pump(c, b); });
      });
      return;
    }
    if (c->streams_responses()) {
      stream_next(c, st.behavior, 0);
      return;
    }
    auto latency = st.behavior.latency_of ? st.behavior.latency_of(*c) : st.behavior.latency;
    owner_->exec_->post(latency,
                        [self = shared_from_this(), c, b = st.behavior] { self->reply(c, b); });
  }

  /// Client/bidi streaming: bidi echoes each request message after `latency`; client
  /// streaming answers the half-close with the concatenated messages. The final status
  /// (`reply`) follows the half-close by `latency`.
  void pump(const call_ptr& c, const sim_behavior& b) {
    if (calls_.find(c->id()) == calls_.end())
      return;
    std::vector<std::string> msgs;
    bool closed = c->requests->take(msgs);
    auto& acc = collected_[c->id()];
    for (auto& m : msgs) {
      if (c->streams_responses())
        owner_->exec_->post(b.latency, [self = shared_from_this(), c, m = std::move(m)]() mutable {
          if (self->calls_.count(c->id()))
            c->deliver(std::move(m));
        });
      else
        acc.text += m;
    }
    if (!closed || acc.half_closed)
      return;
    acc.half_closed = true;
    owner_->exec_->post(b.latency, [self = shared_from_this(), c, b] {
      auto text = std::move(self->collected_[c->id()].text);
      self->collected_.erase(c->id());
      if (self->calls_.erase(c->id()) == 0)
        return;
      c->finish(call_result{b.reply,
                            b.reply.ok() && !c->streams_responses() ? text : std::string{},
                            {},
                            self->address_,
                            b.reply.ok()});
    });
  }

  /// Server streaming: message `i` after one more latency, then the final status.
  void stream_next(const call_ptr& c, const sim_behavior& b, std::size_t i) {
    owner_->exec_->post(b.latency, [self = shared_from_this(), c, b, i] {
      if (self->calls_.find(c->id()) == self->calls_.end())
        return;  // cancelled, expired or lost
      if (i < b.stream_replies) {
        c->deliver(std::string{c->payload()});
        self->stream_next(c, b, i + 1);
        return;
      }
      self->calls_.erase(c->id());
      // Headers went out with the first message (or with an OK answer).
      c->finish(call_result{b.reply, {}, {}, self->address_, b.reply.ok() || b.stream_replies > 0});
    });
  }

  void reply(const call_ptr& c, const sim_behavior& b) {
    if (calls_.count(c->id()) == 0)
      return;  // cancelled or the connection ended first
    if (owner_->at(address_).partitioned) {
      stalled_.emplace_back(c, b);  // sent on heal, if the call is still open then
      return;
    }
    calls_.erase(c->id());
    call_result r;
    if (b.responder) {
      r = b.responder(*c);
    } else {
      r.status = b.reply;
      r.headers_received = b.reply.ok();  // errors are Trailers-Only answers
      if (b.reply.ok())
        r.payload = c->payload();
    }
    r.peer = address_;
    c->finish(std::move(r));
  }

  std::shared_ptr<simulated_transport> owner_;
  std::string address_;
  std::shared_ptr<connection_events> events_;
  std::atomic<bool> closed_{false};
  phase phase_ = phase::connecting;
  std::unordered_map<std::uint64_t, call_ptr> calls_;
  struct collected {
    std::string text;  // client streaming: the request messages so far
    bool half_closed = false;
  };
  std::unordered_map<std::uint64_t, collected> collected_;
  std::vector<call_ptr> held_;  // held streams in start order; open while in calls_
  std::vector<std::pair<call_ptr, sim_behavior>> stalled_;  // replies held by a partition
};

simulated_transport::simulated_transport(executor_ptr ex) : exec_(std::move(ex)) {}

simulated_transport::~simulated_transport() = default;

simulated_transport::address_state& simulated_transport::at(const std::string& address) {
  return addresses_[address];
}

void simulated_transport::set_behavior(const std::string& address, sim_behavior b) {
  exec_->post({}, [self = shared_from_this(), address, b = std::move(b)]() mutable {
    self->at(address).behavior = std::move(b);
  });
}

void simulated_transport::drop(const std::string& address, status why) {
  exec_->post({}, [self = shared_from_this(), address, why] {
    auto conns = self->at(address).conns;
    for (auto& w : conns)
      if (auto c = w.lock(); c && c->is_ready())
        c->end(why, true);
  });
}

void simulated_transport::set_partitioned(const std::string& address, bool on) {
  exec_->post({}, [self = shared_from_this(), address, on] {
    auto& st = self->at(address);
    st.partitioned = on;
    if (on)
      return;
    auto conns = st.conns;
    for (auto& w : conns)
      if (auto c = w.lock())
        c->release_stalled();
  });
}

void simulated_transport::goaway(const std::string& address, status why) {
  exec_->post({}, [self = shared_from_this(), address, why] {
    auto conns = self->at(address).conns;
    for (auto& w : conns)
      if (auto c = w.lock(); c && c->is_ready())
        c->drain(why);
  });
}

void simulated_transport::push(const std::string& address, const std::string& method,
                               std::string message) {
  exec_->post({}, [self = shared_from_this(), address, method, message = std::move(message)] {
    auto conns = self->at(address).conns;
    for (auto& w : conns)
      if (auto c = w.lock(); c && c->is_ready())
        c->push(method, message);
  });
}

void simulated_transport::end_streams(const std::string& address, const std::string& method,
                                      status why) {
  exec_->post({}, [self = shared_from_this(), address, method, why = std::move(why)] {
    auto conns = self->at(address).conns;
    for (auto& w : conns)
      if (auto c = w.lock(); c && c->is_ready())
        c->end_held(method, why);
  });
}

std::vector<std::string> simulated_transport::held(const std::string& address,
                                                   const std::string& method) const {
  std::vector<std::string> out;
  auto i = addresses_.find(address);
  if (i == addresses_.end())
    return out;
  for (const auto& w : i->second.conns)
    if (auto c = w.lock(); c && c->is_ready())
      for (const auto& call : c->held(method))
        out.push_back(call->payload());
  return out;
}

simulated_transport::address_stats simulated_transport::stats(const std::string& address) const {
  auto i = addresses_.find(address);
  return i == addresses_.end() ? address_stats{} : i->second.stats;
}

connection_ptr simulated_transport::connect(const std::string& address,
                                            std::shared_ptr<connection_events> events) {
  auto conn = std::make_shared<sim_connection>(shared_from_this(), address, std::move(events));
  exec_->post({}, [conn] { conn->begin(); });
  return conn;
}

}  // namespace achan::transport
