#include "isplitee/sim/session.hpp"

#include "isplitee/common/error.hpp"

namespace isplitee::sim {

OnlineSession::OnlineSession(std::unique_ptr<policy::Policy> policy, cost::CostModel cm,
                             const policy::RunInfo& info)
    : owned_(std::move(policy)),
      policy_(owned_.get()),
      cm_(std::move(cm)),
      rule_(cost::exit_rule_of(cm_.config())) {
  ISPLITEE_CHECK(policy_ != nullptr, "OnlineSession: no policy given");
  start(info);
}

OnlineSession::OnlineSession(policy::Policy& policy, cost::CostModel cm,
                             const policy::RunInfo& info)
    : policy_(&policy), cm_(std::move(cm)), rule_(cost::exit_rule_of(cm_.config())) {
  start(info);
}

void OnlineSession::start(const policy::RunInfo& info) {
  const std::size_t k = cm_.num_arms();
  ISPLITEE_CHECK(policy_->num_arms() == k, "policy '", policy_->name(), "' is built for ",
                 policy_->num_arms(), " arms, the cost model has ", k, " exits");
  ISPLITEE_CHECK(!policy_->needs_oracle() || info.hindsight_means != nullptr, "policy '",
                 policy_->name(),
                 "' is an oracle: it needs hindsight from a stored trace (a trace replay)");
  needs_context_ = policy_->needs_context();
  needs_oracle_ = policy_->needs_oracle();
  needs_costs_ = policy_->needs_costs();
  ring_.resize(4);  // a power of two: positions wrap with a mask
  fb_reward_.assign(k, 0.0);
  fb_cost_.assign(k, 0.0);
  fb_quality_.assign(k, 0.0);
  fb_valid_.assign(k, 0);
  totals_.arm_count.assign(k + 1, 0);
  totals_.exit_count.assign(k, 0);
  policy::RunInfo i = info;
  std::vector<double> prices;
  for (std::size_t j = 0; j < k; ++j) prices.push_back(cm_.edge_cost(j));
  prices.push_back(cm_.config().offload);
  if (!i.arm_costs) i.arm_costs = &prices;  // read during begin_run only
  policy_->begin_run(i);
}

Action OnlineSession::decide(const policy::ExitContext* context, const OracleView& oracle) {
  const bool ctx = needs_context_;
  ISPLITEE_CHECK(!ctx || context != nullptr, "policy '", policy_->name(),
                 "' reads exit 1's context: pass it to decide() (the environment's exit_context)");
  ISPLITEE_CHECK(!needs_oracle_ || oracle.rewards != nullptr, "policy '", policy_->name(),
                 "' is an oracle: decide() needs the sample's oracle rewards");
  const Action a = policy_->select({t_ + count_, oracle.rewards, context});
  if (count_ == ring_.size()) {  // grow, keeping the order
    std::vector<Pending> bigger(2 * ring_.size());
    for (std::size_t i = 0; i < count_; ++i) bigger[i] = ring_[(head_ + i) & (ring_.size() - 1)];
    ring_.swap(bigger);
    head_ = 0;
  }
  auto& slot = ring_[(head_ + count_) & (ring_.size() - 1)];
  slot.action = a;
  if (ctx) slot.context = *context;
  ++count_;
  return a;
}

double OnlineSession::side_observations(const Outcome& o, std::size_t arm, const OracleView& oracle,
                                        double* played_cost) {
  if (cm_.measured()) return measured_observations(o, arm, played_cost);
  const std::size_t k = cm_.num_arms(), last = k - 1;
  const auto& cfg = cm_.config();
  const bool final_known = o.final_known && !o.fallback;
  const double s_final = final_known ? o.final_score : 0.0;
  const double s_arm = o.scores[arm];
  // The played arm: its reward needs s_K unless the sample exited there.
  const double reward = cm_.reward(arm, o.exited, s_arm, s_final);
  *played_cost = cm_.cost(arm, o.offloaded || o.fallback);
  fb_reward_[arm] = reward;
  fb_valid_[arm] = o.exited || final_known;
  fb_cost_[arm] = *played_cost;
  fb_quality_[arm] = o.exited ? s_arm : s_final;
  // Side observations: every arm j < arm, exactly once this round. With side_info=oracle every
  // shallower arm earns its oracle reward (same formula, same inputs): copied from the row.
  if (cfg.side_info == cost::SideInfo::kOracle && oracle.rewards && !needs_costs_) {
    for (std::size_t j = 0; j < arm; ++j) fb_reward_[j] = oracle.rewards[j], fb_valid_[j] = 1;
    return reward;
  }
  // Otherwise what stands in for s_K when the sample exited (or the cloud failed) follows
  // side_info.
  const float* final_row = oracle.scores ? oracle.scores + last : nullptr;
  for (std::size_t j = 0; j < arm; ++j) {
    const double s_j = o.scores[j];
    const bool ex_j = rule_.exits(j, k, s_j);
    fb_cost_[j] = cm_.cost(j, !ex_j);
    fb_valid_[j] = 1;
    double stand_in = s_final;  // s_K, or what the side-information mode uses in its place
    if (!ex_j && !final_known) {
      if (cfg.side_info == cost::SideInfo::kOracle) {
        ISPLITEE_CHECK(final_row != nullptr,
                       "side_info=oracle needs the stored final score of every sample (a trace "
                       "replay); use cost.side_info=strict or proxy");
        stand_in = *final_row;
      } else if (cfg.side_info == cost::SideInfo::kStrict) {
        fb_valid_[j] = 0;
      } else {  // proxy: the deepest score the edge saw stands in for s_K
        stand_in = s_arm;
      }
    }
    fb_quality_[j] = ex_j ? s_j : stand_in;
    // With side_info=oracle every shallower arm earns its oracle reward (same formula, same
    // inputs).
    fb_reward_[j] = cfg.side_info == cost::SideInfo::kOracle && oracle.rewards
                        ? oracle.rewards[j]
                        : cm_.reward(j, ex_j, s_j, stand_in);
  }
  return reward;
}

double OnlineSession::measured_observations(const Outcome& o, std::size_t arm,
                                           double* played_cost) {
  ISPLITEE_CHECK(o.edge_ms_at != nullptr,
                 "cost.mode=measured needs the edge's measurements (a live environment)");
  const std::size_t k = cm_.num_arms();
  const double mu = cm_.config().mu;
  const bool final_known = o.final_known && !o.fallback;
  const double s_final = final_known ? o.final_score : 0.0;
  const cost::Measurement m{o.edge_ms_at, static_cast<double>(o.bytes_sent), o.latency_ms};
  *played_cost = cm_.measured_cost(arm, o.offloaded || o.fallback, m, true);
  const double quality = o.exited ? o.scores[arm] : s_final;
  const double reward = quality - mu * *played_cost;
  fb_reward_[arm] = reward;
  fb_valid_[arm] = o.exited || final_known;
  fb_cost_[arm] = *played_cost;
  fb_quality_[arm] = quality;
  // Shallower arms: their measured prefix time and the activation bytes at their split.
  for (std::size_t j = 0; j < arm; ++j) {
    const double s_j = o.scores[j];
    const bool ex_j = rule_.exits(j, k, s_j);
    fb_cost_[j] = cm_.measured_cost(j, !ex_j, m, false);
    fb_valid_[j] = 1;
    double stand_in = s_final;
    if (!ex_j && !final_known) {
      if (cm_.config().side_info == cost::SideInfo::kProxy)
        stand_in = o.scores[arm];
      else
        fb_valid_[j] = 0;  // strict (oracle is refused for measured runs)
    }
    fb_quality_[j] = ex_j ? s_j : stand_in;
    fb_reward_[j] = fb_quality_[j] - mu * fb_cost_[j];
  }
  return reward;
}

StepResult OnlineSession::observe(const Outcome& o, const OracleView& oracle) {
  ISPLITEE_CHECK(count_ > 0, "OnlineSession::observe: no decision is pending");
  const Pending& front = ring_[head_];
  const Action a = front.action;
  ISPLITEE_CHECK(o.action == a, "OnlineSession::observe: the outcome is for action ",
                 o.action.to_string(), " but the oldest pending decision is ", a.to_string());
  const policy::ExitContext ctx = front.context;
  head_ = (head_ + 1) & (ring_.size() - 1);
  --count_;
  const std::size_t k = cm_.num_arms();
  ISPLITEE_CHECK(o.exit_used < k && o.num_seen <= k, "OnlineSession::observe: outcome uses exit ",
                 o.exit_used + 1, " and saw ", o.num_seen, " exits, but K = ", k);
  StepResult r;
  r.action = a;
  r.exited = o.exited;
  r.offloaded = o.offloaded;
  r.fallback = o.fallback;
  r.exit_used = o.exit_used;
  r.prediction = o.prediction;
  policy::Feedback fb{a,
                      0,
                      fb_reward_.data(),
                      fb_valid_.data(),
                      fb_cost_.data(),
                      fb_quality_.data(),
                      policy_->needs_context() ? &ctx : nullptr};
  switch (a.kind()) {
    case Action::Kind::kCloud:
      r.cost = cm_.measured() ? cm_.measured_cloud_cost({nullptr, double(o.bytes_sent),
                                                          o.latency_ms})
                              : cm_.cloud_cost();
      r.reward = cm_.measured() ? o.final_score - cm_.config().mu * r.cost
                                : cm_.cloud_reward(o.final_score);
      r.arm_bin = k;
      break;
    case Action::Kind::kCascade: {
      const std::size_t e = o.exit_used;
      r.reward = e + 1 < k ? cm_.exit_reward(e, o.scores[e]) : cm_.final_reward(o.final_score);
      r.cost = cm_.edge_cost(e);
      if (cm_.measured()) {
        r.cost = cm_.measured_cost(e, false, {o.edge_ms_at, 0, 0}, true);
        r.reward = (e + 1 < k ? o.scores[e] : o.final_score) - cm_.config().mu * r.cost;
      }
      r.arm_bin = e;
      break;
    }
    case Action::Kind::kSplit:
      ISPLITEE_CHECK(o.num_seen > a.arm(), "OnlineSession::observe: split ", a.to_string(),
                     " but the outcome carries only ", o.num_seen, " edge scores");
      r.reward = side_observations(o, a.arm(), oracle, &r.cost);
      r.arm_bin = a.arm();
      fb.num_observed = a.arm() + 1;
      break;
  }
  policy_->update(fb);
  ++t_;
  ++totals_.steps;
  totals_.reward += r.reward;
  totals_.cost += r.cost;
  totals_.exited += r.exited;
  totals_.offloaded += r.offloaded;
  totals_.fallbacks += r.fallback;
  ++totals_.arm_count[r.arm_bin];
  ++totals_.exit_count[r.exit_used];
  return r;
}

}  // namespace isplitee::sim
