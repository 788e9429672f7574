// OnlineSession: the one implementation of a decision's rules, driven here the way a researcher's
// own program drives it (decide, act, observe), with hand-computed rewards.
#include <gtest/gtest.h>

#include <cmath>

#include "isplitee/common/error.hpp"
#include "isplitee/sim/session.hpp"
#include "isplitee/sim/simulator.hpp"
#include "support/synthetic_trace.hpp"

using namespace isplitee;
using namespace isplitee::sim;
using policy::Action;

namespace {

/// Records every feedback (a test double for Policy) and plays a script of actions.
class Recorder final : public policy::Policy {
 public:
  Recorder(std::size_t k, std::vector<Action> script) : Policy(k), script_(std::move(script)) {}
  std::string_view name() const noexcept override { return "recorder"; }
  bool needs_costs() const noexcept override { return true; }
  std::vector<policy::Feedback> raw;
  std::vector<std::vector<double>> rewards, costs, quality;
  std::vector<std::vector<int>> valid;
  std::vector<std::uint64_t> rounds;

 private:
  Action do_select(const policy::Round& r) override {
    rounds.push_back(r.t);
    return script_[r.t % script_.size()];
  }
  void do_update(const policy::Feedback& f) override {
    raw.push_back(f);
    rewards.emplace_back(f.rewards, f.rewards + f.num_observed);
    costs.emplace_back(f.costs, f.costs + f.num_observed);
    quality.emplace_back(f.quality, f.quality + f.num_observed);
    valid.emplace_back(f.valid, f.valid + f.num_observed);
  }
  std::vector<Action> script_;
};

/// An outcome as an edge would report it: scores of exits 1..num_seen.
Outcome outcome(Action a, std::vector<float>& scores, bool exited, bool offloaded,
                std::size_t exit_used, bool final_known, float final_score) {
  Outcome o;
  o.action = a;
  o.num_seen = scores.size();
  o.scores = scores.data();
  o.exited = exited;
  o.offloaded = offloaded;
  o.exit_used = exit_used;
  o.final_known = final_known;
  o.final_score = final_score;
  return o;
}

cost::CostModel paper3(cost::SideInfo mode = cost::SideInfo::kStrict) {
  cost::CostConfig c;  // α 0.5, λ 0.1, μ 1, o 0.5
  c.side_info = mode;
  return cost::CostModel(c, {1, 2, 3});
}

constexpr double kTol = 1e-6;

}  // namespace

TEST(OnlineSession, PricesTheSplitAndItsSideObservations) {
  Recorder rec(3, {Action::split(1)});
  OnlineSession s(rec, paper3());
  ASSERT_EQ(s.decide(), Action::split(1));
  // Exit 1 scores 0.3 (< α), exit 2 scores 0.4 (< α): offloaded, the cloud says s_K = 0.8.
  std::vector<float> sc = {0.3f, 0.4f};
  const auto r = s.observe(outcome(Action::split(1), sc, false, true, 2, true, 0.8f));
  EXPECT_NEAR(r.reward, 0.8 - (0.2 + 0.5), kTol);
  EXPECT_NEAR(r.cost, 0.7, 1e-12);
  EXPECT_TRUE(r.offloaded);
  ASSERT_EQ(rec.rewards.size(), 1u);
  // Arm 0 would have offloaded too: s_K − (0.1 + 0.5); its cost 0.6; qualities are s_K.
  EXPECT_NEAR(rec.rewards[0][0], 0.8 - 0.6, kTol);
  EXPECT_NEAR(rec.rewards[0][1], 0.1, kTol);
  EXPECT_EQ(rec.valid[0], (std::vector<int>{1, 1}));
  EXPECT_NEAR(rec.costs[0][0], 0.6, 1e-12);
  EXPECT_NEAR(rec.costs[0][1], 0.7, 1e-12);
  EXPECT_NEAR(rec.quality[0][0], 0.8, kTol);
  EXPECT_NEAR(rec.quality[0][1], 0.8, kTol);
  EXPECT_EQ(s.totals().steps, 1u);
  EXPECT_EQ(s.totals().offloaded, 1u);
  EXPECT_EQ(s.totals().arm_count, (std::vector<std::uint64_t>{0, 1, 0, 0}));
  EXPECT_EQ(s.totals().exit_count, (std::vector<std::uint64_t>{0, 0, 1}));
}

TEST(OnlineSession, SideInformationModesWhenTheSampleExited) {
  // Split at arm 2 (exit 2 = 0.7 ≥ α exits there); exit 1 = 0.2 < α needs s_K, never seen.
  struct Case {
    cost::SideInfo mode;
    int valid;
    double reward0;
  };
  for (const Case& c : {Case{cost::SideInfo::kStrict, 0, 0.0},
                        Case{cost::SideInfo::kProxy, 1, 0.7 - 0.6},
                        Case{cost::SideInfo::kOracle, 1, 0.6 - 0.6}}) {
    Recorder rec(3, {Action::split(1)});
    OnlineSession s(rec, paper3(c.mode));
    s.decide();
    std::vector<float> sc = {0.2f, 0.7f};
    const float oracle_row[3] = {0.2f, 0.7f, 0.6f};
    const auto o = outcome(Action::split(1), sc, true, false, 1, false, 0.0f);
    if (c.mode == cost::SideInfo::kOracle) {
      // Without stored scores the oracle mode cannot be priced: a clear error, no update.
      Recorder rec2(3, {Action::split(1)});
      OnlineSession s2(rec2, paper3(c.mode));
      s2.decide();
      EXPECT_THROW(s2.observe(o), Error);
      s.observe(o, OracleView{oracle_row, nullptr});
    } else {
      s.observe(o);
    }
    EXPECT_EQ(rec.valid[0][0], c.valid) << static_cast<int>(c.mode);
    if (c.valid) {
      EXPECT_NEAR(rec.rewards[0][0], c.reward0, kTol);
    }
    EXPECT_NEAR(rec.rewards[0][1], 0.7 - 0.2, kTol);  // the played arm exited: exact
  }
}

TEST(OnlineSession, CloudFallbackLeavesTheFinalScoreUnknown) {
  Recorder rec(3, {Action::split(1)});
  OnlineSession s(rec, paper3(cost::SideInfo::kProxy));
  s.decide();
  std::vector<float> sc = {0.3f, 0.4f};
  auto o = outcome(Action::split(1), sc, false, false, 1, false, 0.0f);
  o.fallback = true;
  const auto r = s.observe(o);
  EXPECT_TRUE(r.fallback);
  EXPECT_NEAR(r.cost, 0.7, 1e-12);  // the activation was sent
  EXPECT_EQ(rec.valid[0][1], 0);    // the played arm's reward needed s_K
  EXPECT_EQ(s.totals().fallbacks, 1u);
}

TEST(OnlineSession, CloudOnlyAndCascadeUpdateNoArm) {
  Recorder rec(3, {Action::cloud(), Action::cascade()});
  OnlineSession s(rec, paper3());
  EXPECT_EQ(s.decide(), Action::cloud());
  std::vector<float> none;
  auto r = s.observe(outcome(Action::cloud(), none, false, true, 2, true, 0.9f));
  EXPECT_NEAR(r.reward, 0.9 - 0.5, kTol);
  EXPECT_NEAR(r.cost, 0.5, 1e-12);
  EXPECT_EQ(r.arm_bin, 3u);
  EXPECT_EQ(s.decide(), Action::cascade());
  std::vector<float> sc = {0.3f, 0.8f};
  r = s.observe(outcome(Action::cascade(), sc, true, false, 1, false, 0.0f));
  EXPECT_NEAR(r.reward, 0.8 - 0.2, kTol);
  EXPECT_NEAR(r.cost, 0.2, 1e-12);
  ASSERT_EQ(rec.raw.size(), 2u);
  EXPECT_EQ(rec.raw[0].num_observed, 0u);
  EXPECT_EQ(rec.raw[1].num_observed, 0u);
}

TEST(OnlineSession, BatchedDecisionsAreObservedInOrder) {
  Recorder rec(3, {Action::split(0), Action::split(2)});
  OnlineSession s(rec, paper3());
  s.decide();
  s.decide();
  EXPECT_EQ(s.pending(), 2u);
  EXPECT_EQ(rec.rounds, (std::vector<std::uint64_t>{0, 1}));
  std::vector<float> a = {0.9f}, b = {0.1f, 0.2f, 0.3f};
  // The outcome of the second decision first: refused, nothing learnt.
  EXPECT_THROW(s.observe(outcome(Action::split(2), b, false, false, 2, true, 0.3f)), Error);
  s.observe(outcome(Action::split(0), a, true, false, 0, false, 0.0f));
  s.observe(outcome(Action::split(2), b, false, false, 2, true, 0.3f));
  EXPECT_EQ(s.pending(), 0u);
  EXPECT_THROW(s.observe(outcome(Action::split(0), a, true, false, 0, false, 0.0f)), Error);
  EXPECT_EQ(s.totals().steps, 2u);
}

TEST(OnlineSession, OraclePoliciesNeedHindsight) {
  auto best = policy::make_policy(policy::parse_policy_argument("best-fixed"), 3, 0);
  EXPECT_THROW(OnlineSession(std::move(best), paper3()), Error);
}

// The session inside the replay loop with delayed feedback: a decision batch of 1 is the classic
// loop, and a larger batch changes what the learner knew when it chose (so it may choose
// differently), but never the pricing of a given action.
TEST(OnlineSession, DecisionBatchInTheReplayLoop) {
  const auto t = synth::synthetic_trace(400, {0.4, 0.6, 0.8}, 11);
  const cost::CostModel cm(cost::CostConfig{}, {1, 2, 3});
  TraceEnvironment env({t}, cost::ExitRule(0.5));
  stream::Stream st;
  for (std::uint32_t i = 0; i < 400; ++i) st.samples.push_back(i), st.segment.push_back(0);
  st.segment_start = {0};
  st.segment_trace = {0};
  RunOptions o;
  o.record_steps = true;
  auto fixed = policy::make_policy(policy::parse_policy_argument("fixed:arm=2"), 3, 0);
  const auto one = run_policy(*fixed, env, cm, st, o);
  o.decision_batch = 64;
  auto fixed2 = policy::make_policy(policy::parse_policy_argument("fixed:arm=2"), 3, 0);
  const auto many = run_policy(*fixed2, env, cm, st, o);
  EXPECT_EQ(one.cost_total, many.cost_total);
  EXPECT_EQ(one.mean_reward, many.mean_reward);
  EXPECT_EQ(one.accuracy, many.accuracy);
}
