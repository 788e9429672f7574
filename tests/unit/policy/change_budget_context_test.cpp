// cusum-ucb, glr-ucb, budgeted-ucb and linucb-split against hand-computed cases.
#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>

#include "isplitee/common/error.hpp"
#include "isplitee/common/rng.hpp"
#include "isplitee/policy/policy.hpp"

using namespace isplitee;
using namespace isplitee::policy;

namespace {

std::unique_ptr<Policy> make(const std::string& arg, std::size_t k, std::uint64_t seed = 1) {
  return make_policy(parse_policy_argument(arg), k, seed);
}

PolicySpec spec_of(const std::string& json) {
  const auto doc = config::Document::parse(json, "cfg.json");
  return parse_policy_spec(config::Node(doc));
}

/// One round's feedback for arms 0..arm (all valid), with optional costs, quality and context.
struct Round1 {
  std::vector<double> rewards, costs, quality;
  std::vector<std::uint8_t> valid;
  ExitContext ctx;
  Feedback fb(Arm arm) {
    valid.assign(rewards.empty() ? quality.size() : rewards.size(), 1);
    Feedback f;
    f.action = Action::split(arm);
    f.num_observed = arm + 1;
    f.rewards = rewards.empty() ? nullptr : rewards.data();
    f.valid = valid.data();
    f.costs = costs.empty() ? nullptr : costs.data();
    f.quality = quality.empty() ? nullptr : quality.data();
    f.context = &ctx;
    return f;
  }
};

void feed(Policy& p, Arm arm, std::vector<double> rewards) {
  Round1 r{std::move(rewards), {}, {}, {}, {}};
  p.update(r.fb(arm));
}

Arm arm_of(const Action& a) {
  EXPECT_TRUE(a.is_split()) << a.to_string();
  return a.arm();
}

std::vector<std::uint64_t> alarm_rounds(const Policy& p) {
  std::vector<std::uint64_t> out;
  for (const auto& a : p.events().alarms) out.push_back(a.t);
  return out;
}

}  // namespace

TEST(ChoiceParams, ParseValidateListAndRoundTrip) {
  const auto d = spec_of(R"({"name": "cusum-ucb"})");
  EXPECT_EQ(d.params.at("reset"), "all");  // the first choice is the default
  const auto s = spec_of(R"({"name": "glr-ucb", "reset": "all", "delta": 0.05})");
  EXPECT_EQ(s.params.at("reset"), "all");
  EXPECT_EQ(to_json(spec_of(to_json(s).dump())), to_json(s));
  EXPECT_EQ(parse_policy_argument("cusum-ucb:reset=all,h=3").params.at("reset"), "all");
  try {
    spec_of(R"({"name": "cusum-ucb", "reset": "everything"})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("arm"), std::string::npos) << e.what();
  }
  EXPECT_THROW(spec_of(R"({"name": "cusum-ucb", "reset": 1})"), Error);
  const auto& info = builtin_policies().at("glr-ucb");
  const auto it = std::find_if(info.params.begin(), info.params.end(),
                               [](const ParamInfo& p) { return p.name == "reset"; });
  ASSERT_NE(it, info.params.end());
  EXPECT_EQ(it->choices, (std::vector<std::string>{"all", "arm"}));
  EXPECT_EQ(it->default_json(), "all");
}

TEST(CusumUcb, AlarmsWhereThePageStatisticCrossesH) {
  // M = 2, ε = 0.1, h = 0.5, one arm. Warm-up 0.5, 0.5 -> u = 0.5. Then 0.5: g+ = 0;
  // 0.9: g+ = 0.3; 0.9: g+ = 0.6 > 0.5 -> alarm in round 4.
  auto p = make("cusum-ucb:warmup=2,eps=0.1,h=0.5,alpha=0", 1);
  EXPECT_TRUE(p->events().detects_changes);
  for (double r : {0.5, 0.5, 0.5, 0.9}) feed(*p, 0, {r});
  EXPECT_TRUE(p->events().alarms.empty());
  feed(*p, 0, {0.9});
  EXPECT_EQ(alarm_rounds(*p), (std::vector<std::uint64_t>{4}));
  // After the reset a new warm-up: 0.9, 0.9 -> u = 0.9. Downward: 0.6 -> g− = 0.2; 0.6 -> 0.4;
  // 0.6 -> 0.6 > 0.5 -> alarm in round 9.
  for (double r : {0.9, 0.9, 0.6, 0.6}) feed(*p, 0, {r});
  EXPECT_EQ(p->events().alarms.size(), 1u);
  feed(*p, 0, {0.6});
  EXPECT_EQ(alarm_rounds(*p), (std::vector<std::uint64_t>{4, 9}));
}

TEST(CusumUcb, ResetArmOrAll) {
  // Two arms, arm 1 played (arm 0 a side observation). Arm 1's reward jumps; arm 0's does not.
  for (const std::string reset : {"arm", "all"}) {
    auto p = make("cusum-ucb:warmup=2,eps=0.1,h=0.5,alpha=0,reset=" + reset, 2);
    arm_of(p->select({0}));
    arm_of(p->select({1}));
    feed(*p, 1, {0.8, 0.1});
    feed(*p, 1, {0.8, 0.1});
    feed(*p, 1, {0.8, 0.5});                // g+ = 0.3
    EXPECT_EQ(arm_of(p->select({2})), 0u);  // arm 0: mean 0.8 vs arm 1 ~0.23
    feed(*p, 1, {0.8, 0.5});                // g+ = 0.6 -> alarm on arm 1 in round 3
    ASSERT_EQ(p->events().alarms.size(), 1u) << reset;
    EXPECT_EQ(p->events().alarms[0].arm, 1u);
    EXPECT_EQ(p->events().alarms[0].t, 3u);
    // reset=arm: arm 1 has no observations -> infinite index; reset=all: both -> arm 0 (ties).
    EXPECT_EQ(arm_of(p->select({4})), reset == "arm" ? 1u : 0u) << reset;
  }
}

TEST(CusumUcb, ForcedExplorationIsUniform) {
  auto p = make("cusum-ucb:alpha=1", 4, 3);
  std::vector<int> hist(4, 0);
  for (std::uint64_t t = 4; t < 8004; ++t) ++hist[arm_of(p->select({t}))];
  for (int h : hist) EXPECT_NEAR(h / 8000.0, 0.25, 0.02);
}

TEST(GlrUcb, AlarmsAtTheHandComputedThreshold) {
  // σ = 0.1, δ = 0.5, test after every observation. Observations 0, 0, 0, d: the largest statistic
  // at n = 4 is s = 3: 3·1/4·d² against 2σ²·ln(3·4^1.5/0.5) = 0.02·ln 48 = 0.07743.
  // d = 0.33: 0.08168 > threshold -> alarm in round 3; d = 0.32: 0.0768 -> none.
  for (const double d : {0.33, 0.32}) {
    auto p = make("glr-ucb:sigma=0.1,delta=0.5,check_every=1,alpha=0", 1);
    for (double r : {0.0, 0.0, 0.0, d}) feed(*p, 0, {r});
    if (d > 0.325)
      EXPECT_EQ(alarm_rounds(*p), (std::vector<std::uint64_t>{3}));
    else
      EXPECT_TRUE(p->events().alarms.empty());
  }
  // 0, 0, d with d = 0.33 at n = 3: s = 2 gives 2/3·d² = 0.0726 > 0.02·ln(3·3^1.5/0.5) = 0.0688.
  // Tested every observation it fires in round 2; tested every 2nd observation it is not tested at
  // n = 3 and fires at n = 4 (0, 0, d, 0.33: s = 2 gives d²·1 = 0.1089 > 0.0774).
  auto every = make("glr-ucb:sigma=0.1,delta=0.5,check_every=1,alpha=0", 1);
  auto second = make("glr-ucb:sigma=0.1,delta=0.5,check_every=2,alpha=0", 1);
  for (double r : {0.0, 0.0, 0.33, 0.33}) {
    feed(*every, 0, {r});
    feed(*second, 0, {r});
  }
  EXPECT_EQ(alarm_rounds(*every), (std::vector<std::uint64_t>{2}));
  EXPECT_EQ(alarm_rounds(*second), (std::vector<std::uint64_t>{3}));
}

TEST(GlrUcb, QuietOnAStationaryStreamAndFastOnAJump) {
  // Rewards ~ N(0.5, 0.1²) for 5000 rounds, then N(0.7, 0.1²): σ = 0.1, δ = 0.01 -> no alarm
  // before the change (probability of any false alarm ≤ δ), an alarm soon after it.
  auto p = make("glr-ucb:sigma=0.1,delta=0.01,alpha=0", 1);
  Rng rng(5);
  for (int t = 0; t < 10000; ++t) feed(*p, 0, {(t < 5000 ? 0.5 : 0.7) + 0.1 * rng.normal()});
  const auto a = alarm_rounds(*p);
  ASSERT_FALSE(a.empty());
  EXPECT_GE(a.front(), 5000u);
  EXPECT_LT(a.front(), 5100u);
}

TEST(BudgetedUcb, DualVariableAndIndexByHand) {
  // β = 0 (means only), B = 0.5, κ = 0.1. Arm 0: cost 0.2, quality 0.6; arm 1: cost 1, quality 0.9.
  auto p = make("budgeted-ucb:budget=0.5,kappa=0.1,beta=0", 2);
  EXPECT_TRUE(p->needs_costs());
  p->begin_run({100, nullptr});
  EXPECT_DOUBLE_EQ(p->events().cost_target, 0.5);
  arm_of(p->select({0}));
  Round1 r0{{}, {0.2}, {0.6}, {}, {}};
  p->update(r0.fb(0));  // η = max(0, 0.1·(0.2 − 0.5)) = 0
  arm_of(p->select({1}));
  // Arm 1 played m times: η = 0.05·m. Index 0.6 − 0.2η vs 0.9 − η: arm 0 once η > 0.375.
  for (int m = 1; m <= 8; ++m) {
    Round1 r{{}, {0.2, 1.0}, {0.6, 0.9}, {}, {}};
    p->update(r.fb(1));
    EXPECT_EQ(arm_of(p->select({static_cast<std::uint64_t>(m + 1)})), m < 8 ? 1u : 0u) << m;
  }
}

TEST(BudgetedUcb, TargetReductionAndExclusiveBudget) {
  auto p = make("budgeted-ucb:target_reduction=0.25", 2);
  const std::vector<double> prices = {0.1, 0.4, 0.5};  // γ_1, γ_2, offload
  p->begin_run({100, nullptr, &prices});
  EXPECT_DOUBLE_EQ(p->events().cost_target, 0.75 * 0.4);
  try {
    make("budgeted-ucb:target_reduction=0.25,budget=0.3", 2);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("not both"), std::string::npos) << e.what();
  }
}

TEST(BudgetedUcb, HoldsTheBudgetOnAStochasticStream) {
  // Three arms with noisy costs and qualities; the best quality is over budget, so the budget binds
  // and the long-run mean cost must sit at B (within 2%).
  const double costs[3] = {0.2, 0.5, 1.0}, quality[3] = {0.55, 0.75, 0.9};
  const std::uint64_t horizon = 20000;
  for (const double budget : {0.35, 0.6, 0.8}) {
    auto p = make("budgeted-ucb:budget=" + std::to_string(budget), 3);
    p->begin_run({horizon, nullptr});
    Rng rng(11);
    double total = 0;
    for (std::uint64_t t = 0; t < horizon; ++t) {
      const Arm a = arm_of(p->select({t}));
      Round1 r{{}, {}, {}, {}, {}};
      for (Arm j = 0; j <= a; ++j) {
        r.costs.push_back(costs[j] * (0.8 + 0.4 * rng.uniform()));
        r.quality.push_back(std::clamp(quality[j] + 0.2 * rng.normal(), 0.0, 1.0));
      }
      total += r.costs[a];
      p->update(r.fb(a));
    }
    EXPECT_NEAR(total / horizon, budget, 0.02 * budget) << budget;
  }
}

TEST(LinUcbSplit, RidgeRegressionByHand) {
  // Context x = [1, 0, 0, 0]: A = (1 + n) on the first coordinate, θ = Σr/(1 + n).
  auto p = make("linucb-split:beta=0", 2);
  EXPECT_TRUE(p->needs_context());
  ExitContext c;  // score, entropy, margin all 0
  arm_of(p->select({0, nullptr, &c}));
  Round1 a{{0.6}, {}, {}, {}, c};
  p->update(a.fb(0));
  arm_of(p->select({1, nullptr, &c}));
  Round1 b{{0.6, 0.9}, {}, {}, {}, c};
  p->update(b.fb(1));
  // arm 0: 1.2/3 = 0.4; arm 1: 0.9/2 = 0.45 -> arm 1.
  EXPECT_EQ(arm_of(p->select({2, nullptr, &c})), 1u);
  // β = 1 adds sqrt(xᵀA⁻¹x) = sqrt(1/(1+n)): 0.4 + 0.577 < 0.45 + 0.707 -> still arm 1; three
  // more arm-1 rounds with r_0 = 0.6, r_1 = 0 give arm 0 2.4/5 + 0.447 = 0.927 and arm 1
  // 0.9/5 + 0.447 = 0.627 -> arm 0.
  auto q = make("linucb-split:beta=1", 2);
  arm_of(q->select({0, nullptr, &c}));
  q->update(a.fb(0));
  arm_of(q->select({1, nullptr, &c}));
  q->update(b.fb(1));
  EXPECT_EQ(arm_of(q->select({2, nullptr, &c})), 1u);
  for (int i = 0; i < 3; ++i) {
    Round1 r{{0.6, 0.0}, {}, {}, {}, c};
    q->update(r.fb(1));
  }
  EXPECT_EQ(arm_of(q->select({3, nullptr, &c})), 0u);
}

TEST(LinUcbSplit, ShermanMorrisonMatchesTheDirectSolve) {
  // Random contexts and rewards on one arm; the index with β = 0 must equal θᵀx for θ solved
  // directly from A = I + Σxxᵀ, b = Σrx; compared through the choice against a constant arm.
  Rng rng(2);
  Eigen::Matrix4d a = Eigen::Matrix4d::Identity();
  Eigen::Vector4d b = Eigen::Vector4d::Zero();
  auto p = make("linucb-split:beta=0", 2);
  ExitContext c;
  arm_of(p->select({0, nullptr, &c}));
  arm_of(p->select({1, nullptr, &c}));
  for (int i = 0; i < 50; ++i) {
    c = {rng.uniform(), rng.uniform(), rng.uniform()};
    const Eigen::Vector4d x(1.0, c.score, c.entropy_norm, c.margin);
    const double r = 0.3 + 0.5 * c.score - 0.2 * c.margin + 0.05 * rng.normal();
    a += x * x.transpose();
    b += r * x;
    Round1 f{{r}, {}, {}, {}, c};
    p->update(f.fb(0));  // arm 1 never observed: θ_1 = 0
  }
  const Eigen::Vector4d theta = a.ldlt().solve(b);
  EXPECT_NEAR(theta(0), 0.3, 0.1);
  EXPECT_NEAR(theta(1), 0.5, 0.15);
  // θ_0ᵀx > 0 = θ_1ᵀx for x with a high score; for a context where θ_0ᵀx < 0 arm 1 wins.
  ExitContext hi{1.0, 0.0, 0.0}, neg{0.0, 0.0, 0.0};
  EXPECT_EQ(arm_of(p->select({2, nullptr, &hi})), 0u);
  const double at_neg = theta.dot(Eigen::Vector4d(1.0, 0.0, 0.0, 0.0));
  EXPECT_EQ(arm_of(p->select({3, nullptr, &neg})), at_neg > 0 ? 0u : 1u);
}

TEST(LinUcbSplit, ChoosesByContextWithSideObservations) {
  // Arm 0 earns the exit-1 score s, arm 1 earns 1 − s: a context-free learner cannot win both.
  auto p = make("linucb-split:beta=0.5", 2, 4);
  Rng rng(8);
  for (std::uint64_t t = 0; t < 2000; ++t) {
    ExitContext c{rng.uniform(), rng.uniform(), rng.uniform()};
    const Arm a = arm_of(p->select({t, nullptr, &c}));
    Round1 r{{c.score, 1.0 - c.score}, {}, {}, {}, c};
    r.rewards.resize(a + 1);
    p->update(r.fb(a));
  }
  ExitContext high{0.95, 0.1, 0.8}, low{0.05, 0.9, 0.02};
  EXPECT_EQ(arm_of(p->select({2000, nullptr, &high})), 0u);
  EXPECT_EQ(arm_of(p->select({2001, nullptr, &low})), 1u);
}
