#include <gtest/gtest.h>

#include <cmath>

#include "isplitee/common/error.hpp"
#include "isplitee/policy/policy.hpp"

using namespace isplitee;
using namespace isplitee::policy;

namespace {

PolicySpec spec_of(const std::string& json) {
  const auto doc = config::Document::parse(json, "cfg.json");
  return parse_policy_spec(config::Node(doc));
}

std::unique_ptr<Policy> make(const std::string& arg, std::size_t k, std::uint64_t seed = 1) {
  return make_policy(parse_policy_argument(arg), k, seed);
}

/// Feeds one round: rewards of arms 0..arm (all valid).
void feed(Policy& p, Arm arm, const std::vector<double>& rewards) {
  std::vector<std::uint8_t> valid(rewards.size(), 1);
  Feedback f;
  f.action = Action::split(arm);
  f.num_observed = arm + 1;
  f.rewards = rewards.data();
  f.valid = valid.data();
  p.update(f);
}

/// The split arm a policy chose (a test failure when it chose cloud-only or the cascade).
Arm arm_of(const Action& a) {
  EXPECT_TRUE(a.is_split()) << a.to_string();
  return a.arm();
}

}  // namespace

TEST(Registry, ListsEveryPolicyOfTheSpec) {
  const std::vector<std::string> expected = {
      "i-splitee",      "splitee",      "final-exit",     "cloud-only",     "edge-threshold",
      "fixed",          "random",       "random-per-run", "best-fixed",     "per-sample-oracle",
      "epsilon-greedy", "thompson",     "sw-ucb",         "discounted-ucb", "cusum-ucb",
      "glr-ucb",        "budgeted-ucb", "linucb-split"};
  EXPECT_EQ(builtin_policies().names(), expected);
  for (const auto& e : builtin_policies().entries()) {
    EXPECT_FALSE(e.description.empty()) << e.name;
    EXPECT_TRUE(static_cast<bool>(e.factory)) << e.name;
  }
  EXPECT_EQ(builtin_policies().at("best-fixed").role, Role::kOracle);
  EXPECT_EQ(builtin_policies().at("i-splitee").role, Role::kLearner);
  EXPECT_EQ(builtin_policies().at("cloud-only").role, Role::kReference);
  EXPECT_TRUE(builtin_policies().at("i-splitee").headline);
  EXPECT_EQ(builtin_policies().baseline().name, "final-exit");
  // Every oracle entry builds a policy that asks for hindsight, and no other does.
  for (const auto& e : builtin_policies().entries()) {
    const auto p = make_policy(parse_policy_argument(e.name), 7, 0);
    EXPECT_EQ(p->needs_oracle(), e.role == Role::kOracle) << e.name;
  }
  // The default run is every entry flagged default_run, in registry order.
  std::vector<std::string> defaults;
  for (const auto& s : default_policy_specs()) defaults.push_back(s.name);
  EXPECT_EQ(defaults,
            (std::vector<std::string>{"i-splitee", "splitee", "final-exit", "cloud-only",
                                      "edge-threshold", "random", "best-fixed", "per-sample-oracle",
                                      "epsilon-greedy", "thompson", "sw-ucb", "discounted-ucb"}));
}

TEST(PolicySpec, FillsDefaultsAndValidates) {
  const auto s = spec_of(R"({"name": "sw-ucb", "tau": 200})");
  EXPECT_EQ(s.name, "sw-ucb");
  EXPECT_EQ(s.label, "sw-ucb");
  EXPECT_DOUBLE_EQ(s.params.at("tau").get<double>(), 200);
  EXPECT_DOUBLE_EQ(s.params.at("xi").get<double>(), 0.6);
  EXPECT_EQ(to_json(spec_of(to_json(s).dump())), to_json(s));
  try {
    spec_of(R"({"name": "i-spliteee"})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("did you mean 'i-splitee'"), std::string::npos)
        << e.what();
  }
  try {
    spec_of(R"({"name": "i-splitee", "betta": 2})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("beta"), std::string::npos) << e.what();
  }
  EXPECT_THROW(spec_of(R"({"name": "sw-ucb", "tau": 0})"), Error);
  EXPECT_THROW(spec_of(R"({"name": "epsilon-greedy", "epsilon": 1.5})"), Error);
  EXPECT_THROW(spec_of(R"({"name": "sw-ucb", "tau": 2.5})"), Error);
  const auto a = parse_policy_argument("discounted-ucb:gamma=0.99,xi=1");
  EXPECT_DOUBLE_EQ(a.params.at("gamma").get<double>(), 0.99);
  EXPECT_DOUBLE_EQ(a.params.at("xi").get<double>(), 1.0);
  EXPECT_THROW(parse_policy_argument("fixed:arm"), Error);
}

TEST(Ucb, FirstKRoundsPlayEachArmOnce) {
  for (const char* name :
       {"i-splitee", "splitee", "sw-ucb", "discounted-ucb", "epsilon-greedy", "thompson"}) {
    auto p = make(name, 5);
    for (Arm t = 0; t < 5; ++t) {
      EXPECT_EQ(arm_of(p->select({t})), t) << name;
      feed(*p, t, std::vector<double>(t + 1, t == 0 ? 1.0 : -1.0));  // arm 0 looks best afterwards
    }
  }
}

TEST(Ucb, TiesGoToShallowestArm) {
  // Every arm observed exactly once with the same reward: equal means and bonuses -> arm 0.
  auto q = make("i-splitee", 3);
  const std::vector<double> rr = {0.5, 0.5, 0.5};
  const std::vector<std::vector<std::uint8_t>> masks = {{1}, {0, 1}, {0, 0, 1}};
  for (Arm t = 0; t < 3; ++t) {
    ASSERT_EQ(arm_of(q->select({t})), t);
    Feedback f;
    f.action = Action::split(t);
    f.num_observed = t + 1;
    f.rewards = rr.data();
    f.valid = masks[t].data();
    q->update(f);
  }
  EXPECT_EQ(arm_of(q->select({3})), 0u);
  auto s = make("splitee", 3);
  for (Arm t = 0; t < 3; ++t) {
    arm_of(s->select({t}));
    feed(*s, t, std::vector<double>(t + 1, 0.5));
  }
  EXPECT_EQ(arm_of(s->select({3})), 0u);
}

// The index S/N + β·sqrt(ln n / N) with n = samples so far including the current one.
TEST(Ucb, IndexMatchesHandComputation) {
  auto p = make("i-splitee:beta=0.5", 3);
  // round 0: arm 0 -> r0 = 0.2; round 1: arm 1 -> r0 = 0.4, r1 = 0.1; round 2: arm 2 ->
  // r0=0.6,r1=0.3,r2=0.5
  arm_of(p->select({0}));
  feed(*p, 0, {0.2});
  arm_of(p->select({1}));
  feed(*p, 1, {0.4, 0.1});
  arm_of(p->select({2}));
  feed(*p, 2, {0.6, 0.3, 0.5});
  // N = 3,2,1 ; means 0.4, 0.2, 0.5 ; n = 4: bonus 0.5*sqrt(ln4/N)
  const double b = 0.5 * std::sqrt(std::log(4.0));
  const double i0 = 0.4 + b / std::sqrt(3.0), i1 = 0.2 + b / std::sqrt(2.0), i2 = 0.5 + b;
  ASSERT_GT(i2, i0);
  ASSERT_GT(i2, i1);
  EXPECT_EQ(arm_of(p->select({3})), 2u);
  // splitee only keeps the chosen arm's reward: N = 1,1,1, means 0.2, 0.1, 0.5 -> arm 2 as well;
  // feed a bad arm-2 round and compare.
  feed(*p, 2, {0.6, 0.3, -1.0});
  // N = 4,3,2 ; means (0.2+0.4+0.6+0.6)/4=0.45, (0.1+0.3+0.3)/3, (0.5-1)/2 ; n = 5
  const double c = 0.5 * std::sqrt(std::log(5.0));
  const double j0 = 0.45 + c / 2.0, j1 = 0.7 / 3 + c / std::sqrt(3.0),
               j2 = -0.25 + c / std::sqrt(2.0);
  ASSERT_GT(j0, j1);
  ASSERT_GT(j0, j2);
  EXPECT_EQ(arm_of(p->select({4})), 0u);
}

TEST(Ucb, SpliteeIgnoresSideObservations) {
  // Same feedback; side observations make arm 0 look bad for i-splitee only.
  auto side = make("i-splitee", 2), plain = make("splitee", 2);
  for (auto* p : {side.get(), plain.get()}) {
    arm_of(p->select({0}));
    feed(*p, 0, {0.9});
    arm_of(p->select({1}));
    feed(*p, 1, {0.9, 0.8});
    for (std::uint64_t t = 2; t < 12; ++t)
      feed(*p, 1, {-1.0, 0.8});  // arm 1 played, arm 0 observed bad
  }
  // plain: arm 0 mean 0.9 (N=1), arm 1 mean 0.8 (N=11) -> arm 0. side: arm 0 mean (0.9+0.9-10)/12
  // -> arm 1.
  EXPECT_EQ(arm_of(plain->select({12})), 0u);
  EXPECT_EQ(arm_of(side->select({12})), 1u);
}

TEST(Ucb, StrictSkipsInvalidObservations) {
  auto p = make("i-splitee", 2);
  arm_of(p->select({0}));
  feed(*p, 0, {0.9});
  arm_of(p->select({1}));
  std::vector<double> r = {-5.0, 0.1};
  std::vector<std::uint8_t> v = {0, 1};  // arm 0's reward unknown this round (strict)
  Feedback f;
  f.action = Action::split(1);
  f.num_observed = 2;
  f.rewards = r.data();
  f.valid = v.data();
  p->update(f);
  // arm 0: N=1, mean 0.9; arm 1: N=1, mean 0.1: equal bonus -> arm 0 (the -5 was not applied).
  EXPECT_EQ(arm_of(p->select({2})), 0u);
}

TEST(Baselines, FixedArms) {
  EXPECT_EQ(arm_of(make("final-exit", 7)->select({0})), 6u);
  EXPECT_EQ(arm_of(make("fixed:arm=3", 7)->select({5})), 2u);
  EXPECT_TRUE(make("cloud-only", 7)->select({0}) == Action::cloud());
  EXPECT_TRUE(make("edge-threshold", 7)->select({0}) == Action::cascade());
  try {
    make("fixed:arm=8", 7);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[1, 7]"), std::string::npos) << e.what();
  }
}

TEST(Baselines, RandomIsSeededAndUniform) {
  auto a = make("random", 4, 42), b = make("random", 4, 42), c = make("random", 4, 43);
  std::vector<int> hist(4, 0);
  bool differs = false;
  for (std::uint64_t t = 0; t < 40000; ++t) {
    const Arm x = arm_of(a->select({t}));
    EXPECT_EQ(x, arm_of(b->select({t})));
    differs |= x != arm_of(c->select({t}));
    ++hist[x];
  }
  EXPECT_TRUE(differs);
  for (int h : hist) EXPECT_NEAR(h / 40000.0, 0.25, 0.015);
  // random-per-run: constant within a run, varies across seeds.
  std::vector<int> seen(4, 0);
  for (std::uint64_t s = 0; s < 200; ++s) {
    auto p = make("random-per-run", 4, s);
    const Arm x = arm_of(p->select({0}));
    for (std::uint64_t t = 1; t < 20; ++t) ASSERT_EQ(arm_of(p->select({t})), x);
    ++seen[x];
  }
  for (int v : seen) EXPECT_GT(v, 20);
}

TEST(Baselines, OraclesUseHindsightOnly) {
  auto best = make("best-fixed", 3);
  const std::vector<double> means = {0.1, 0.4, 0.4};
  best->begin_run({10, &means});
  EXPECT_EQ(arm_of(best->select({0})), 1u);  // tie -> shallowest
  auto ps = make("per-sample-oracle", 3);
  const double row[3] = {0.1, -0.2, 0.3};
  EXPECT_EQ(arm_of(ps->select({0, row})), 2u);
  EXPECT_TRUE(ps->needs_oracle());
}

TEST(EpsilonGreedy, ZeroEpsilonIsGreedy) {
  auto p = make("epsilon-greedy:epsilon=0", 3);
  for (Arm t = 0; t < 3; ++t) {
    arm_of(p->select({t}));
    const std::vector<double> all = {0.1, 0.7, 0.3};
    feed(*p, t, std::vector<double>(all.begin(), all.begin() + t + 1));
  }
  for (std::uint64_t t = 3; t < 50; ++t) EXPECT_EQ(arm_of(p->select({t})), 1u);
  auto q = make("epsilon-greedy:epsilon=1", 3, 5);
  std::vector<int> hist(3, 0);
  for (std::uint64_t t = 3; t < 3003; ++t) ++hist[arm_of(q->select({t}))];
  for (int h : hist) EXPECT_NEAR(h / 3000.0, 1.0 / 3, 0.04);
}

TEST(Thompson, ZeroSigmaIsGreedyAndSeedsReproduce) {
  auto p = make("thompson:sigma=0", 2);
  arm_of(p->select({0}));
  feed(*p, 0, {0.2});
  arm_of(p->select({1}));
  feed(*p, 1, {0.2, 0.6});
  EXPECT_EQ(arm_of(p->select({2})), 1u);
  auto a = make("thompson", 3, 9), b = make("thompson", 3, 9);
  for (std::uint64_t t = 0; t < 200; ++t) {
    const Arm x = arm_of(a->select({t}));
    ASSERT_EQ(x, arm_of(b->select({t})));
    std::vector<double> r(x + 1, 0.1 * static_cast<double>(x));
    feed(*a, x, r);
    feed(*b, x, r);
  }
}

TEST(SlidingWindowUcb, ForgetsRoundsOutsideTheWindow) {
  // τ = 3, ξ = 1: after the window slides, only the last 3 rounds count.
  auto p = make("sw-ucb:tau=3,xi=1", 2);
  arm_of(p->select({0}));
  feed(*p, 0, {1.0});
  arm_of(p->select({1}));
  feed(*p, 1, {1.0, 0.0});
  // window rounds {0,1}: arm0 N=2 mean 1, arm1 N=1 mean 0; n=min(3,3)=3
  const double b = std::sqrt(std::log(3.0));
  ASSERT_GT(1.0 + b / std::sqrt(2.0), 0.0 + b);
  EXPECT_EQ(arm_of(p->select({2})), 0u);
  feed(*p, 0, {-1.0});
  feed(*p, 0, {-1.0});
  // window now rounds {1,2,3}: arm0 rewards {1,-1,-1} N=3 mean -1/3; arm1 {0} N=1 mean 0.
  ASSERT_LT(-1.0 / 3 + b / std::sqrt(3.0), 0.0 + b);
  EXPECT_EQ(arm_of(p->select({4})), 1u);
  feed(*p, 0, {-1.0});
  feed(*p, 0, {-1.0});
  // window rounds {3,4,5}: arm1 has no observation left -> played first.
  EXPECT_EQ(arm_of(p->select({6})), 1u);
}

TEST(DiscountedUcb, DiscountsEveryRound) {
  // γ = 0.5, ξ = 1. Round 0 arm 0 r=1; round 1 arm 1 r0=0, r1=0.2.
  auto p = make("discounted-ucb:gamma=0.5,xi=1", 2);
  arm_of(p->select({0}));
  feed(*p, 0, {1.0});
  arm_of(p->select({1}));
  feed(*p, 1, {0.0, 0.2});
  // arm0: S = 0.5*1 + 0 = 0.5, N = 0.5 + 1 = 1.5 -> mean 1/3 ; arm1: S = 0.2, N = 1 ; n_γ = 0.5*1 +
  // 1 = 1.5
  const double c = 2.0 * std::sqrt(std::log(1.5));
  const double i0 = 0.5 / 1.5 + c / std::sqrt(1.5), i1 = 0.2 + c;
  ASSERT_GT(i1, i0);
  EXPECT_EQ(arm_of(p->select({2})), 1u);
  feed(*p, 1, {-0.5, 0.2});
  feed(*p, 1, {-0.5, 0.2});
  // arm0: S = ((0.5*0.5) - 0.5)*0.5 - 0.5 = -0.625, N = (1.5*.5+1)*.5+1 = 1.875
  // arm1: S = (0.2*.5+.2)*.5+.2 = 0.35, N = 1.75 ; n_γ = (1.5*.5+1)*.5+1 = 1.875
  const double d = 2.0 * std::sqrt(std::log(1.875));
  ASSERT_GT(0.35 / 1.75 + d / std::sqrt(1.75), -0.625 / 1.875 + d / std::sqrt(1.875));
  EXPECT_EQ(arm_of(p->select({4})), 1u);
}

TEST(SlidingWindowUcb, HugeWindowOnShortRunIsCheap) {
  // τ = 10^9 would need ~60 GB of window if allocated eagerly; the run announces T = 50.
  auto p = make("sw-ucb:tau=1000000000", 7);
  p->begin_run({50, nullptr});
  for (std::uint64_t t = 0; t < 50; ++t) {
    const Arm a = arm_of(p->select({t}));
    feed(*p, a, std::vector<double>(a + 1, 0.1 * static_cast<double>(a)));
  }
  EXPECT_LT(arm_of(p->select({50})), 7u);
}

TEST(Thompson, PosteriorDrawsHaveTheStatedScale) {
  // Means 0 and 0.1, N = 1 each, σ = 0.1: P(arm 2) = Φ(0.1 / (0.1·√2)) = Φ(0.7071) = 0.7602.
  auto p = make("thompson:sigma=0.1", 2, 77);
  arm_of(p->select({0}));
  feed(*p, 0, {0.0});
  arm_of(p->select({1}));
  std::vector<double> r = {0.0, 0.1};
  std::vector<std::uint8_t> v = {0, 1};
  Feedback f;
  f.action = Action::split(1);
  f.num_observed = 2;
  f.rewards = r.data();
  f.valid = v.data();
  p->update(f);
  int second = 0;
  for (std::uint64_t t = 2; t < 20002; ++t) second += arm_of(p->select({t})) == 1u;
  EXPECT_NEAR(second / 20000.0, 0.7602, 0.015);
}
