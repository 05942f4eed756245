#pragma once
/// One channel to an etcd cluster's members and its auth token: what the etcd resolver
/// and a registration share. Owned by one actor; not thread-safe (the token is read
/// and written by that actor only; channel calls themselves are thread-safe).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include <achan/channel.hpp>
#include <achan/etcd.hpp>

namespace achan::etcd {

class session {
 public:
  /// Dials `members` (round_robin over them, so calls fail over) with `o`'s TLS and
  /// keepalive; never blocks. INVALID_ARGUMENT if the channel cannot be made.
  static result<session> open(caf::actor_system& sys, const std::vector<std::string>& members,
                              const etcd_options& o, std::uint64_t seed);

  achan::channel& channel() noexcept { return *ch_; }
  const etcd_options& options() const noexcept { return opts_; }
  /// "host:port,host:port" (for messages).
  const std::string& members() const noexcept { return members_; }

  /// True when auth is configured and no token is held: authenticate() first.
  bool needs_token() const noexcept { return !opts_.user.empty() && !token_; }
  /// Sends Authenticate; `done` (on an achan thread) gets OK with the token as the
  /// payload, or the error (an empty token is UNAUTHENTICATED).
  void authenticate(std::function<void(call_result&&)> done);
  void set_token(std::string t) { token_ = std::move(t); }
  /// Forgets the token after etcd rejected it (the next attempt authenticates again).
  void drop_token() { token_.reset(); }
  /// Whether `s` is etcd rejecting the token (expired, or auth re-enabled).
  static bool is_token_error(const status& s);

  /// Options for a unary call: the call timeout, fail-fast, the token.
  call_options unary() const;
  /// Options for a long-lived stream: no deadline, fail-fast, the token, and etcd's
  /// "hasleader" requirement (a member that loses its leader ends the stream instead of
  /// going silent).
  call_options stream() const;

  void close() {
    if (ch_)
      ch_->close();
  }

 private:
  std::optional<achan::channel> ch_;
  etcd_options opts_;
  std::string members_;
  std::optional<std::string> token_;
};

/// A callback (for achan's threads) that sends a `Message` to `self` as `Handle`, without
/// keeping the actor alive: after it stopped, late answers are dropped.
template <class Message, class Handle, class Self>
auto to_self(Self* self) {
  caf::weak_actor_ptr weak{self->ctrl()};
  return [weak](Message m) {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<Handle>(strong), std::move(m));
  };
}

/// "etcd (MEMBERS): <status message>" for an error of a call to etcd.
std::string describe(const session& s, const char* what, const status& st);

}  // namespace achan::etcd
