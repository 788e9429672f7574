#pragma once
/// \file Split-arm policies: the online, label-free choice of the split layer (METHOD.md §3–4).
/// A policy sees only the round number and the rewards of the arms it observed (side observations);
/// labels never reach it, by construction.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"

namespace isplitee::policy {

/// A split arm, 0-based: arm i runs exits 0..i on the edge; arm K-1 is the whole network on the
/// edge.
using Arm = std::uint32_t;
/// Pseudo-arm of `cloud-only`: the raw input is sent (cost o, prediction of the final exit).
inline constexpr Arm kCloudArm = 0xFFFFFFF0u;
/// Pseudo-arm of `edge-threshold`: exit at the first exit with C_k ≥ α, else the final exit.
inline constexpr Arm kCascadeArm = 0xFFFFFFF1u;

/// What a policy sees before choosing: the round (0-based) and, for oracle policies only, the
/// reward of every arm on this sample (confidence-only; still no labels).
struct Round {
  std::uint64_t t = 0;
  const double* oracle_rewards = nullptr;  ///< K values, only for policies with needs_oracle()
};

/// What a policy learns after acting: rewards of the observed arms 0..num_observed-1 (the chosen
/// arm and the shallower ones, METHOD.md §3); valid[j] = 0 marks an arm skipped (side_info=strict).
struct Feedback {
  Arm arm = 0;
  std::size_t num_observed = 0;
  const double* rewards = nullptr;
  const std::uint8_t* valid = nullptr;
};

/// Information given once before a run.
struct RunInfo {
  std::uint64_t horizon = 0;  ///< stream length T
  const std::vector<double>* hindsight_means =
      nullptr;  ///< mean reward per arm (oracle policies only)
};

/// Base of every policy. The public non-virtual API checks invariants; private hooks do the work.
class Policy {
 public:
  /// A policy over `num_arms` arms (≥ 1).
  explicit Policy(std::size_t num_arms);
  virtual ~Policy() = default;
  Policy(const Policy&) = delete;
  Policy& operator=(const Policy&) = delete;

  /// Called once before round 0.
  void begin_run(const RunInfo& info) { do_begin_run(info); }
  /// The arm for this round (< num_arms(), or kCloudArm / kCascadeArm for those baselines).
  Arm select(const Round& r) {
    const Arm a = do_select(r);
    if (a >= num_arms_ && a != kCloudArm && a != kCascadeArm) bad_arm(a);
    return a;
  }
  /// Learns from this round's observations.
  void update(const Feedback& f) { do_update(f); }
  /// Number of arms K.
  std::size_t num_arms() const noexcept { return num_arms_; }
  /// Registry name.
  virtual std::string_view name() const noexcept = 0;
  /// Whether the policy is an oracle (reads Round::oracle_rewards / RunInfo::hindsight_means).
  virtual bool needs_oracle() const noexcept { return false; }

 private:
  [[noreturn]] void bad_arm(Arm a) const;
  virtual void do_begin_run(const RunInfo&) {}
  virtual Arm do_select(const Round& r) = 0;
  virtual void do_update(const Feedback& f) = 0;
  std::size_t num_arms_;
};

/// One numeric parameter of a policy.
struct ParamInfo {
  std::string name;
  double default_value = 0;
  double lo = 0, hi = 0;
  bool integer = false;
  std::string description;
};

/// Builds a policy from its (validated, defaults-filled) params, K and a seed.
using Factory = std::function<std::unique_ptr<Policy>(const nlohmann::json& params,
                                                      std::size_t num_arms, std::uint64_t seed)>;

/// A registry entry: name, one-line description, parameters with defaults, factory.
struct PolicyInfo {
  std::string name;
  std::string description;
  std::vector<ParamInfo> params;
  bool oracle = false;  ///< uses hindsight (not a deployable policy)
  Factory factory;
};

/// An explicit list of policies (DESIGN.md §5 rule 2).
class PolicyRegistry {
 public:
  /// Adds an entry (names must be unique).
  PolicyRegistry& add(PolicyInfo info);
  /// The entry for `name`; throws Error(kUsage) with "did you mean" when unknown.
  const PolicyInfo& at(const std::string& name) const;
  /// The entry or nullptr.
  const PolicyInfo* find(const std::string& name) const noexcept;
  /// All entries in registration order.
  const std::vector<PolicyInfo>& entries() const noexcept { return entries_; }
  /// All names.
  std::vector<std::string> names() const;

 private:
  std::vector<PolicyInfo> entries_;
};

/// The built-in policies of METHOD.md §3–4.
const PolicyRegistry& builtin_policies();

/// A policy as configured: registry name, display label (defaults to the name) and params.
struct PolicySpec {
  std::string name;
  std::string label;
  nlohmann::json params = nlohmann::json::object();  ///< every parameter, defaults filled
};

/// Parses one entry of "policies": {"name": ..., "label": ..., <params>}; unknown names and params
/// are errors naming the nearest valid one; every param is range-checked.
PolicySpec parse_policy_spec(const config::Node& node);
/// Parses a command-line form "name" or "name:key=value,key=value".
PolicySpec parse_policy_argument(const std::string& text);
/// JSON form (name, label, params flattened), re-parses to the same spec.
nlohmann::json to_json(const PolicySpec& s);
/// Instantiates `spec` for `num_arms` arms; `seed` drives its randomness (if any).
std::unique_ptr<Policy> make_policy(const PolicySpec& spec, std::size_t num_arms,
                                    std::uint64_t seed);

}  // namespace isplitee::policy
