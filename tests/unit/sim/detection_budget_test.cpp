// The experiment's change-detection and budget tables: delays, false alarms and the budget
// reference against hand-computed cases; linucb-split through the replay loop.
#include <gtest/gtest.h>

#include <cmath>

#include "isplitee/common/error.hpp"
#include "isplitee/report/result_io.hpp"
#include "isplitee/sim/experiment.hpp"
#include "support/synthetic_trace.hpp"

using namespace isplitee;
using namespace isplitee::sim;

namespace {

/// A test-only policy: always arm 1, with a change detector that "fires" at fixed rounds.
class FixedAlarms final : public policy::Policy {
 public:
  explicit FixedAlarms(std::size_t k) : Policy(k) {}
  std::string_view name() const noexcept override { return "test-fixed-alarms"; }
  policy::PolicyEvents events() const override {
    policy::PolicyEvents e;
    e.detects_changes = true;
    // Two arms at 510 count once.
    for (std::uint64_t t : {100u, 510u, 510u, 520u, 1300u, 2000u}) e.alarms.push_back({t, 0});
    return e;
  }

 private:
  policy::Action do_select(const policy::Round&) override { return policy::Action::split(0); }
  void do_update(const policy::Feedback&) override {}
};

ExperimentSpec drift_spec(const std::string& segments, std::size_t cycles) {
  ExperimentSpec s;
  s.trace_names = {"none", "noise"};
  s.traces = {synth::synthetic_trace(800, {0.45, 0.6, 0.7, 0.85}, 1),
              synth::synthetic_trace(700, {0.25, 0.4, 0.55, 0.75}, 3)};
  const auto doc = config::Document::parse(
      R"({"per_trace": false, "schedules": [{"name": "drift", "segments": )" + segments +
          R"(, "cycles": )" + std::to_string(cycles) + "}]}",
      "exp.json");
  s.streams = stream::parse_streams_config(config::Node(doc));
  s.repeats = 2;
  s.seed = 3;
  s.curve_points = 10;
  s.threads = 2;
  return s;
}

/// Adds entropy (nats) and margin columns that follow the confidence, so exit 1's context
/// carries information.
std::shared_ptr<trace::Trace> with_context(std::shared_ptr<trace::Trace> t) {
  for (float c : t->conf) {
    t->entropy.push_back(static_cast<float>((1.0 - c) * std::log(10.0)));
    t->margin.push_back(static_cast<float>(0.9 * c));
  }
  return t;
}

}  // namespace

TEST(ChangeDetection, DelaysAndFalseAlarmsByHand) {
  policy::register_policy({"test-fixed-alarms",
                           "test only: arm 1 with alarms at fixed rounds",
                           {},
                           [](const nlohmann::json&, std::size_t k, std::uint64_t) {
                             return std::make_unique<FixedAlarms>(k);
                           },
                           policy::Role::kReference,
                           false,
                           false});
  // Segments start at 0, 500, 1200, 1700; 2400 steps. Windows: [500, 1200), [1200, 1700),
  // [1700, 2400). Alarms 100 (false), 510 (change 1, delay 10), 520 (change 1, not the first),
  // 1300 (change 2, delay 100), 2000 (change 3, delay 300).
  auto spec =
      drift_spec(R"([{"trace": "none", "length": 500}, {"trace": "noise", "length": 700}])", 2);
  spec.policies = {policy::parse_policy_argument("test-fixed-alarms"),
                   policy::parse_policy_argument("i-splitee")};
  const auto r = run_experiment(spec);
  const auto& c = r.cell("drift", "test-fixed-alarms");
  EXPECT_EQ(c.segment_starts, (std::vector<std::size_t>{0, 500, 1200, 1700}));
  EXPECT_EQ(c.metric("alarms").mean, 5.0);
  EXPECT_EQ(c.metric("false_alarms").mean, 1.0);
  EXPECT_EQ(c.metric("detected_changes").mean, 3.0);
  ASSERT_EQ(c.changes.size(), 3u);
  const double delay[3] = {10, 100, 300};
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(c.changes[i].step, c.segment_starts[i + 1]);
    EXPECT_EQ(c.changes[i].detected, 2u);
    EXPECT_EQ(c.changes[i].delay.mean, delay[i]);
  }
  // A policy without a detector gets no detection metrics.
  EXPECT_FALSE(r.cell("drift", "i-splitee").has_metric("false_alarms"));
  EXPECT_TRUE(r.cell("drift", "i-splitee").changes.empty());
  // The windows end after kDetectionWindow steps: with segments of 1500 the alarm at 2000 (change
  // at 1500) is a detection, the one at 1300 is false.
  auto longer =
      drift_spec(R"([{"trace": "none", "length": 1500}, {"trace": "noise", "length": 1500}])", 1);
  longer.policies = {policy::parse_policy_argument("test-fixed-alarms")};
  const auto lr = run_experiment(longer);
  const auto& l = lr.cell("drift", "test-fixed-alarms");
  ASSERT_EQ(l.changes.size(), 1u);
  EXPECT_EQ(l.changes[0].delay.mean, 500.0);
  EXPECT_EQ(l.metric("false_alarms").mean, 4.0);
  // report.json keeps the per-change table.
  const auto j = report::to_json(r);
  const auto back = report::experiment_result_from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(report::to_json(back).dump(), j.dump());
  EXPECT_EQ(back.cell("drift", "test-fixed-alarms").changes[1].delay.mean, 100.0);
}

TEST(ChangeDetection, CusumAndGlrReportTheirAlarms) {
  auto spec =
      drift_spec(R"([{"trace": "none", "length": 3000}, {"trace": "noise", "length": 3000}])", 1);
  spec.policies = {policy::parse_policy_argument("cusum-ucb"),
                   policy::parse_policy_argument("glr-ucb:reset=all")};
  const auto r = run_experiment(spec);
  for (const auto* p : {"cusum-ucb", "glr-ucb"}) {
    const auto& c = r.cell("drift", p);
    ASSERT_EQ(c.changes.size(), 1u) << p;
    EXPECT_TRUE(c.has_metric("false_alarms")) << p;
    EXPECT_EQ(c.metric("alarms").values.size(), 2u);
  }
}

TEST(BudgetReference, MostAccurateFixedArmWithinTheTarget) {
  auto spec = drift_spec(R"([{"trace": "none", "length": 800}])", 1);
  // λ = 0.1, depths 1..4: final-exit costs 0.4; target_reduction 0.25 -> B = 0.3.
  spec.policies = {policy::parse_policy_argument("budgeted-ucb:target_reduction=0.25")};
  for (int a = 1; a <= 4; ++a) {
    auto f = policy::parse_policy_argument("fixed:arm=" + std::to_string(a));
    f.label = "arm" + std::to_string(a);
    spec.policies.push_back(f);
  }
  const auto r = run_experiment(spec);
  const auto& c = r.cell("drift", "budgeted-ucb");
  EXPECT_NEAR(c.metric("cost_target").mean, 0.3, 1e-12);
  for (std::size_t rep = 0; rep < 2; ++rep) {
    // The reference by hand from the fixed-arm cells of the same repeat.
    double best_acc = -1, best_cost = 0, best_arm = 0;
    for (int a = 1; a <= 4; ++a) {
      const auto& f = r.cell("drift", "arm" + std::to_string(a));
      const double cost = f.metric("cost_per_sample").values[rep];
      const double acc = f.metric("accuracy").values[rep];
      if (cost <= 0.3 && acc > best_acc) best_acc = acc, best_cost = cost, best_arm = a;
    }
    ASSERT_GT(best_arm, 0);
    EXPECT_EQ(c.metric("budget_ref_arm").values[rep], best_arm);
    EXPECT_EQ(c.metric("budget_ref_accuracy").values[rep], best_acc);
    EXPECT_EQ(c.metric("budget_ref_cost_per_sample").values[rep], best_cost);
    EXPECT_NEAR(c.metric("budget_gap_pct").values[rep],
                100 * (c.metric("cost_per_sample").values[rep] - 0.3) / 0.3, 1e-9);
  }
  EXPECT_FALSE(r.cell("drift", "arm1").has_metric("cost_target"));
}

TEST(LinUcbSplit, RunsThroughTheReplayLoopWithExitContext) {
  auto spec =
      drift_spec(R"([{"trace": "none", "length": 800}, {"trace": "noise", "length": 700}])", 1);
  spec.traces = {with_context(synth::synthetic_trace(800, {0.45, 0.6, 0.7, 0.85}, 1)),
                 with_context(synth::synthetic_trace(700, {0.25, 0.4, 0.55, 0.75}, 3))};
  spec.policies = {policy::parse_policy_argument("linucb-split"),
                   policy::parse_policy_argument("per-sample-oracle")};
  const auto r = run_experiment(spec);
  const auto& c = r.cell("drift", "linucb-split");
  EXPECT_EQ(c.steps, 1500u);
  // The per-sample oracle bounds every policy's mean reward from above.
  for (std::size_t rep = 0; rep < 2; ++rep)
    EXPECT_LE(c.metric("mean_reward").values[rep],
              r.cell("drift", "per-sample-oracle").metric("mean_reward").values[rep] + 1e-12);
  // Without entropy and margin in the traces: one clear error.
  spec.traces = {synth::synthetic_trace(800, {0.45, 0.6, 0.7, 0.85}, 1),
                 synth::synthetic_trace(700, {0.25, 0.4, 0.55, 0.75}, 3)};
  try {
    run_experiment(spec);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("entropy and margin"), std::string::npos) << e.what();
  }
}
