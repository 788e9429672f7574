// Policy decision throughput and the sweep goal of issue 6 (BENCHMARKS.md / bench/results/core.md).
//   bench_policy                                  all benchmarks
//   bench_policy --write-trace=DIR [--steps=N] [--lambda=L]   writes the K=7 benchmark trace and
//   prints the in-order
//                                                 I-SplitEE checksum that
//                                                 bench/python/policy_reference.py must reproduce
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

#include "isplitee/common/rng.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/sim/experiment.hpp"
#include "isplitee/sim/simulator.hpp"
#include "isplitee/trace/trace.hpp"

using namespace isplitee;

namespace {

const std::vector<double> kPaperDepths = {3, 6, 9, 12, 15, 18, 19};

/// A K=7 trace with the paper's depths: confidences rise with depth, as in MobileNetV2 exits.
/// With `context`, entropy and margin columns that follow the confidence (for contextual
/// policies; the others never read them).
std::shared_ptr<trace::Trace> bench_trace(std::size_t n, std::uint64_t seed, double shift = 0.0,
                                          bool context = false) {
  auto t = std::make_shared<trace::Trace>();
  const std::vector<double> mean = {0.35, 0.45, 0.55, 0.65, 0.75, 0.85, 0.9};
  t->num_samples = n;
  t->num_exits = 7;
  t->manifest.num_classes = 10;
  for (double d : kPaperDepths) {
    trace::ExitInfo x;
    x.depth_blocks = d;
    t->manifest.exits.push_back(x);
  }
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const auto y = static_cast<std::int32_t>(rng.uniform_int(10));
    t->label.push_back(y);
    for (std::size_t e = 0; e < 7; ++e) {
      double c = mean[e] - shift + 0.15 * rng.normal();
      c = c < 0 ? 0 : c > 1 ? 1 : c;
      t->conf.push_back(static_cast<float>(c));
      t->pred.push_back(rng.uniform() < c ? y : (y + 1) % 10);
      if (context) {
        t->entropy.push_back(static_cast<float>((1.0 - c) * std::log(10.0)));
        t->margin.push_back(static_cast<float>(0.9 * c));
      }
    }
  }
  return t;
}

/// The full replay loop (select, observe, side observations, update, metrics) of one policy, K = 7.
/// `lambda` = 0.1 (paper): the best arm is shallow, few side observations per round;
/// `lambda` = 0.01: deep arms win, up to 7 side observations per round (the costly case).
void BM_ReplayDecisions(benchmark::State& state, const std::string& policy, double lambda) {
  const bool context =
      policy::make_policy(policy::parse_policy_argument(policy), 7, 0)->needs_context();
  const auto tr = bench_trace(10000, 1, 0.0, context);
  cost::CostConfig cfg;
  cfg.lambda = lambda;
  const cost::CostModel cm(cfg, kPaperDepths);
  sim::TraceEnvironment env({tr}, cost::ExitRule(0.5));
  const auto table = sim::reward_table(env, cm);
  const std::size_t T = 1000000;
  const auto s = stream::build_stream({"s", {{0, T}}}, {tr->num_samples}, {0}, {"s"}, 0, 0);
  sim::RunOptions o;
  o.reward_table = &table;
  double deep = 0;
  for (auto _ : state) {
    auto p = policy::make_policy(policy::parse_policy_argument(policy), 7, 0);
    auto m = sim::run_policy(*p, env, cm, s, o);
    benchmark::DoNotOptimize(m.regret);
    deep = 0;
    for (std::size_t j = 0; j < 7; ++j) deep += static_cast<double>(j + 1) * m.arm_histogram[j];
  }
  state.counters["mean_arm"] = deep;
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * T));
}

/// The policy alone (select + update with 1..i_t side observations), no environment or metrics.
void BM_ISpliteeSelectUpdate(benchmark::State& state) {
  const auto tr = bench_trace(10000, 1);
  const cost::CostModel cm(cost::CostConfig{}, kPaperDepths);
  sim::TraceEnvironment env({tr}, cost::ExitRule(0.5));
  const auto table = sim::reward_table(env, cm);
  const std::uint8_t valid[7] = {1, 1, 1, 1, 1, 1, 1};
  auto p = policy::make_policy(policy::parse_policy_argument("i-splitee"), 7, 0);
  std::uint64_t t = 0;
  std::size_t i = 0;
  for (auto _ : state) {
    const auto a = p->select({t++}).arm();
    policy::Feedback f;
    f.action = policy::Action::split(a);
    f.num_observed = a + 1;
    f.rewards = &table[i * 7];
    f.valid = valid;
    p->update(f);
    if (++i == 10000) i = 0;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}

/// Issue 6 goal: 5 repeats × 14 policies × 13 traces × 10,000 samples in under 1 s on 2 cores.
void BM_Sweep(benchmark::State& state) {
  sim::ExperimentSpec spec;
  for (int i = 0; i < 13; ++i) {
    spec.trace_names.push_back("trace" + std::to_string(i));
    spec.traces.push_back(bench_trace(10000, 100 + i, 0.02 * i));
  }
  // The goal is about version 0.1's 14 policies: the policies added later are left out.
  for (const auto& n : policy::builtin_policies().names())
    if (n != "cusum-ucb" && n != "glr-ucb" && n != "budgeted-ucb" && n != "linucb-split")
      spec.policies.push_back(policy::parse_policy_argument(n == "fixed" ? "fixed:arm=3" : n));
  spec.repeats = 5;
  spec.threads = static_cast<std::size_t>(state.range(0));
  for (auto _ : state) {
    auto r = sim::run_experiment(spec);
    benchmark::DoNotOptimize(r.cells.data());
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * 5 * 14 * 13 * 10000));
}

int write_reference_trace(const std::string& dir, std::size_t steps, double lambda) {
  const auto tr = bench_trace(10000, 1);
  trace::write_trace(dir, *tr);
  // In-order stream (sample t mod N) so that the Python reference replays the same sequence.
  cost::CostConfig cfg;
  cfg.lambda = lambda;
  const cost::CostModel cm(cfg, kPaperDepths);
  sim::TraceEnvironment env({tr}, cost::ExitRule(0.5));
  stream::Stream s;
  for (std::size_t t = 0; t < steps; ++t)
    s.samples.push_back(static_cast<std::uint32_t>(t % tr->num_samples));
  s.segment.assign(steps, 0);
  s.segment_start = {0};
  s.segment_trace = {0};
  auto p = policy::make_policy(policy::parse_policy_argument("i-splitee"), 7, 0);
  const std::clock_t c0 = std::clock();
  const auto m = sim::run_policy(*p, env, cm, s, {});
  const double cpu = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  std::printf("steps %zu total_reward %.9f total_cost %.9f correct %.0f arms", steps,
              m.mean_reward * static_cast<double>(steps), m.cost_total,
              m.accuracy * static_cast<double>(steps) / 100.0);
  for (std::size_t j = 0; j < 7; ++j)
    std::printf(" %.0f", m.arm_histogram[j] * static_cast<double>(steps));
  std::printf("\n");
  std::fprintf(stderr,
               "c++: %.0f decisions/s (%.3f s CPU, full replay loop incl. hindsight and metrics)\n",
               static_cast<double>(steps) / cpu, cpu);
  return 0;
}

}  // namespace

BENCHMARK(BM_ISpliteeSelectUpdate);
BENCHMARK_CAPTURE(BM_ReplayDecisions, i_splitee, std::string("i-splitee"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, splitee, std::string("splitee"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, final_exit, std::string("final-exit"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, edge_threshold, std::string("edge-threshold"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, random, std::string("random"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, epsilon_greedy, std::string("epsilon-greedy"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, thompson, std::string("thompson"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, sw_ucb, std::string("sw-ucb"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, discounted_ucb, std::string("discounted-ucb"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, per_sample_oracle, std::string("per-sample-oracle"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, cusum_ucb, std::string("cusum-ucb"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, glr_ucb, std::string("glr-ucb"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, budgeted_ucb,
                  std::string("budgeted-ucb:target_reduction=0.3"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, linucb_split, std::string("linucb-split"), 0.1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, i_splitee_deep, std::string("i-splitee"), 0.01)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, sw_ucb_deep, std::string("sw-ucb"), 0.01)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, glr_ucb_deep, std::string("glr-ucb"), 0.01)
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_ReplayDecisions, linucb_split_deep, std::string("linucb-split"), 0.01)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sweep)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

int main(int argc, char** argv) {
  std::string dir;
  std::size_t steps = 100000;
  double lambda = 0.1;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--write-trace=", 14) == 0)
      dir = argv[i] + 14;
    else if (std::strncmp(argv[i], "--steps=", 8) == 0)
      steps = std::stoul(argv[i] + 8);
    else if (std::strncmp(argv[i], "--lambda=", 9) == 0)
      lambda = std::stod(argv[i] + 9);
    else
      rest.push_back(argv[i]);
  }
  if (!dir.empty()) return write_reference_trace(dir, steps, lambda);
  int n = static_cast<int>(rest.size());
  benchmark::Initialize(&n, rest.data());
  if (benchmark::ReportUnrecognizedArguments(n, rest.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
