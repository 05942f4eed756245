// toxiproxy's v2 HTTP API over a proxy_set, on cpp-httplib (docs/fault-proxy.md lists the
// routes). Handlers run on httplib's threads; proxy_set hops to its own I/O thread.
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <regex>
#include <stdexcept>
#include <thread>

#include <achan/fault_proxy.hpp>

#include "testkit/fault_proxy/json.hpp"

namespace achan::fault {
namespace {

using njson = nlohmann::json;
namespace fj = achan::fault::json;

int http_status(status_code c) {
  switch (c) {
    case status_code::invalid_argument:
    case status_code::resource_exhausted:
      return 400;
    case status_code::not_found:
      return 404;
    case status_code::already_exists:
      return 409;
    default:
      return 500;
  }
}

void send(httplib::Response& res, int code, const njson& body) {
  res.status = code;
  res.set_content(body.dump() + "\n", "application/json");
}

void fail(httplib::Response& res, int code, const std::string& message,
          njson extra = njson::object()) {
  extra["error"] = message;
  extra["status"] = code;
  send(res, code, extra);
}

void fail(httplib::Response& res, const status& st) {
  fail(res, http_status(st.code), st.message);
}

/// The request body as JSON, or a 400 already written.
std::optional<njson> body(const httplib::Request& req, httplib::Response& res) {
  auto j = njson::parse(req.body, nullptr, false);
  if (j.is_discarded()) {
    fail(res, 400, "bad JSON in the request body");
    return std::nullopt;
  }
  return j;
}

}  // namespace

/// The methods a route path takes ("GET, POST"), or nullptr if no route has that path.
const char* methods_of(const std::string& path) {
  static const std::pair<std::regex, const char*> routes[] = {
      {std::regex{"/version"}, "GET"},
      {std::regex{"/proxies"}, "GET, POST"},
      {std::regex{"/populate"}, "POST"},
      {std::regex{"/reset"}, "POST"},
      {std::regex{"/proxies/[^/]+"}, "GET, POST, PATCH, DELETE"},
      {std::regex{"/proxies/[^/]+/stats"}, "GET"},
      {std::regex{"/proxies/[^/]+/toxics"}, "GET, POST"},
      {std::regex{"/proxies/[^/]+/toxics/[^/]+"}, "GET, POST, PATCH, DELETE"}};
  for (const auto& [pattern, methods] : routes)
    if (std::regex_match(path, pattern))
      return methods;
  return nullptr;
}

struct http_api::impl {
  proxy_set& set;
  httplib::Server server;
  std::uint16_t port = 0;
  std::thread thread;
  std::atomic<bool> listen_returned{false};

  explicit impl(proxy_set& s) : set(s) {}

  void routes() {
    server.set_payload_max_length(1 << 20);
    server.set_pre_routing_handler([](const httplib::Request& req, httplib::Response& res) {
      if (req.get_header_value("User-Agent").rfind("Mozilla/", 0) == 0) {  // toxiproxy's CSRF guard
        fail(res, 403, "requests from browsers are not allowed");
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    server.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (!res.body.empty())
        return;
      if (res.status == 404) {
        if (auto allowed = methods_of(req.path)) {  // a route, another method: as gorilla/mux
          res.set_header("Allow", allowed);
          return fail(res, 405, "method " + req.method + " not allowed on " + req.path);
        }
      }
      fail(res, res.status, res.status == 404 ? "not found" : "request failed");
    });
    server.Get("/version", [](const httplib::Request&, httplib::Response& res) {
      send(res, 200, {{"version", "2.12.0"}, {"server", "achan"}});
    });
    server.Get("/proxies", [this](const httplib::Request&, httplib::Response& res) {
      njson out = njson::object();
      for (auto& p : set.list())
        out[p.config.name] = fj::to_json(p);
      send(res, 200, out);
    });
    server.Post("/proxies", [this](const httplib::Request& req, httplib::Response& res) {
      auto j = body(req, res);
      if (!j)
        return;
      auto c = fj::proxy_from_json(*j);
      if (!c)
        return fail(res, c.error());
      auto p = set.create(*c);
      if (!p)
        return fail(res, p.error());
      send(res, 201, fj::to_json(*p));
    });
    server.Post("/populate", [this](const httplib::Request& req, httplib::Response& res) {
      auto list = fj::proxy_list_from_json(req.body);
      if (!list)
        return fail(res, 400, list.error().message, {{"proxies", njson::array()}});
      std::vector<proxy_config> done;
      njson made = njson::array();
      for (auto& c : *list) {  // one at a time, so a failure reports what was made
        auto r = set.populate({c});
        if (!r)
          return fail(res, http_status(r.error().code), r.error().message, {{"proxies", made}});
        made.push_back(fj::to_json(r->front()));
      }
      send(res, 201, {{"proxies", made}});
    });
    server.Post("/reset", [this](const httplib::Request&, httplib::Response& res) {
      set.reset();
      res.status = 204;
    });
    const char* proxy = R"(/proxies/([^/]+))";
    server.Get(proxy, [this](const httplib::Request& req, httplib::Response& res) {
      auto p = set.get(req.matches[1]);
      p ? send(res, 200, fj::to_json(*p)) : fail(res, p.error());
    });
    auto update = [this](const httplib::Request& req, httplib::Response& res) {
      auto j = body(req, res);
      if (!j)
        return;
      auto u = fj::proxy_update_from_json(*j);
      if (!u)
        return fail(res, u.error());
      auto p = set.update(req.matches[1], *u);
      p ? send(res, 200, fj::to_json(*p)) : fail(res, p.error());
    };
    server.Post(proxy, update);
    server.Patch(proxy, update);
    server.Delete(proxy, [this](const httplib::Request& req, httplib::Response& res) {
      auto r = set.remove(req.matches[1]);
      r ? void(res.status = 204) : fail(res, r.error());
    });
    server.Get(R"(/proxies/([^/]+)/stats)",
               [this](const httplib::Request& req, httplib::Response& res) {
                 auto p = set.get(req.matches[1]);
                 p ? send(res, 200, fj::to_json(p->stats)) : fail(res, p.error());
               });
    const char* toxics = R"(/proxies/([^/]+)/toxics)";
    server.Get(toxics, [this](const httplib::Request& req, httplib::Response& res) {
      auto p = set.get(req.matches[1]);
      if (!p)
        return fail(res, p.error());
      njson out = njson::array();
      for (auto& t : p->toxics)
        out.push_back(fj::to_json(t));
      send(res, 200, out);
    });
    server.Post(toxics, [this](const httplib::Request& req, httplib::Response& res) {
      auto j = body(req, res);
      if (!j)
        return;
      auto t = fj::toxic_from_json(*j);
      if (!t)
        return fail(res, t.error());
      auto r = set.add_toxic(req.matches[1], *t);
      r ? send(res, 200, fj::to_json(*r)) : fail(res, r.error());
    });
    const char* one = R"(/proxies/([^/]+)/toxics/([^/]+))";
    server.Get(one, [this](const httplib::Request& req, httplib::Response& res) {
      auto p = set.get(req.matches[1]);
      if (!p)
        return fail(res, p.error());
      for (auto& t : p->toxics)
        if (t.name == req.matches[2].str())
          return send(res, 200, fj::to_json(t));
      fail(res, 404, "toxic not found");
    });
    auto update_toxic = [this](const httplib::Request& req, httplib::Response& res) {
      auto j = body(req, res);
      if (!j)
        return;
      auto u = fj::toxic_update_from_json(*j);
      if (!u)
        return fail(res, u.error());
      auto r = set.update_toxic(req.matches[1], req.matches[2], *u);
      r ? send(res, 200, fj::to_json(*r)) : fail(res, r.error());
    };
    server.Post(one, update_toxic);
    server.Patch(one, update_toxic);
    server.Delete(one, [this](const httplib::Request& req, httplib::Response& res) {
      auto r = set.remove_toxic(req.matches[1], req.matches[2]);
      r ? void(res.status = 204) : fail(res, r.error());
    });
  }
};

http_api::http_api(proxy_set& set, const std::string& host, std::uint16_t port)
    : impl_(std::make_unique<impl>(set)) {
  impl_->routes();
  int bound = port == 0 ? impl_->server.bind_to_any_port(host.c_str())
                        : (impl_->server.bind_to_port(host.c_str(), port) ? port : -1);
  if (bound <= 0)
    throw std::runtime_error("cannot listen on " + host + ":" + std::to_string(port) +
                             " for the HTTP API");
  impl_->port = static_cast<std::uint16_t>(bound);
  impl_->thread = std::thread([i = impl_.get()] {
    i->server.listen_after_bind();
    i->listen_returned = true;
  });
}

http_api::~http_api() {
  // httplib's stop() does nothing until the listen thread has started listening, so a stop
  // that came first would leave listen_after_bind() blocked for ever: repeat it until the
  // thread has returned (a few ms at most; seen under load as a SIGTERM ignored).
  while (!impl_->listen_returned) {
    impl_->server.stop();
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  }
  impl_->thread.join();
}

std::uint16_t http_api::port() const noexcept {
  return impl_->port;
}

}  // namespace achan::fault
