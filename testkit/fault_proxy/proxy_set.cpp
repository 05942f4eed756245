// proxy_set: the named proxies and the one I/O thread they run on. Public calls hop onto
// that thread and wait, so the proxies themselves are never touched from two threads.
#include <asio/executor_work_guard.hpp>
#include <asio/post.hpp>

#include <future>
#include <thread>

#include "testkit/fault_proxy/address.hpp"
#include "testkit/fault_proxy/proxy.hpp"

namespace achan::fault {

struct proxy_set::impl {
  options opts;
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::map<std::string, std::shared_ptr<detail::proxy>> proxies;
  std::thread thread;

  explicit impl(options o) : opts(std::move(o)) {
    thread = std::thread([this] { io.run(); });
  }

  /// Runs `f` on the I/O thread and returns what it returns.
  template <class F>
  auto run(F f) -> decltype(f()) {
    if (io.get_executor().running_in_this_thread())
      return f();
    auto task = std::make_shared<std::packaged_task<decltype(f())()>>(std::move(f));
    auto done = task->get_future();
    asio::post(io, [task] { (*task)(); });
    return done.get();
  }

  void log(const char* kind, const char* event, const std::string& proxy,
           std::map<std::string, std::string> fields) {
    if (opts.log)
      opts.log(log_event{std::chrono::system_clock::now(), kind, event, proxy, std::move(fields)});
  }

  detail::proxy* find(const std::string& name) {
    auto it = proxies.find(name);
    return it == proxies.end() ? nullptr : it->second.get();
  }

  result<proxy_info> create(proxy_config config) {
    if (config.name.empty())
      return status{status_code::invalid_argument, "missing required field: name"};
    if (config.name.size() > 256)
      return status{status_code::invalid_argument, "proxy name longer than 256 bytes"};
    if (config.upstream.empty())
      return status{status_code::invalid_argument, "missing required field: upstream"};
    if (config.listen.empty())
      config.listen = "127.0.0.1:0";
    for (auto* a : {&config.listen, &config.upstream})
      if (!detail::split_host_port(*a))
        return status{status_code::invalid_argument, "address '" + *a + "' is not host:port"};
    if (proxies.count(config.name))
      return status{status_code::already_exists, "proxy already exists"};
    if (proxies.size() >= opts.max_proxies)
      return status{status_code::resource_exhausted,
                    "there are " + std::to_string(proxies.size()) + " proxies (max_proxies)"};
    auto p = std::make_shared<detail::proxy>(
        io, opts, config, [this](auto kind, auto event, auto& proxy, auto fields) {
          log(kind, event, proxy, std::move(fields));
        });
    if (config.enabled)
      if (auto started = p->start(); !started)
        return started.error();
    proxies.emplace(config.name, p);
    log("proxy", "created", config.name,
        {{"listen", p->info().config.listen}, {"upstream", config.upstream}});
    return p->info();
  }

  result<void> remove(const std::string& name) {
    auto it = proxies.find(name);
    if (it == proxies.end())
      return status{status_code::not_found, "proxy not found"};
    it->second->stop();
    proxies.erase(it);
    log("proxy", "deleted", name, {});
    return {};
  }
};

proxy_set::proxy_set(options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}

proxy_set::~proxy_set() {
  impl_->run([this] {
    for (auto& [name, p] : impl_->proxies)
      p->stop();
    impl_->proxies.clear();
  });
  impl_->work.reset();  // run() returns once the cancelled operations have completed
  impl_->thread.join();
}

const options& proxy_set::settings() const noexcept {
  return impl_->opts;
}

result<proxy_info> proxy_set::create(proxy_config config) {
  return impl_->run([&] { return impl_->create(std::move(config)); });
}

result<std::vector<proxy_info>> proxy_set::populate(std::vector<proxy_config> configs) {
  return impl_->run([&]() -> result<std::vector<proxy_info>> {
    std::vector<proxy_info> out;
    for (auto& c : configs) {
      if (auto* p = impl_->find(c.name)) {
        auto now = p->info().config;
        bool same = (c.listen.empty() || c.listen == now.listen) && c.upstream == now.upstream;
        if (same) {
          proxy_update u;
          u.enabled = c.enabled;
          if (auto r = p->update(u); !r)
            return r.error();
          out.push_back(p->info());
          continue;
        }
        (void)impl_->remove(c.name);
      }
      auto made = impl_->create(c);
      if (!made)
        return made.error();
      out.push_back(std::move(*made));
    }
    return out;
  });
}

result<proxy_info> proxy_set::get(const std::string& name) const {
  return impl_->run([&]() -> result<proxy_info> {
    if (auto* p = impl_->find(name))
      return p->info();
    return status{status_code::not_found, "proxy not found"};
  });
}

std::vector<proxy_info> proxy_set::list() const {
  return impl_->run([&] {
    std::vector<proxy_info> out;
    for (auto& [name, p] : impl_->proxies)
      out.push_back(p->info());
    return out;
  });
}

result<proxy_info> proxy_set::update(const std::string& name, proxy_update change) {
  return impl_->run([&]() -> result<proxy_info> {
    auto* p = impl_->find(name);
    if (!p)
      return status{status_code::not_found, "proxy not found"};
    if (auto r = p->update(change); !r)
      return r.error();
    impl_->log("proxy", "updated", name, {{"listen", p->info().config.listen}});
    return p->info();
  });
}

result<void> proxy_set::remove(const std::string& name) {
  return impl_->run([&] { return impl_->remove(name); });
}

void proxy_set::reset() {
  impl_->run([&] {
    for (auto& [name, p] : impl_->proxies) {
      p->clear_toxics();
      proxy_update u;
      u.enabled = true;
      (void)p->update(u);
    }
  });
}

result<toxic> proxy_set::add_toxic(const std::string& proxy, toxic t) {
  return impl_->run([&]() -> result<toxic> {
    if (auto* p = impl_->find(proxy))
      return p->add_toxic(std::move(t));
    return status{status_code::not_found, "proxy not found"};
  });
}

result<toxic> proxy_set::update_toxic(const std::string& proxy, const std::string& name,
                                      toxic_update change) {
  return impl_->run([&]() -> result<toxic> {
    if (auto* p = impl_->find(proxy))
      return p->update_toxic(name, change);
    return status{status_code::not_found, "proxy not found"};
  });
}

result<void> proxy_set::remove_toxic(const std::string& proxy, const std::string& name) {
  return impl_->run([&]() -> result<void> {
    if (auto* p = impl_->find(proxy))
      return p->remove_toxic(name);
    return status{status_code::not_found, "proxy not found"};
  });
}

}  // namespace achan::fault
