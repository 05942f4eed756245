#include "core/config/lb_list.hpp"

#include <utility>

namespace achan::sc_json {

lb_config lb_from_list(const node& list, const policy_known_fn& known,
                       const policy_check_fn& check) {
  list.array();
  std::string unknown;
  for (std::size_t i = 0; i < list.v->size(); ++i) {
    auto e = list.at(i);
    if (!e.v->is_object())
      e.must_be("an object naming one policy");
    if (e.v->size() != 1)
      e.fail("must name exactly one policy, not " + std::to_string(e.v->size()) + " in " +
             shown(*e.v));
    auto entry = e.v->begin();
    node cfg{&entry.value(), e.field(entry.key())};
    cfg.object();
    if (!known(entry.key())) {
      unknown += (unknown.empty() ? "'" : ", '") + entry.key() + "'";
      continue;
    }
    lb_config lb{.name = entry.key(), .config = cfg.v->dump()};
    if (check)
      if (auto err = check(lb.name, lb.config, cfg.path); !err.empty())
        throw invalid{std::move(err)};
    if (lb.name == "pick_first")
      if (auto s = cfg.get("shuffleAddressList"))
        lb.shuffle_address_list = s->boolean();
    return lb;
  }
  if (unknown.empty())
    list.fail("names no policy");
  list.fail("names no known policy (saw " + unknown + ")");
}

}  // namespace achan::sc_json
