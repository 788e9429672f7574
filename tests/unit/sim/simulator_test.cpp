#include <gtest/gtest.h>

#include <cmath>

#include "isplitee/common/error.hpp"
#include "isplitee/sim/simulator.hpp"
#include "support/synthetic_trace.hpp"

using namespace isplitee;
using namespace isplitee::sim;

namespace {

/// Plays a scripted arm sequence and records every feedback (a test double for Policy).
class Spy final : public policy::Policy {
 public:
  Spy(std::size_t k, std::vector<Arm> script) : Policy(k), script_(std::move(script)) {}
  std::string_view name() const noexcept override { return "spy"; }
  bool needs_costs() const noexcept override { return true; }
  struct Seen {
    Arm arm;
    std::vector<double> rewards;
    std::vector<int> valid;
    std::vector<double> costs, quality;
  };
  std::vector<Seen> seen;
  int selects = 0;

 private:
  policy::Action do_select(const policy::Round& r) override {
    ++selects;
    EXPECT_EQ(r.oracle_rewards, nullptr) << "a non-oracle policy must not see oracle rewards";
    return policy::Action::split(script_[r.t]);
  }
  void do_update(const policy::Feedback& f) override {
    Seen s{f.action.arm(), {}, {}, {}, {}};
    for (std::size_t j = 0; j < f.num_observed; ++j) {
      s.rewards.push_back(f.rewards[j]);
      s.valid.push_back(f.valid[j]);
      s.costs.push_back(f.costs[j]);
      s.quality.push_back(f.quality[j]);
    }
    seen.push_back(s);
  }
  std::vector<Arm> script_;
};

// Three samples, K = 3, l = 1,2,3, λ=0.1, μ=1, o=0.5, α=0.5.
std::shared_ptr<trace::Trace> tiny() {
  return synth::explicit_trace({{0.9f, 0.6f, 0.7f}, {0.3f, 0.4f, 0.8f}, {0.2f, 0.7f, 0.6f}},
                               {{1, 1, 2}, {0, 5, 2}, {3, 3, 3}}, {1, 2, 3}, {1, 2, 3});
}

stream::Stream in_order(std::size_t n, std::vector<std::size_t> starts = {0}) {
  stream::Stream s;
  for (std::uint32_t i = 0; i < n; ++i) {
    s.samples.push_back(i);
    std::uint32_t g = 0;
    while (g + 1 < starts.size() && i >= starts[g + 1]) ++g;
    s.segment.push_back(g);
  }
  s.segment_start = starts;
  s.segment_trace.assign(starts.size(), 0);
  return s;
}

RunMetrics run_spy(Spy& spy, cost::SideInfo mode, std::vector<std::size_t> starts = {0}) {
  cost::CostConfig c;
  c.side_info = mode;
  const cost::CostModel cm(c, {1, 2, 3});
  TraceEnvironment env({tiny()}, cost::ExitRule(c.alpha));
  RunOptions o;
  o.record_steps = true;
  return run_policy(spy, env, cm, in_order(3, starts), o);
}

constexpr double kTol = 1e-6;  // confidences are float32

}  // namespace

TEST(SideObservations, ArmsUpToTheChosenOncePerRoundInEveryMode) {
  struct Case {
    cost::SideInfo mode;
    double arm0_round3;
    int valid0_round3;
  };
  // Round 3 (sample 2) exits at arm 2 with C_1 = 0.2 < α: C_K unseen. oracle -> C_K=0.6: 0.6-0.6 =
  // 0; strict -> skipped; proxy -> C_2 = 0.7: 0.7 - 0.6 = 0.1.
  for (const Case& cs :
       {Case{cost::SideInfo::kOracle, 0.0, 1}, Case{cost::SideInfo::kStrict, 0.0, 0},
        Case{cost::SideInfo::kProxy, 0.1, 1}}) {
    Spy spy(3, {1, 1, 1});
    run_spy(spy, cs.mode);
    ASSERT_EQ(spy.selects, 3);
    ASSERT_EQ(spy.seen.size(), 3u);  // one update per round
    for (const auto& s : spy.seen) {
      ASSERT_EQ(s.rewards.size(), 2u) << "arms 0..chosen observed, nothing deeper";
      EXPECT_EQ(s.arm, 1u);
    }
    // Sample 0: both exit. arm 0: 0.9 - 0.1; arm 1: 0.6 - 0.2.
    EXPECT_NEAR(spy.seen[0].rewards[0], 0.8, kTol);
    EXPECT_NEAR(spy.seen[0].rewards[1], 0.4, kTol);
    EXPECT_EQ(spy.seen[0].valid, (std::vector<int>{1, 1}));
    // Sample 1: offloaded (C_2 = 0.4), C_K = 0.8 known: arm 0: 0.8-0.6, arm 1: 0.8-0.7 — exact in
    // every mode.
    EXPECT_NEAR(spy.seen[1].rewards[0], 0.2, kTol);
    EXPECT_NEAR(spy.seen[1].rewards[1], 0.1, kTol);
    EXPECT_EQ(spy.seen[1].valid, (std::vector<int>{1, 1}));
    EXPECT_EQ(spy.seen[2].valid[0], cs.valid0_round3);
    if (cs.valid0_round3) {
      EXPECT_NEAR(spy.seen[2].rewards[0], cs.arm0_round3, kTol);
    }
    EXPECT_NEAR(spy.seen[2].rewards[1], 0.5, kTol);
    EXPECT_EQ(spy.seen[2].valid[1], 1);
  }
}

TEST(SideObservations, DeepestArmObservesEverythingExactly) {
  Spy spy(3, {2, 2, 2});
  run_spy(spy, cost::SideInfo::kStrict);
  ASSERT_EQ(spy.seen.size(), 3u);
  const std::vector<std::vector<double>> expected = {
      {0.8, 0.4, 0.4}, {0.2, 0.1, 0.5}, {0.0, 0.5, 0.3}};
  for (int t = 0; t < 3; ++t)
    for (int j = 0; j < 3; ++j) {
      EXPECT_NEAR(spy.seen[t].rewards[j], expected[t][j], kTol) << t << "," << j;
      EXPECT_EQ(spy.seen[t].valid[j], 1);
    }
  Spy shallow(3, {0, 0, 0});
  run_spy(shallow, cost::SideInfo::kOracle);
  for (const auto& s : shallow.seen) EXPECT_EQ(s.rewards.size(), 1u);
}

TEST(Simulator, HandComputedMetrics) {
  Spy spy(3, {1, 1, 1});
  const auto m = run_spy(spy, cost::SideInfo::kOracle, {0, 2});
  EXPECT_EQ(m.steps, 3u);
  EXPECT_NEAR(m.accuracy, 100.0, 1e-12);  // preds 1, 2 (final exit), 3
  EXPECT_NEAR(m.cost_total, 0.2 + 0.7 + 0.2, 1e-12);
  EXPECT_NEAR(m.cost_per_sample, 1.1 / 3, 1e-12);
  EXPECT_NEAR(m.offload_fraction, 1.0 / 3, 1e-12);
  EXPECT_NEAR(m.mean_reward, (0.4 + 0.1 + 0.5) / 3, kTol);
  // Oracle sums over the stream: arm 0: 0.8+0.2+0.0, arm 1: 0.4+0.1+0.5, arm 2: 0.4+0.5+0.3 -> i* =
  // arm 3.
  EXPECT_EQ(m.best_arm, 2u);
  EXPECT_NEAR(m.regret, 1.2 - 1.0, kTol);
  // Segments {s0, s1} and {s2}: best arms 1 (sum 1.0) and 2 (0.5): dynamic regret 1.0 + 0.5 - 1.0.
  EXPECT_EQ(m.segment_best_arm, (std::vector<std::size_t>{0, 1}));
  EXPECT_NEAR(m.dynamic_regret, 0.5, kTol);
  EXPECT_EQ(m.arm_histogram, (std::vector<double>{0, 1, 0, 0}));
  EXPECT_NEAR(m.exit_histogram[1], 2.0 / 3, 1e-12);
  EXPECT_NEAR(m.exit_histogram[2], 1.0 / 3, 1e-12);
  ASSERT_EQ(m.steps_record.size(), 3u);
  EXPECT_TRUE(m.steps_record[1].offloaded);
  EXPECT_EQ(m.steps_record[1].exit_used, 2u);
  EXPECT_NEAR(m.steps_record[0].regret, 0.4 - 0.4, kTol);
  EXPECT_NEAR(m.steps_record[1].regret, 0.5 - 0.1, kTol);
  EXPECT_NEAR(m.steps_record[2].regret, 0.3 - 0.5, kTol);
  EXPECT_TRUE(m.bytes_known == false);  // explicit trace has no activation sizes
}

TEST(Simulator, CloudOnlyAndEdgeThreshold) {
  const cost::CostModel cm(cost::CostConfig{}, {1, 2, 3});
  TraceEnvironment env({tiny()}, cost::ExitRule(0.5));
  auto cloud = policy::make_policy(policy::parse_policy_argument("cloud-only"), 3, 0);
  const auto c = run_policy(*cloud, env, cm, in_order(3), {});
  EXPECT_NEAR(c.cost_total, 1.5, 1e-12);
  EXPECT_NEAR(c.offload_fraction, 1.0, 1e-12);
  EXPECT_NEAR(c.mean_reward, (0.7 + 0.8 + 0.6 - 1.5) / 3, kTol);
  EXPECT_NEAR(c.accuracy, 100.0 * 2 / 3, 1e-9);  // final exit: preds 2,2,3 vs labels 1,2,3
  EXPECT_EQ(c.arm_histogram, (std::vector<double>{0, 0, 0, 1}));
  auto cascade = policy::make_policy(policy::parse_policy_argument("edge-threshold"), 3, 0);
  const auto e = run_policy(*cascade, env, cm, in_order(3), {});
  // s0 exits at exit 1 (0.9): 0.1; s1 never reaches α before the end: 0.3; s2 exits at exit 2: 0.2.
  EXPECT_NEAR(e.cost_total, 0.6, 1e-12);
  EXPECT_NEAR(e.offload_fraction, 0.0, 1e-12);
  EXPECT_NEAR(e.mean_reward, (0.8 + 0.5 + 0.5) / 3, kTol);
  EXPECT_NEAR(e.accuracy, 100.0, 1e-12);
  EXPECT_EQ(e.exit_histogram, (std::vector<double>{1.0 / 3, 1.0 / 3, 1.0 / 3}));
}

TEST(Simulator, LiveStyleEnvironmentWithoutOracle) {
  // An environment that cannot replay confidences: regret is unknown, strict/proxy still work,
  // oracle fails.
  class Live final : public Environment {
   public:
    Live() : inner_({tiny()}, cost::ExitRule(0.5)) {}
    std::size_t num_exits() const override { return 3; }
    std::size_t num_samples() const override { return 3; }
    Outcome act(std::size_t s, const Action& a, const cost::ExitRule& rule) override {
      return inner_.act(s, a, rule);
    }
    std::int32_t label(std::size_t s) const override { return inner_.label(s); }

   private:
    TraceEnvironment inner_;
  } live;
  cost::CostConfig c;
  c.side_info = cost::SideInfo::kProxy;
  const cost::CostModel cm(c, {1, 2, 3});
  Spy spy(3, {1, 1, 1});
  const auto m = run_policy(spy, live, cm, in_order(3), {});
  EXPECT_TRUE(std::isnan(m.regret));
  EXPECT_NEAR(spy.seen[2].rewards[0], 0.1, kTol);
  c.side_info = cost::SideInfo::kOracle;
  Spy spy2(3, {1, 1, 1});
  EXPECT_THROW(run_policy(spy2, live, cost::CostModel(c, {1, 2, 3}), in_order(3), {}), Error);
  auto best = policy::make_policy(policy::parse_policy_argument("best-fixed"), 3, 0);
  EXPECT_THROW(run_policy(*best, live, cm, in_order(3), {}), Error);
}
