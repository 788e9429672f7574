#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/report/result_io.hpp"
#include "isplitee/sim/experiment.hpp"
#include "support/synthetic_trace.hpp"
#include "support/temp_dir.hpp"

using namespace isplitee;
using namespace isplitee::sim;

namespace {

/// Every registered policy except the contextual ones (the synthetic traces carry no entropy or
/// margin; linucb-split has its own experiment test).
std::vector<policy::PolicySpec> all_policies() {
  std::vector<policy::PolicySpec> v;
  for (const auto& n : policy::builtin_policies().names()) {
    auto s = policy::parse_policy_argument(n == "fixed" ? "fixed:arm=2" : n);
    if (!policy::make_policy(s, 2, 0)->needs_context()) v.push_back(std::move(s));
  }
  return v;
}

ExperimentSpec small_spec() {
  ExperimentSpec s;
  s.trace_names = {"none", "noise@1", "noise@2"};
  s.traces = {synth::synthetic_trace(800, {0.45, 0.6, 0.7, 0.85}, 1),
              synth::synthetic_trace(700, {0.35, 0.5, 0.65, 0.8}, 2),
              synth::synthetic_trace(600, {0.25, 0.4, 0.55, 0.75}, 3)};
  const auto doc = config::Document::parse(
      R"({"schedules": [{"name": "drift", "segments": [{"trace": "none", "length": 500},
                                                        {"trace": "noise@2", "length": 700}], "cycles": 2}]})",
      "exp.json");
  s.streams = stream::parse_streams_config(config::Node(doc));
  s.policies = all_policies();
  s.repeats = 3;
  s.seed = 11;
  s.curve_points = 20;
  return s;
}

std::string canonical(const ExperimentResult& r) {
  auto j = report::to_json(r);
  j["wall_seconds"] = 0;
  j["threads"] = 0;
  return j.dump();
}

}  // namespace

TEST(Experiment, BitIdenticalAcrossThreadCounts) {
  auto spec = small_spec();
  spec.threads = 1;
  const auto a = run_experiment(spec);
  spec.threads = 2;
  const auto b = run_experiment(spec);
  spec.threads = 7;
  const auto c = run_experiment(spec);
  EXPECT_EQ(canonical(a), canonical(b));
  EXPECT_EQ(canonical(a), canonical(c));
  spec.seed = 12;
  EXPECT_NE(canonical(run_experiment(spec)), canonical(a));
  ASSERT_EQ(a.cells.size(), 4u * spec.policies.size());
  EXPECT_GE(spec.policies.size(), 17u);
  EXPECT_EQ(a.streams, (std::vector<std::string>{"none", "noise@1", "noise@2", "drift"}));
}

TEST(Experiment, PartsMergeToTheWholeExperiment) {
  // What `mpirun` does with a replay point: (stream, policy) cells spread over the ranks, merged
  // on rank 0 after a JSON round trip. Here: stream subsets, then single cells.
  auto spec = small_spec();
  spec.threads = 2;
  const auto whole = run_experiment(spec);
  ASSERT_EQ(whole.streams.size(), 4u);  // three traces and the drift schedule
  std::vector<ExperimentResult> parts;
  for (const auto& subset : std::vector<std::vector<std::size_t>>{{0}, {1, 2}, {3}}) {
    spec.stream_subset = subset;
    parts.push_back(report::experiment_result_from_json(report::to_json(run_experiment(spec))));
  }
  EXPECT_EQ(parts[1].streams, (std::vector<std::string>{whole.streams[1], whole.streams[2]}));
  EXPECT_EQ(canonical(merge_partial_results(std::move(parts))), canonical(whole));
  const auto all_policies = spec.policies;
  std::vector<ExperimentResult> cells;
  for (std::size_t s = 0; s < whole.streams.size(); ++s)
    for (const auto& p : all_policies) {
      spec.stream_subset = {s};
      spec.policies = {p};
      cells.push_back(report::experiment_result_from_json(report::to_json(run_experiment(spec))));
    }
  auto swapped = cells;
  std::swap(swapped[0], swapped[1]);
  EXPECT_EQ(canonical(merge_partial_results(std::move(cells))), canonical(whole));
  EXPECT_THROW(merge_partial_results(std::move(swapped)), Error);  // not in cell order
  spec.policies = all_policies;
  spec.stream_subset = {2, 1};
  EXPECT_THROW(run_experiment(spec), Error);
  spec.stream_subset = {4};
  EXPECT_THROW(run_experiment(spec), Error);
}

TEST(Experiment, ReferenceMetricsHold) {
  auto spec = small_spec();
  spec.threads = 2;
  const auto r = run_experiment(spec);
  for (const auto& s : r.streams) {
    const auto& fe = r.cell(s, "final-exit");
    EXPECT_EQ(fe.metric("cost_reduction").mean, 0.0);
    EXPECT_EQ(fe.metric("accuracy_drop").mean, 0.0);
    EXPECT_EQ(fe.arm_histogram, (std::vector<double>{0, 0, 0, 1, 0}));
    EXPECT_NEAR(fe.metric("cost_per_sample").mean, 0.4, 1e-12);  // λ·l_K = 0.1·4
    // best-fixed has zero regret by definition; per-sample oracle is never worse.
    EXPECT_EQ(r.cell(s, "best-fixed").metric("regret").mean, 0.0);
    for (double v : r.cell(s, "per-sample-oracle").metric("regret").values) EXPECT_LE(v, 1e-9);
    // cloud-only predicts with the final exit: same accuracy, cost o.
    EXPECT_NEAR(r.cell(s, "cloud-only").metric("accuracy_drop").mean, 0.0, 1e-9);
    EXPECT_NEAR(r.cell(s, "cloud-only").metric("cost_per_sample").mean, 0.5, 1e-12);
    // dynamic regret ≥ regret (each segment's best is at least as good as the global best there).
    for (const auto& p : r.policies) {
      const auto& c = r.cell(s, p);
      for (std::size_t i = 0; i < c.metric("regret").values.size(); ++i)
        EXPECT_GE(c.metric("dynamic_regret").values[i], c.metric("regret").values[i] - 1e-9)
            << s << " " << p;
      double hist = 0;
      for (double h : c.arm_histogram) hist += h;
      EXPECT_NEAR(hist, 1.0, 1e-9);
      EXPECT_EQ(c.regret_mean.size(), c.curve_t.size());
      EXPECT_NEAR(c.regret_mean.back(), c.metric("regret").mean,
                  1e-6 * (1 + std::fabs(c.metric("regret").mean)));
      EXPECT_TRUE(c.has_metric("bytes_per_sample") == (p != "cloud-only")) << p;
    }
  }
  const auto& drift = r.cell("drift", "i-splitee");
  EXPECT_EQ(drift.steps, 2400u);
  EXPECT_EQ(drift.segment_starts, (std::vector<std::size_t>{0, 500, 1200, 1700}));
  EXPECT_EQ(drift.segment_traces, (std::vector<std::string>{"none", "noise@2", "none", "noise@2"}));
  EXPECT_EQ(r.cell("none", "i-splitee").steps, 800u);
}

TEST(Experiment, JsonRoundTripAndStepsCsv) {
  auto spec = small_spec();
  spec.policies = {policy::parse_policy_argument("i-splitee"),
                   policy::parse_policy_argument("cloud-only"),
                   policy::parse_policy_argument("edge-threshold")};
  spec.record_steps = true;
  spec.repeats = 2;
  const auto r = run_experiment(spec);
  const auto j = report::to_json(r);
  const auto back = report::experiment_result_from_json(nlohmann::json::parse(j.dump()));
  EXPECT_EQ(report::to_json(back).dump(), j.dump());
  EXPECT_EQ(back.cell("drift", "i-splitee").metric("accuracy").values,
            r.cell("drift", "i-splitee").metric("accuracy").values);
  EXPECT_THROW(report::experiment_result_from_json(nlohmann::json::object(), "bad.json"), Error);
  const isplitee::testing::TempDir tmp("steps");
  const auto path = tmp / "steps.csv";
  report::write_steps_csv(path, r);
  const auto text = read_text_file(path);
  std::filesystem::remove(path);
  std::size_t lines = 0;
  for (char ch : text) lines += ch == '\n';
  // header + 2 repeats × 3 policies × (800 + 700 + 600 + 2400) steps
  EXPECT_EQ(lines, 1u + 2 * 3 * 4500);
  EXPECT_EQ(text.rfind("stream,policy,repeat,t,segment,arm,exited,offloaded,exit,prediction,"
                       "correct,cost,reward,regret\n",
                       0),
            0u);
  EXPECT_NE(text.find(",cloud,0,1,4,"), std::string::npos);
  EXPECT_NE(text.find(",cascade,"), std::string::npos);
}

TEST(Experiment, ErrorsBeforeWork) {
  auto spec = small_spec();
  spec.policies.push_back(policy::parse_policy_argument("i-splitee"));
  EXPECT_THROW(run_experiment(spec), Error);  // duplicate label
  spec = small_spec();
  spec.policies = {policy::parse_policy_argument("fixed:arm=9")};
  EXPECT_THROW(run_experiment(spec), Error);  // K = 4
  spec = small_spec();
  auto other = synth::synthetic_trace(10, {0.5, 0.6, 0.7, 0.8}, 1, 0.1, {1, 2, 3, 5});
  spec.traces[1] = other;
  try {
    run_experiment(spec);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("noise@1"), std::string::npos) << e.what();
  }
}

TEST(Stats, StudentIntervalsMatchScipy) {
  // scipy.stats.t.ppf(0.975, df)
  EXPECT_NEAR(student_t95(1), 12.706204736174707, 1e-9);
  EXPECT_NEAR(student_t95(4), 2.7764451051977987, 1e-9);
  EXPECT_NEAR(student_t95(19), 2.093024054408263, 1e-9);
  EXPECT_NEAR(student_t95(31), 2.0395134463964077, 1e-9);
  EXPECT_NEAR(student_t95(40), 2.021075390306273, 1e-9);
  EXPECT_NEAR(student_t95(100), 1.9839715184496334, 1e-9);
  EXPECT_NEAR(student_t95(100000), 1.959963984540054 + 2.4e-5, 1e-6);
  const auto s = summarize({1, 2, 3, 4, 5});
  EXPECT_DOUBLE_EQ(s.mean, 3);
  EXPECT_NEAR(s.std, std::sqrt(2.5), 1e-12);
  EXPECT_NEAR(s.ci_high - s.mean, 2.7764451 * std::sqrt(2.5) / std::sqrt(5.0), 1e-6);
  const auto one = summarize({7});
  EXPECT_EQ(one.std, 0);
  EXPECT_EQ(one.ci_low, 7);
}

TEST(Experiment, CostReductionAndAccuracyDropByHand) {
  // K = 3, l = 1,2,3; final-exit costs 0.3 per sample and predicts (2, 2, 3) for labels (1, 2, 3).
  ExperimentSpec spec;
  spec.trace_names = {"tiny"};
  spec.traces = {synth::explicit_trace({{0.9f, 0.6f, 0.7f}, {0.3f, 0.4f, 0.8f}, {0.2f, 0.7f, 0.6f}},
                                       {{1, 1, 2}, {0, 5, 2}, {3, 3, 3}}, {1, 2, 3}, {1, 2, 3})};
  spec.policies = {policy::parse_policy_argument("fixed:arm=2"),
                   policy::parse_policy_argument("final-exit"),
                   policy::parse_policy_argument("fixed:arm=1")};
  spec.policies[2].label = "arm1";
  spec.repeats = 4;
  const auto r = run_experiment(spec);
  const auto& a2 = r.cell("tiny", "fixed");
  // arm 2: costs 0.2 (exit), 0.7 (offload), 0.2 (exit) = 1.1 vs 0.9; all three correct vs 2 of 3.
  EXPECT_NEAR(a2.metric("cost_reduction").mean, 100.0 * (1 - 1.1 / 0.9), 1e-9);
  EXPECT_NEAR(a2.metric("accuracy_drop").mean, 100.0 * 2 / 3 - 100.0, 1e-9);
  EXPECT_NEAR(a2.metric("accuracy_drop").std, 0.0, 1e-12);  // permutations do not change totals
  EXPECT_NEAR(a2.metric("offload_pct").mean, 100.0 / 3, 1e-10);
  // arm 1: exit (0.1), offload (0.6), offload (0.6) = 1.3; preds 1, 2, 3 -> all correct.
  const auto& a1 = r.cell("tiny", "arm1");
  EXPECT_NEAR(a1.metric("cost_per_sample").mean, 1.3 / 3, 1e-12);
  EXPECT_NEAR(a1.metric("cost_reduction").mean, 100.0 * (1 - 1.3 / 0.9), 1e-9);
  EXPECT_NEAR(a1.metric("best_fixed_arm").mean, 3.0, 1e-12);  // oracle sums 1.0, 1.0, 1.2
  EXPECT_NEAR(a1.metric("regret").mean, 1.2 - 1.0, 1e-6);
  EXPECT_EQ(r.cell("tiny", "final-exit").exit_histogram, (std::vector<double>{0, 0, 1}));
}

TEST(Experiment, PerExitAccuracyOfTheTrace) {
  ExperimentSpec spec;
  spec.trace_names = {"tiny"};
  spec.traces = {synth::explicit_trace({{0.9f, 0.6f, 0.7f}, {0.3f, 0.4f, 0.8f}, {0.2f, 0.7f, 0.6f}},
                                       {{1, 1, 2}, {0, 5, 2}, {3, 3, 3}}, {1, 2, 3}, {1, 2, 3})};
  spec.policies = {policy::parse_policy_argument("final-exit")};
  spec.repeats = 1;
  const auto r = run_experiment(spec);
  ASSERT_EQ(r.trace_exit_accuracy.size(), 1u);
  // exit 1: preds 1,0,3 vs 1,2,3 -> 2/3; exit 2: 1,5,3 -> 2/3; exit 3: 2,2,3 -> 2/3.
  for (double a : r.trace_exit_accuracy[0]) EXPECT_NEAR(a, 200.0 / 3, 1e-9);
  EXPECT_NE(report::format_table(r).find("exit accuracy % of trace tiny: 66.67 66.67 66.67"),
            std::string::npos)
      << report::format_table(r);
}
