#include "cli/reflection_client.hpp"

#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <set>

#include "cli/well_known_types.hpp"
#include "core/support/duration_text.hpp"
#include "proto/reflection.pb.h"

namespace achan::cli {
namespace {

namespace pb = google::protobuf;
namespace rpb = grpc::reflection::v1alpha;

/// One request sent and not answered yet (answers come back in request order).
struct asked {
  enum class kind { symbol, file, services } what;
  std::string name;  ///< the symbol or file name
};

/// One ServerReflectionInfo stream and what it has learnt. Responses arrive on the
/// transport's thread, the first requests are written from the caller's; `mx_` orders
/// them (a plain lock in CLI glue code, not control-plane state). Requests are written
/// under it (writing only queues), so the wire order is the order of `asked_`; it is
/// never held while the call is ended or the user's callback runs: cancelling completes
/// the call synchronously, and the completion takes the lock.
class session : public std::enable_shared_from_this<session> {
 public:
  session(reflection_query q, std::function<void(result<reflection_answer>)> done)
      : query_(std::move(q)), done_(std::move(done)) {}

  void start(channel ch, call_options opts) {
    if (opts.timeout)
      timeout_text_ = format_duration(*opts.timeout);
    auto self = shared_from_this();
    auto call = ch.bidi_stream(
        reflection_method, std::move(opts),
        [self](std::string&& m) { self->on_message(std::move(m)); },
        [self](call_result&& r) { self->on_done(std::move(r)); });
    std::unique_lock lk{mx_};
    if (!done_)
      return;  // the call already ended (a closed channel ends it at once)
    stream_ = std::move(call);
    if (query_.list_services) {
      rpb::ServerReflectionRequest req;
      req.set_list_services("");
      ask(req, {asked::kind::services, {}});
    }
    for (const auto& symbol : query_.symbols) {
      rpb::ServerReflectionRequest req;
      req.set_file_containing_symbol(symbol);
      ask(req, {asked::kind::symbol, symbol});
    }
    if (asked_.empty())
      end(lk, std::move(answer_));
  }

 private:
  void on_message(std::string&& bytes) {
    std::unique_lock lk{mx_};
    if (!done_)
      return;
    rpb::ServerReflectionResponse resp;
    if (!resp.ParseFromString(bytes))
      return end(lk, failure{"server reflection sent an unreadable response"});
    if (asked_.empty())
      return end(lk, failure{"server reflection answered more than it was asked"});
    asked q = std::move(asked_.front());
    asked_.pop_front();

    using R = rpb::ServerReflectionResponse;
    switch (resp.message_response_case()) {
      case R::kErrorResponse:
        return end(lk, failure{error_text(q, resp.error_response())});
      case R::kListServicesResponse:
        if (q.what != asked::kind::services)
          return end(lk, failure{"server reflection answered out of order"});
        for (const auto& s : resp.list_services_response().service())
          answer_.services.push_back(s.name());
        break;
      case R::kFileDescriptorResponse:
        if (q.what == asked::kind::services)
          return end(lk, failure{"server reflection answered out of order"});
        if (auto bad = take_files(resp.file_descriptor_response()); !bad.empty())
          return end(lk, failure{bad});
        break;
      default:
        return end(lk, failure{"server reflection sent an empty or unexpected response"});
    }
    if (asked_.empty())
      end(lk, std::move(answer_));
  }

  void on_done(call_result&& r) {
    std::unique_lock lk{mx_};
    if (!done_)
      return;
    const auto& st = r.status;
    switch (st.code) {
      case status_code::ok:
        return end(lk, failure{"server ended the reflection stream before answering"});
      case status_code::unimplemented:
        return end(lk, failure{"server does not support the reflection service; pass --proto"});
      case status_code::deadline_exceeded:
        return end(lk,
                   failure{"server reflection did not finish within " +
                           (timeout_text_.empty() ? std::string("its deadline") : timeout_text_) +
                           "; pass --proto if the server has no reflection service"});
      default:
        return end(lk, failure{"server reflection failed: " + st.to_string()});
    }
  }

  /// Adds the files of one response; asks for their dependencies not seen yet. Returns
  /// an error text, or "" when all is well.
  std::string take_files(const rpb::FileDescriptorResponse& r) {
    const std::size_t first_new = answer_.files.size();
    for (const auto& bytes : r.file_descriptor_proto()) {
      pb::FileDescriptorProto f;
      if (!f.ParseFromString(bytes))
        return "server reflection sent an unreadable file descriptor";
      if (have_.insert(f.name()).second)
        answer_.files.push_back(std::move(f));
    }
    std::vector<std::string> missing;
    for (std::size_t i = first_new; i < answer_.files.size(); ++i)
      for (const auto& dep : answer_.files[i].dependency())
        if (!have_.contains(dep) && !requested_.contains(dep) && !available_locally(dep))
          missing.push_back(dep);
    for (auto& dep : missing) {
      if (!requested_.insert(dep).second)
        continue;
      rpb::ServerReflectionRequest req;
      req.set_file_by_filename(dep);
      ask(req, {asked::kind::file, dep});
    }
    return {};
  }

  static bool available_locally(const std::string& file) {
    pb::FileDescriptorProto unused;
    return well_known_database{}.FindFileByName(file, &unused);
  }

  static std::string error_text(const asked& q, const rpb::ErrorResponse& e) {
    std::string what = q.what == asked::kind::symbol ? "symbol '" + q.name + "'"
                       : q.what == asked::kind::file ? "file '" + q.name + "'"
                                                     : std::string("the service list");
    if (e.error_code() == static_cast<int>(status_code::not_found))
      return what + " not found on the server";
    const int code = e.error_code();
    status st{code > 0 && code <= static_cast<int>(status_code::unauthenticated)
                  ? static_cast<status_code>(code)
                  : status_code::unknown,
              e.error_message()};
    return "server reflection failed for " + what + ": " + st.to_string();
  }

  /// Sends one request (lock held: writing only queues, and the order of asked_ must
  /// be the order on the wire).
  void ask(const rpb::ServerReflectionRequest& req, asked q) {
    asked_.push_back(std::move(q));
    stream_.write(req.SerializeAsString());
  }

  /// Reports `r` once: half-closes the stream after a success, cancels it after a
  /// failure, then runs the user's callback, both with the lock released.
  void end(std::unique_lock<std::mutex>& lk, result<reflection_answer> r) {
    auto done = std::move(done_);
    done_ = nullptr;
    auto stream = std::move(stream_);
    stream_ = {};  // the call's callbacks hold this session: break the cycle
    lk.unlock();
    if (r)
      stream.writes_done();
    else
      stream.cancel();
    done(std::move(r));
  }

  std::mutex mx_;
  reflection_query query_;
  std::function<void(result<reflection_answer>)> done_;  // empty once reported
  std::string timeout_text_;
  stream_call stream_;
  std::deque<asked> asked_;
  std::set<std::string> have_;       // files received
  std::set<std::string> requested_;  // files asked for by name
  reflection_answer answer_;
};

}  // namespace

void start_reflection(channel ch, reflection_query query, call_options opts,
                      std::function<void(result<reflection_answer>)> done) {
  auto s = std::make_shared<session>(std::move(query), std::move(done));
  s->start(std::move(ch), std::move(opts));
}

result<reflection_answer> fetch_reflection(channel ch, reflection_query query,
                                           clock_duration timeout, metadata md) {
  auto promise = std::make_shared<std::promise<result<reflection_answer>>>();
  auto future = promise->get_future();
  call_options opts;
  opts.timeout = timeout;
  opts.md = std::move(md);
  start_reflection(std::move(ch), std::move(query), std::move(opts),
                   [promise](result<reflection_answer> r) { promise->set_value(std::move(r)); });
  // The call's deadline ends the session; the wait is bounded anyway so that a bug
  // below cannot hang the command.
  if (future.wait_for(timeout + std::chrono::seconds(10)) != std::future_status::ready)
    return failure{"server reflection did not finish within " + format_duration(timeout) +
                   "; pass --proto if the server has no reflection service"};
  return future.get();
}

result<proto_catalog> catalog_from_reflection(channel ch, std::vector<std::string> symbols,
                                              clock_duration timeout, metadata md) {
  reflection_query q;
  q.symbols = std::move(symbols);
  q.list_services = false;
  auto answer = fetch_reflection(std::move(ch), std::move(q), timeout, std::move(md));
  if (!answer)
    return failure{answer.error()};
  return proto_catalog::from_descriptors(answer->files, "the server's reflection");
}

}  // namespace achan::cli
