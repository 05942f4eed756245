#pragma once
/// A dns::lookup_fn that records lookups and lets the test answer them, for the dns:
/// resolver in virtual time. Test thread only; run the actor system after answering
/// (the answer reaches the resolver as a message).
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "transport/dns/lookup.hpp"

namespace achan::test {

/// Records every lookup; the test answers them (by default the latest). The records are
/// shared with the injected function, so a resolver outliving the fake stays safe.
class fake_lookup {
 public:
  /// The lookup function to inject.
  dns::lookup_fn fn() {
    return [log = log_](const dns::lookup_request& r, dns::lookup_callback done) {
      log->requests.push_back(r);
      log->callbacks.push_back(std::move(done));
    };
  }
  /// Every request so far, in order.
  const std::vector<dns::lookup_request>& requests() const { return log_->requests; }
  /// Lookups started so far.
  std::size_t count() const { return log_->requests.size(); }
  /// Answers lookup `i` (default: the latest).
  void answer(std::vector<std::string> addresses, std::optional<std::chrono::seconds> ttl = {},
              std::optional<std::size_t> i = {}) {
    dns::lookup_result r;
    r.addresses = std::move(addresses);
    r.ttl = ttl;
    reply(std::move(r), i);
  }
  /// Answers lookup `i` (default: the latest) with `addresses` and the TXT records
  /// `txt` (one string per record).
  void answer_txt(std::vector<std::string> addresses, std::vector<std::string> txt,
                  std::optional<std::size_t> i = {}) {
    dns::lookup_result r;
    r.addresses = std::move(addresses);
    r.txt = std::move(txt);
    reply(std::move(r), i);
  }
  /// Answers lookup `i` (default: the latest) with `addresses`, its TXT part failed as
  /// a timeout with `message`.
  void answer_txt_failed(std::vector<std::string> addresses, std::string message,
                         std::optional<std::size_t> i = {}) {
    dns::lookup_result r;
    r.addresses = std::move(addresses);
    r.txt_error = dns::lookup_error::timeout;
    r.txt_message = std::move(message);
    reply(std::move(r), i);
  }
  /// Fails lookup `i` (default: the latest) as NXDOMAIN with `message`.
  void fail(std::string message, std::optional<std::size_t> i = {}) {
    dns::lookup_result r;
    r.error = dns::lookup_error::not_found;
    r.message = std::move(message);
    reply(std::move(r), i);
  }
  /// Delivers `r` to lookup `i` (default: the latest).
  void reply(dns::lookup_result r, std::optional<std::size_t> i) {
    REQUIRE(!log_->callbacks.empty());
    log_->callbacks.at(i.value_or(log_->callbacks.size() - 1))(std::move(r));
  }

 private:
  struct log {
    std::vector<dns::lookup_request> requests;
    std::vector<dns::lookup_callback> callbacks;
  };
  std::shared_ptr<log> log_ = std::make_shared<log>();
};

}  // namespace achan::test
