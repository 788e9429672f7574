// Statistical behaviour of the learners on synthetic instances (fixed seeds: deterministic, not
// flaky).
#include <gtest/gtest.h>

#include <cmath>

#include "isplitee/sim/simulator.hpp"
#include "support/synthetic_trace.hpp"

using namespace isplitee;
using namespace isplitee::sim;

namespace {

struct Instance {
  std::shared_ptr<trace::Trace> trace;
  cost::CostModel cm{cost::CostConfig{}, {1, 2, 3, 4}};
};

// K = 4, l = 1..4, default cost (λ=0.1, μ=1, o=0.5, α=0.5). Mean rewards ≈ 0.27, 0.53, 0.50, 0.45:
// the best arm is the second one, and the two deeper arms are only learnt by playing them.
Instance stationary() {
  Instance in;
  in.trace = synth::synthetic_trace(20000, {0.35, 0.75, 0.8, 0.85}, 5, 0.1);
  return in;
}

std::vector<double> true_means(const Instance& in, std::size_t* best) {
  TraceEnvironment env({in.trace}, cost::ExitRule(0.5));
  const auto table = reward_table(env, in.cm);
  std::vector<double> mean(4, 0.0);
  for (std::size_t i = 0; i < in.trace->num_samples; ++i)
    for (std::size_t j = 0; j < 4; ++j)
      mean[j] += table[i * 4 + j] / static_cast<double>(in.trace->num_samples);
  *best = 0;
  for (std::size_t j = 1; j < 4; ++j)
    if (mean[j] > mean[*best]) *best = j;
  return mean;
}

}  // namespace

// docs/method.md §5: UCB with side observations has logarithmic regret on a stationary stream.
// Envelope: R(t) ≤ c·ln t with c = 2·Σ_{j≠i*} β²/Δ_j (the UCB gap bound with this index's constant,
// doubled as margin), checked at 100 points up to T = 10^6; R(T)/T must fall at every decade.
TEST(Regret, ISpliteeIsLogarithmicUpToOneMillion) {
  const auto in = stationary();
  std::size_t best = 0;
  const auto mean = true_means(in, &best);
  ASSERT_EQ(best, 1u);
  double c = 0;
  for (std::size_t j = 0; j < 4; ++j)
    if (j != best) {
      ASSERT_GT(mean[best] - mean[j], 0.02) << j;
      c += 2.0 / (mean[best] - mean[j]);
    }
  const std::size_t T = 1000000;
  TraceEnvironment env({in.trace}, cost::ExitRule(0.5));
  const auto table = reward_table(env, in.cm);
  const auto s = stream::build_stream({"s", {{0, T}}}, {in.trace->num_samples}, {0}, {"s"}, 3, 0);
  auto p = policy::make_policy(policy::parse_policy_argument("i-splitee"), 4, 0);
  RunOptions o;
  o.curve_points = 1000;
  o.reward_table = &table;
  const auto m = run_policy(*p, env, in.cm, s, o);
  ASSERT_EQ(m.best_arm, 1u);
  double prev_rate = 1e9;
  for (std::size_t q = 0; q < m.curve_t.size(); ++q) {
    const double t = static_cast<double>(m.curve_t[q]);
    EXPECT_LE(m.regret_curve[q], c * std::log(t)) << "t=" << t << " c=" << c;
    const auto tt = m.curve_t[q];
    if (tt == 1000 || tt == 10000 || tt == 100000 || tt == 1000000) {
      const double rate = m.regret_curve[q] / t;
      std::printf("T=%zu R=%.2f R/T=%.3g  c*lnT=%.1f\n", tt, m.regret_curve[q], rate,
                  c * std::log(t));
      EXPECT_LT(rate, prev_rate) << "R(T)/T must fall, t=" << t;
      prev_rate = rate;
    }
  }
  EXPECT_LT(m.regret / static_cast<double>(T), 1e-3);
  EXPECT_GT(m.arm_histogram[1], 0.99);
}

namespace {

/// Fraction of segment-2 steps in which `policy` plays the new best arm, averaged over 3 repeats.
double recovery_share(const std::string& policy, std::size_t seg) {
  // Segment 1: the shallow arm exits confidently (best: arm 1). Segment 2: shallow exits are unsure
  // and offloading is dear, the final exit is best (arm 3). Mean rewards: A ≈ .80/.75/.67, B ≈
  // .35/.25/.65.
  const auto a = synth::synthetic_trace(5000, {0.9, 0.95, 0.97}, 21, 0.03);
  const auto b = synth::synthetic_trace(5000, {0.2, 0.3, 0.95}, 22, 0.03);
  const cost::CostModel cm(cost::CostConfig{}, {1, 2, 3});
  TraceEnvironment env({a, b}, cost::ExitRule(0.5));
  const auto table = reward_table(env, cm);
  double share = 0;
  for (std::size_t r = 0; r < 3; ++r) {
    const auto s = stream::build_stream({"drift", {{0, seg}, {1, seg}}}, {5000, 5000},
                                        env.offsets(), {"a", "b"}, 9, r);
    auto p = policy::make_policy(policy::parse_policy_argument(policy), 3, r);
    RunOptions o;
    o.reward_table = &table;
    o.record_steps = true;
    const auto m = run_policy(*p, env, cm, s, o);
    EXPECT_EQ(m.segment_best_arm, (std::vector<std::size_t>{0, 2}));
    double hits = 0;
    for (std::size_t t = seg; t < 2 * seg; ++t)
      hits += m.steps_record[t].action == policy::Action::split(2);
    share += hits / static_cast<double>(seg) / 3.0;
  }
  return share;
}

}  // namespace

// docs/method.md §5: after an abrupt change the non-stationary UCBs recover faster than UCB.
TEST(Drift, WindowedAndDiscountedUcbRecoverFaster) {
  const std::size_t seg = 20000;
  const double ucb = recovery_share("i-splitee", seg);
  const double sw = recovery_share("sw-ucb:tau=500", seg);
  const double du = recovery_share("discounted-ucb:gamma=0.998", seg);
  // Steps after the change spent away from the new best arm (measured: ucb ≈ 3900, sw ≈ 12, d-ucb ≈
  // 1).
  const double miss_ucb = (1 - ucb) * seg, miss_sw = (1 - sw) * seg, miss_du = (1 - du) * seg;
  std::printf("steps off the new best arm after the change: ucb %.0f  sw-ucb %.0f  d-ucb %.0f\n",
              miss_ucb, miss_sw, miss_du);
  EXPECT_GT(miss_ucb,
            1000.0);  // UCB's long memory keeps it on the stale arm for thousands of steps
  EXPECT_LT(miss_sw * 5, miss_ucb);
  EXPECT_LT(miss_du * 5, miss_ucb);
  EXPECT_LT(miss_sw, 1000.0);  // a window of 500 forgets within about two windows
  EXPECT_LT(miss_du, 1000.0);
}
