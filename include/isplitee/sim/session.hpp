#pragma once
/// \file OnlineSession: the one implementation of a decision's rules. It holds a policy, the cost
/// model, the exit rule and the side-information mode; decide() returns the Action for the next
/// sample, observe() takes what the edge (and the cloud, when consulted) computed for it, prices
/// the played arm and the side observations, updates the policy and keeps running totals.
/// Trace replay, live edge/cloud runs and a researcher's own program all decide through it.
///
///   OnlineSession s(policy::make_policy(spec, K, seed), cost::CostModel(cost_cfg, depths));
///   for (each sample) {
///     const Action a = s.decide();
///     Outcome o = my_environment.act(sample, a, s.exit_rule());
///     s.observe(o);
///   }

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "isplitee/cost/cost_model.hpp"
#include "isplitee/cost/exit_rule.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/sim/environment.hpp"

namespace isplitee::sim {

/// What a trace replay knows beyond the outcome (absent in live runs and in user code): the full
/// score row of the sample and the reward every arm would have earned on it.
struct OracleView {
  const float* scores = nullptr;    ///< K scores
  const double* rewards = nullptr;  ///< K rewards (from CostModel::oracle_rewards)
};

/// The priced result of one observed sample.
struct StepResult {
  Action action;
  double reward = 0;  ///< label-free reward of the played action
  double cost = 0;    ///< per-sample cost of the played action
  bool exited = false, offloaded = false, fallback = false;
  std::size_t exit_used = 0;  ///< 0-based exit whose prediction was used
  std::int32_t prediction = 0;
  std::size_t arm_bin = 0;  ///< 0..K-1 for the split (or cascade exit) used, K for cloud-only
};

/// Running totals of a session (label-free).
struct SessionTotals {
  std::uint64_t steps = 0;
  double reward = 0, cost = 0;
  std::uint64_t exited = 0, offloaded = 0, fallbacks = 0;
  std::vector<std::uint64_t> arm_count;   ///< K+1: arms 1..K, then cloud-only
  std::vector<std::uint64_t> exit_count;  ///< K: exit that produced the prediction
};

/// One policy deciding online under one cost model and exit rule.
class OnlineSession {
 public:
  /// Owns `policy`; `cm` carries the cost constants, the exit rule and the side-information mode;
  /// `info` is passed to the policy's begin_run (horizon, hindsight for oracle policies).
  OnlineSession(std::unique_ptr<policy::Policy> policy, cost::CostModel cm,
                const policy::RunInfo& info = {});
  /// As above for a policy owned elsewhere (it must outlive the session).
  OnlineSession(policy::Policy& policy, cost::CostModel cm, const policy::RunInfo& info = {});

  /// The action for the next sample. `context` is exit 1's context (required when
  /// policy().needs_context()); `oracle` only for oracle policies. Several decisions may be taken
  /// before their outcomes are observed (a batch); observe() takes them in the same order.
  Action decide(const policy::ExitContext* context = nullptr, const OracleView& oracle = {});
  /// Prices the outcome of the oldest pending decision, updates the policy with the played arm and
  /// its side observations (each arm ≤ the played split at most once), and adds to the totals.
  /// Throws Error(kUsage) when no decision is pending or the outcome is for another action.
  StepResult observe(const Outcome& outcome, const OracleView& oracle = {});

  /// The exit rule environments must apply (same criterion and α as the cost section).
  const cost::ExitRule& exit_rule() const noexcept { return rule_; }
  /// The cost model.
  const cost::CostModel& cost_model() const noexcept { return cm_; }
  /// The policy.
  policy::Policy& policy() noexcept { return *policy_; }
  /// Totals so far.
  const SessionTotals& totals() const noexcept { return totals_; }
  /// Decisions taken but not yet observed.
  std::size_t pending() const noexcept { return count_; }

 private:
  void start(const policy::RunInfo& info);
  /// Fills the feedback arrays for a split arm `arm` and returns the played arm's reward.
  double side_observations(const Outcome& o, std::size_t arm, const OracleView& oracle,
                           double* played_cost);
  /// The same under cost.mode = measured: every arm is charged what the edge measured.
  double measured_observations(const Outcome& o, std::size_t arm, double* played_cost);

  std::unique_ptr<policy::Policy> owned_;
  policy::Policy* policy_;
  cost::CostModel cm_;
  cost::ExitRule rule_;
  std::uint64_t t_ = 0;
  /// Decisions awaiting their outcome, oldest first (a ring: no allocation per sample).
  struct Pending {
    Action action;
    policy::ExitContext context;
  };
  std::vector<Pending> ring_;
  std::size_t head_ = 0, count_ = 0;
  bool needs_context_ = false, needs_oracle_ = false, needs_costs_ = false;
  std::vector<double> fb_reward_, fb_cost_, fb_quality_;
  std::vector<std::uint8_t> fb_valid_;
  SessionTotals totals_;
};

}  // namespace isplitee::sim
