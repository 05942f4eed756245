#include "transport/dns/ares_service.hpp"

#include <ares.h>
#include <ares_nameser.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>
#include <thread>
#include <vector>

#include "transport/dns/ares_text.hpp"

namespace achan::dns {

namespace {

using steady = std::chrono::steady_clock;

/// One lookup from submission to its callback. Owned by the service thread once taken
/// from the incoming queue. Its A/AAAA query and (with req.txt_name) its TXT query run
/// on one c-ares channel; the lookup ends when both have called back.
struct pending {
  lookup_request req;
  lookup_callback done;
  steady::time_point deadline;
  ares_channel ch = nullptr;
  std::string server_text;  // for messages: "server 127.0.0.1:5353"
  bool addr_done = false;   // c-ares has called back for A/AAAA (or never started)
  bool txt_done = false;    // likewise for TXT (or not asked)
  bool timed_out = false;   // our deadline cancelled it
  lookup_result result;
  bool finished() const { return addr_done && txt_done; }
};

void fail(pending& p, lookup_error e, const std::string& what) {
  p.addr_done = true;
  p.result.addresses.clear();
  p.result.ttl.reset();
  p.result.error = e;
  p.result.message = failure_message(p.req.host, what, p.server_text);
}

void fail_txt(pending& p, lookup_error e, const std::string& what) {
  p.txt_done = true;
  p.result.txt.clear();
  p.result.txt_error = e;
  p.result.txt_message = txt_failure_message(p.req.txt_name, what, p.server_text);
}

/// Both parts failed before any query started (no channel, bad server).
void fail_all(pending& p, lookup_error e, const std::string& what) {
  fail(p, e, what);
  if (!p.txt_done)
    fail_txt(p, e, what);
}

std::string node_text(const ares_addrinfo_node* n) {
  char text[INET6_ADDRSTRLEN] = {};
  if (n->ai_family == AF_INET) {
    auto* sa = reinterpret_cast<const sockaddr_in*>(n->ai_addr);
    inet_ntop(AF_INET, &sa->sin_addr, text, sizeof text);
  } else if (n->ai_family == AF_INET6) {
    auto* sa = reinterpret_cast<const sockaddr_in6*>(n->ai_addr);
    inet_ntop(AF_INET6, &sa->sin6_addr, text, sizeof text);
  }
  return text;
}

/// c-ares's completion; runs inside ares_getaddrinfo / ares_process_fd / ares_cancel /
/// ares_destroy on the service thread. Only records the outcome: the user callback runs
/// later, outside c-ares.
void on_addrinfo(void* arg, int status, int /*timeouts*/, ares_addrinfo* ai) {
  auto& p = *static_cast<pending*>(arg);
  if (status == ARES_SUCCESS && ai != nullptr) {
    p.addr_done = true;
    p.result.addresses.clear();
    for (auto* n = ai->nodes; n != nullptr; n = n->ai_next) {
      auto text = node_text(n);
      if (text.empty())
        continue;
      auto address = format_address(text, p.req.port);
      if (std::find(p.result.addresses.begin(), p.result.addresses.end(), address) ==
          p.result.addresses.end())
        p.result.addresses.push_back(std::move(address));
      auto ttl = std::chrono::seconds(std::max(0, n->ai_ttl));
      if (!p.result.ttl || ttl < *p.result.ttl)
        p.result.ttl = ttl;
    }
    if (p.result.addresses.empty())
      fail(p, lookup_error::no_data, "no A or AAAA records in the answer");
  } else if (status == ARES_SUCCESS) {
    fail(p, lookup_error::no_data, "empty answer");
  } else if (status == ARES_ECANCELLED && p.timed_out) {
    fail(p, lookup_error::timeout,
         "timed out after " + std::to_string(p.req.timeout.count()) + " ms");
  } else {
    auto [kind, what] = classify(status);
    if (kind == lookup_error::timeout)
      what += " after " + std::to_string(p.req.timeout.count()) + " ms";
    fail(p, kind, what);
  }
  if (ai != nullptr)
    ares_freeaddrinfo(ai);
}

/// c-ares's completion of the TXT query, on the service thread like on_addrinfo.
/// NXDOMAIN and NODATA mean "no records", not a failure.
void on_txt(void* arg, int status, int /*timeouts*/, unsigned char* buf, int len) {
  auto& p = *static_cast<pending*>(arg);
  if (status == ARES_ENOTFOUND || status == ARES_ENODATA) {
    p.txt_done = true;
    p.result.txt.clear();
    return;
  }
  if (status == ARES_ECANCELLED && p.timed_out) {
    fail_txt(p, lookup_error::timeout,
             "timed out after " + std::to_string(p.req.timeout.count()) + " ms");
    return;
  }
  if (status != ARES_SUCCESS) {
    auto [kind, what] = classify(status);
    if (kind == lookup_error::timeout)
      what += " after " + std::to_string(p.req.timeout.count()) + " ms";
    fail_txt(p, kind, what);
    return;
  }
  p.txt_done = true;
  p.result.txt.clear();
  if (int rc = parse_txt_answer(buf, len, p.result.txt); rc == ARES_ENODATA)
    p.result.txt.clear();  // an answer without TXT records (a CNAME only, say)
  else if (rc != ARES_SUCCESS)
    fail_txt(p, lookup_error::server_failure, std::string("bad TXT answer: ") + ares_strerror(rc));
}

/// Creates the lookup's channel and starts its queries. On failure `p` is finished.
void start(pending& p) {
  ares_options o{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  // Two tries whose per-try timeouts (t, then 2t with one server) add up to the bound.
  o.timeout = std::max<int>(1, static_cast<int>(p.req.timeout.count() / 3));
  o.tries = 2;
  char dns_only[] = "b";
  if (!p.req.server.empty()) {
    mask |= ARES_OPT_LOOKUPS;  // a chosen server is the only source: skip /etc/hosts
    o.lookups = dns_only;
  }
  if (int rc = ares_init_options(&p.ch, &o, mask); rc != ARES_SUCCESS) {
    p.ch = nullptr;
    p.server_text = p.req.server.empty() ? "system DNS servers" : "server " + p.req.server;
    fail_all(p, lookup_error::other, std::string("cannot start c-ares: ") + ares_strerror(rc));
    return;
  }
  if (!p.req.server.empty()) {
    p.server_text = "server " + p.req.server;
    if (int rc = ares_set_servers_ports_csv(p.ch, p.req.server.c_str()); rc != ARES_SUCCESS) {
      fail_all(p, lookup_error::other, std::string("invalid DNS server: ") + ares_strerror(rc));
      return;
    }
  } else {
    p.server_text = system_servers_text(p.ch);
  }
  // Both queries share the channel, hence its timeouts and the lookup's deadline. Either
  // may call back at once (a malformed name): the other still starts.
  if (!p.req.txt_name.empty())
    ares_search(p.ch, p.req.txt_name.c_str(), C_IN, T_TXT, on_txt, &p);
  ares_addrinfo_hints hints{};
  hints.ai_family = AF_UNSPEC;
  ares_getaddrinfo(p.ch, p.req.host.c_str(), nullptr, &hints, on_addrinfo, &p);
}

/// Ends `p`: releases its channel, then runs the user callback (outside c-ares).
void complete(pending& p) {
  if (p.ch != nullptr) {
    ares_destroy(p.ch);  // calls back with ARES_EDESTRUCTION if still pending
    p.ch = nullptr;
  }
  static const std::string cancelled = "cancelled: the DNS service is shutting down";
  if (!p.addr_done)
    fail(p, lookup_error::cancelled, cancelled);
  if (!p.txt_done)
    fail_txt(p, lookup_error::cancelled, cancelled);
  auto done = std::move(p.done);
  done(std::move(p.result));
}

void init_library_once() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

/// Set on every service's thread: a service destroyed there (by a lookup callback, its
/// own or another service's) must not join, since that thread may be the one joined
/// or the one the joined thread is itself waiting for.
thread_local bool on_service_thread = false;

}  // namespace

struct ares_service::engine {
  // Guards the hand-over from callers' threads to the service thread: transport code,
  // never touched by actors.
  std::mutex mx;
  std::vector<std::unique_ptr<pending>> incoming;
  bool stopping = false;
  std::thread thread;
  int wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);

  // Service thread only.
  std::vector<std::unique_ptr<pending>> active;

  ~engine() {
    if (wake_fd >= 0)
      ::close(wake_fd);
  }

  void wake() const {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
  }

  void run();
  bool step();
};

bool ares_service::engine::step() {
  // Drain the wake-ups before reading what they announce: a request or stop signalled
  // after the drain leaves the eventfd readable, so poll() below returns at once (read
  // after the flags, a wake-up in between was lost and poll() slept up to a c-ares
  // timeout or 60 s with the destructor joining).
  std::uint64_t drained = 0;
  [[maybe_unused]] auto n = ::read(wake_fd, &drained, sizeof drained);
  std::vector<std::unique_ptr<pending>> fresh;
  bool stop = false;
  {
    std::lock_guard<std::mutex> lock(mx);
    fresh.swap(incoming);
    stop = stopping;
  }
  for (auto& p : fresh) {
    if (!stop)
      start(*p);
    active.push_back(std::move(p));
  }
  if (stop) {
    for (auto& p : active)
      complete(*p);
    active.clear();
    return false;
  }
  auto now = steady::now();
  for (auto& p : active) {
    if (!p->finished() && now >= p->deadline) {
      p->timed_out = true;
      ares_cancel(p->ch);  // calls back with ARES_ECANCELLED
    }
  }
  std::erase_if(active, [](const std::unique_ptr<pending>& p) {
    if (!p->finished())
      return false;
    complete(*p);
    return true;
  });

  // Wait for a socket, a c-ares timer, a deadline or a new request.
  std::vector<pollfd> fds{{wake_fd, POLLIN, 0}};
  std::vector<pending*> owner{nullptr};
  auto wait = std::chrono::milliseconds(60'000);
  for (auto& p : active) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    int bits = ares_getsock(p->ch, socks, ARES_GETSOCK_MAXNUM);
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      short events = (ARES_GETSOCK_READABLE(bits, i) ? POLLIN : 0) |
                     (ARES_GETSOCK_WRITABLE(bits, i) ? POLLOUT : 0);
      if (events != 0) {
        fds.push_back({socks[i], events, 0});
        owner.push_back(p.get());
      }
    }
    timeval max{60, 0}, tv{};
    if (auto* t = ares_timeout(p->ch, &max, &tv))
      wait = std::min(wait, std::chrono::milliseconds(t->tv_sec * 1000 + t->tv_usec / 1000 + 1));
    auto left = std::chrono::ceil<std::chrono::milliseconds>(p->deadline - now);
    wait = std::min(wait, std::max(left, std::chrono::milliseconds(0)));
  }
  ::poll(fds.data(), fds.size(), static_cast<int>(wait.count()));

  // Feed c-ares: every ready socket, then a pass for its timers.
  for (std::size_t i = 1; i < fds.size(); ++i) {
    if (fds[i].revents == 0 || owner[i]->finished())
      continue;
    bool readable = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
    bool writable = (fds[i].revents & POLLOUT) != 0;
    ares_process_fd(owner[i]->ch, readable ? fds[i].fd : ARES_SOCKET_BAD,
                    writable ? fds[i].fd : ARES_SOCKET_BAD);
  }
  for (auto& p : active)
    if (!p->finished())
      ares_process_fd(p->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
  return true;
}

void ares_service::engine::run() {
  on_service_thread = true;
  while (step()) {
  }
}

std::shared_ptr<ares_service> ares_service::shared() {
  static std::mutex mx;  // guards `current` (process-wide)
  static std::weak_ptr<ares_service> current;
  std::lock_guard<std::mutex> lock(mx);
  auto svc = current.lock();
  if (!svc) {
    svc = std::make_shared<ares_service>();
    current = svc;
  }
  return svc;
}

ares_service::ares_service() : engine_(std::make_shared<engine>()) {
  init_library_once();
}

ares_service::~ares_service() {
  std::thread t;
  {
    std::lock_guard<std::mutex> lock(engine_->mx);
    engine_->stopping = true;
    t = std::move(engine_->thread);
  }
  engine_->wake();
  if (!t.joinable())
    return;
  if (on_service_thread)
    t.detach();  // the thread holds the engine and ends on its own (see the header)
  else
    t.join();  // one step: pending lookups are cancelled and their callbacks run
}

void ares_service::lookup(const lookup_request& req, lookup_callback done) {
  if (auto local = answer_locally(req.host, req.port)) {
    done(std::move(*local));
    return;
  }
  auto p = std::make_unique<pending>();
  p->req = req;
  p->done = std::move(done);
  p->deadline = steady::now() + req.timeout;
  p->txt_done = req.txt_name.empty();  // nothing to wait for
  {
    std::lock_guard<std::mutex> lock(engine_->mx);
    if (!engine_->stopping) {
      engine_->incoming.push_back(std::move(p));
      if (!engine_->thread.joinable())
        engine_->thread = std::thread([e = engine_] { e->run(); });
    }
  }
  if (p) {  // stopping: not queued
    p->server_text = p->req.server.empty() ? "system DNS servers" : "server " + p->req.server;
    complete(*p);
    return;
  }
  engine_->wake();
}

lookup_fn ares_service::as_function(std::shared_ptr<ares_service> svc) {
  return [svc = std::move(svc)](const lookup_request& req, lookup_callback done) {
    svc->lookup(req, std::move(done));
  };
}

}  // namespace achan::dns
