#pragma once
/// \file Split-arm policies: the online, label-free choice of the split layer (docs/method.md,
/// "Policies"). A policy sees only the round number, an optional context from exit 1, and what the
/// arms it observed earned (side observations); labels never reach it, by construction.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"
#include "isplitee/policy/action.hpp"

namespace isplitee::policy {

/// What exit 1 said about the current sample, for contextual policies (exit 1 then always runs on
/// the edge before the decision).
struct ExitContext {
  double score = 0;         ///< s_1 under the exit rule
  double entropy_norm = 0;  ///< H(p_1)/ln(C) in [0, 1]
  double margin = 0;        ///< top-1 minus top-2 probability of exit 1
};

/// What a policy sees before choosing: the round (0-based), for oracle policies the reward of
/// every arm on this sample (confidence-only; still no labels), for contextual policies exit 1's
/// context.
struct Round {
  std::uint64_t t = 0;
  const double* oracle_rewards = nullptr;  ///< K values, only for policies with needs_oracle()
  const ExitContext* context = nullptr;    ///< only for policies with needs_context()
};

/// What a policy learns after acting: for the observed arms 0..num_observed-1 (the chosen split and
/// the shallower ones) their reward, cost and quality; valid[j] = 0 marks an arm whose reward was
/// not observed this round (side_info=strict, or a cloud that did not answer). num_observed = 0
/// for a cloud-only or cascade action.
struct Feedback {
  Action action;
  std::size_t num_observed = 0;
  const double* rewards = nullptr;
  const std::uint8_t* valid = nullptr;
  const double* costs = nullptr;         ///< per-sample cost of each observed arm
  const double* quality = nullptr;       ///< s_j if arm j exits, else s_K (the label-free quality)
  const ExitContext* context = nullptr;  ///< the round's context (contextual policies)
};

/// Information given once before a run.
struct RunInfo {
  std::uint64_t horizon = 0;  ///< stream length T (0 = unknown, e.g. an open-ended session)
  const std::vector<double>* hindsight_means =
      nullptr;  ///< mean reward per arm (oracle policies only)
  const std::vector<double>* arm_costs =
      nullptr;  ///< paper-mode edge cost γ_j of each arm and the offload cost o last (K+1 values)
};

/// A change detector's alarm: at round `t` (0-based, the round whose observation fired it) the
/// detector of arm `arm` fired.
struct ChangeAlarm {
  std::uint64_t t = 0;
  Arm arm = 0;
};

/// What a policy reports about its own run beyond its actions, read once after the last round:
/// change alarms (policies with a change detector) and the mean cost it aimed at (budgeted
/// policies). The simulator copies it into the run's metrics for the report.
struct PolicyEvents {
  bool detects_changes = false;     ///< the policy runs a change detector (alarms are meaningful)
  std::vector<ChangeAlarm> alarms;  ///< in round order
  double cost_target = std::numeric_limits<double>::quiet_NaN();  ///< NaN: no cost target
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
  /// The action for this round (a split arm is checked to be < num_arms()).
  Action select(const Round& r) {
    const Action a = do_select(r);
    if (a.is_split() && a.arm() >= num_arms_) bad_arm(a.arm());
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
  /// Whether the policy reads exit 1's context before choosing (Round::context).
  virtual bool needs_context() const noexcept { return false; }
  /// Whether the policy reads Feedback::costs and Feedback::quality (null otherwise: pricing every
  /// side observation costs replay speed that reward-only learners do not need).
  virtual bool needs_costs() const noexcept { return false; }
  /// Alarms and cost target of the run so far (empty for most policies).
  virtual PolicyEvents events() const { return {}; }

 private:
  [[noreturn]] void bad_arm(Arm a) const;
  virtual void do_begin_run(const RunInfo&) {}
  virtual Action do_select(const Round& r) = 0;
  virtual void do_update(const Feedback& f) = 0;
  std::size_t num_arms_;
};

/// One parameter of a policy: a number in [lo, hi] (an integer when `integer`), or, when `choices`
/// is not empty, a string that must be one of them (the default is choices.front()).
struct ParamInfo {
  std::string name;
  double default_value = 0;
  double lo = 0, hi = 0;
  bool integer = false;
  std::string description;
  std::vector<std::string> choices;

  ParamInfo() = default;
  /// A numeric parameter: default, range [lo, hi], whether it is an integer, what it does.
  ParamInfo(std::string name_, double default_value_, double lo_, double hi_, bool integer_ = false,
            std::string description_ = "")
      : name(std::move(name_)),
        default_value(default_value_),
        lo(lo_),
        hi(hi_),
        integer(integer_),
        description(std::move(description_)) {}

  /// A string parameter with the given choices; the first is the default.
  static ParamInfo choice(std::string name, std::vector<std::string> choices,
                          std::string description) {
    ParamInfo p;
    p.name = std::move(name);
    p.choices = std::move(choices);
    p.description = std::move(description);
    return p;
  }
  /// The default as JSON (a number, or the first choice).
  nlohmann::json default_json() const {
    return choices.empty() ? nlohmann::json(default_value) : nlohmann::json(choices.front());
  }
};

/// Builds a policy from its (validated, defaults-filled) params, K and a seed: numbers as JSON
/// numbers, choice parameters as JSON strings.
using Factory = std::function<std::unique_ptr<Policy>(const nlohmann::json& params,
                                                      std::size_t num_arms, std::uint64_t seed)>;

/// What a policy is for.
enum class Role {
  kLearner,    ///< learns online from label-free rewards (I-SplitEE and its relatives)
  kReference,  ///< a fixed rule to compare against (final-exit, cloud-only, random, …)
  kOracle,     ///< uses hindsight from the trace: a bound, not deployable
};
/// "learner" / "reference" / "oracle".
std::string to_string(Role r);

/// A registry entry: name, description, parameters with defaults, factory, and what reports do
/// with the policy. Everything a report or the default run needs to know about a policy is here.
struct PolicyInfo {
  std::string name;
  std::string description;
  std::vector<ParamInfo> params;
  Factory factory;
  Role role = Role::kLearner;
  bool default_run = true;  ///< in the policy list of a config that names none
  bool plotted = true;      ///< drawn in the regret and arm-over-time plots
  bool headline = false;    ///< the policy the headline tables and plots are about
  bool baseline = false;    ///< the reference of cost reduction and accuracy drop (final-exit)
};

/// An explicit list of policies (one add() line per policy).
class PolicyRegistry {
 public:
  /// Adds an entry; throws Error(kUsage) when the name is taken or the entry is incomplete.
  PolicyRegistry& add(PolicyInfo info);
  /// The entry for `name`; throws Error(kUsage) with "did you mean" when unknown.
  const PolicyInfo& at(const std::string& name) const;
  /// The entry or nullptr.
  const PolicyInfo* find(const std::string& name) const noexcept;
  /// All entries in registration order.
  const std::vector<PolicyInfo>& entries() const noexcept { return entries_; }
  /// All names.
  std::vector<std::string> names() const;
  /// The entry with `baseline` set (final-exit); Error(kInternal) when none.
  const PolicyInfo& baseline() const;

 private:
  std::vector<PolicyInfo> entries_;
};

/// The registry every parser, experiment and report uses: the built-in policies (I-SplitEE, its
/// baselines and relatives) plus any added with register_policy().
const PolicyRegistry& builtin_policies();

/// Adds a policy of your own to the registry (call it at start-up, before configs are parsed and
/// before any threads run): it is then parsed, listed, run, reported and plotted like a built-in.
void register_policy(PolicyInfo info);

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
/// The registry entries with default_run set, as specs with default parameters.
std::vector<PolicySpec> default_policy_specs();

}  // namespace isplitee::policy
