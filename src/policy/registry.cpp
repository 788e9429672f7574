#include <algorithm>
#include <cmath>

#include "builtin.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/policy/policy.hpp"

namespace isplitee::policy {
namespace {

/// The process-wide registry: built-ins first, then whatever register_policy() added.
PolicyRegistry& global_registry() {
  static PolicyRegistry registry = [] {
    PolicyRegistry r;
    add_builtin_policies(r);
    return r;
  }();
  return registry;
}

}  // namespace

std::string to_string(Role r) {
  switch (r) {
    case Role::kReference:
      return "reference";
    case Role::kOracle:
      return "oracle";
    default:
      return "learner";
  }
}

PolicyRegistry& PolicyRegistry::add(PolicyInfo info) {
  ISPLITEE_CHECK(!info.name.empty() && info.factory, "a policy needs a name and a factory");
  ISPLITEE_CHECK(find(info.name) == nullptr, "a policy named '", info.name,
                 "' is already registered");
  ISPLITEE_CHECK(!info.baseline || std::none_of(entries_.begin(), entries_.end(),
                                                [](const PolicyInfo& e) { return e.baseline; }),
                 "policy '", info.name, "': only one policy can be the baseline");
  entries_.push_back(std::move(info));
  return *this;
}

const PolicyInfo& PolicyRegistry::baseline() const {
  for (const auto& e : entries_)
    if (e.baseline) return e;
  fail(ErrorCode::kInternal, "no baseline policy is registered");
}

const PolicyRegistry& builtin_policies() { return global_registry(); }

void register_policy(PolicyInfo info) { global_registry().add(std::move(info)); }

std::vector<PolicySpec> default_policy_specs() {
  std::vector<PolicySpec> out;
  for (const auto& e : builtin_policies().entries())
    if (e.default_run) {
      const auto doc = config::Document::from_json({{"name", e.name}}, "(default policies)");
      out.push_back(parse_policy_spec(config::Node(doc)));
    }
  return out;
}

const PolicyInfo* PolicyRegistry::find(const std::string& name) const noexcept {
  for (const auto& e : entries_)
    if (e.name == name) return &e;
  return nullptr;
}

std::vector<std::string> PolicyRegistry::names() const {
  std::vector<std::string> n;
  for (const auto& e : entries_) n.push_back(e.name);
  return n;
}

const PolicyInfo& PolicyRegistry::at(const std::string& name) const {
  if (const auto* e = find(name)) return *e;
  const auto near = nearest_word(name, names());
  fail(ErrorCode::kUsage, "unknown policy '", name, "'",
       near.empty() ? "" : " (did you mean '" + near + "'?)", "; available: ", join(names(), ", "));
}

PolicySpec parse_policy_spec(const config::Node& node) {
  PolicySpec s;
  s.name = node.string_required("name");
  const auto* info = builtin_policies().find(s.name);
  if (!info) {
    const auto near = nearest_word(s.name, builtin_policies().names());
    node.fail("name", "unknown policy '" + s.name + "'" +
                          (near.empty() ? "" : " (did you mean '" + near + "'?)") +
                          "; available: " + join(builtin_policies().names(), ", "));
  }
  s.label = node.string("label", s.name);
  ISPLITEE_CHECK(!s.label.empty(), node.source(), ": ", node.path_of("label"),
                 ": must not be empty");
  for (const auto& prm : info->params) {
    if (!prm.choices.empty()) {
      s.params[prm.name] = node.choice(prm.name, prm.choices.front(), prm.choices);
    } else if (prm.integer) {
      s.params[prm.name] = static_cast<double>(
          node.integer(prm.name, static_cast<std::int64_t>(prm.default_value),
                       static_cast<std::int64_t>(prm.lo), static_cast<std::int64_t>(prm.hi)));
    } else {
      s.params[prm.name] = node.number(prm.name, prm.default_value, prm.lo, prm.hi);
    }
  }
  node.finish();  // unknown params -> error with "did you mean"
  return s;
}

PolicySpec parse_policy_argument(const std::string& text) {
  nlohmann::json j = nlohmann::json::object();
  const auto colon = text.find(':');
  j["name"] = text.substr(0, colon);
  if (colon != std::string::npos) {
    for (const auto& kv : split(text.substr(colon + 1), ',')) {
      const auto eq = kv.find('=');
      ISPLITEE_CHECK(eq != std::string::npos && eq > 0, "--policy ", text,
                     ": expected NAME:key=value,key=value");
      const auto key = kv.substr(0, eq), val = kv.substr(eq + 1);
      auto parsed = nlohmann::json::parse(val, nullptr, /*allow_exceptions=*/false);
      j[key] = parsed.is_discarded() ? nlohmann::json(val) : parsed;
    }
  }
  const auto doc = config::Document::from_json(j, "--policy " + text);
  return parse_policy_spec(config::Node(doc));
}

nlohmann::json to_json(const PolicySpec& s) {
  nlohmann::json j = s.params;
  j["name"] = s.name;
  j["label"] = s.label;
  return j;
}

std::unique_ptr<Policy> make_policy(const PolicySpec& spec, std::size_t num_arms,
                                    std::uint64_t seed) {
  const auto& info = builtin_policies().at(spec.name);
  nlohmann::json params = nlohmann::json::object();
  for (const auto& prm : info.params)
    params[prm.name] =
        spec.params.contains(prm.name) ? spec.params.at(prm.name) : prm.default_json();
  return info.factory(params, num_arms, seed);
}

}  // namespace isplitee::policy
