#include "isplitee/sim/experiment.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>

#include "isplitee/common/error.hpp"
#include "isplitee/common/rng.hpp"

namespace isplitee::sim {
namespace {

/// Runs fn(i) for i in [0, n) on `threads` threads. Each index writes only its own slot, so results
/// do not depend on scheduling; the exception of the lowest failing index is rethrown
/// (deterministic).
template <typename Fn>
void parallel_for(std::size_t n, std::size_t threads, Fn&& fn) {
  threads = std::max<std::size_t>(1, std::min(threads, n));
  std::atomic<std::size_t> next{0};
  std::mutex mu;
  std::size_t failed_at = n;
  std::exception_ptr error;
  auto worker = [&] {
    for (std::size_t i = next++; i < n; i = next++) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(mu);
        if (i < failed_at) failed_at = i, error = std::current_exception();
      }
    }
  };
  if (threads == 1) {
    worker();
  } else {
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& th : pool) th.join();
  }
  if (error) std::rethrow_exception(error);
}

/// Traces of one experiment come from one model: same depths (in the chosen units) everywhere.
void check_same_depths(const trace::Trace& t, const trace::Trace& first, const std::string& name,
                       const std::string& first_name, cost::DepthUnits units) {
  auto depths = [&](const trace::Trace& x, const std::string& n) {
    std::vector<double> b, m;
    for (const auto& e : x.manifest.exits)
      b.push_back(e.depth_blocks), m.push_back(e.macs_millions);
    return cost::exit_depths(b, m, units, n);
  };
  ISPLITEE_CHECK_CODE(depths(t, name) == depths(first, first_name), ErrorCode::kData, "trace '",
                      name, "' has other exit depths than trace '", first_name,
                      "' (one model per experiment)");
}

struct StreamRepeat {
  stream::Stream stream;
  Hindsight hindsight;
  double final_accuracy = 0, final_cost = 0;
  /// Accuracy and cost per sample of every fixed arm on this stream (only when a policy has a
  /// cost target: the budget reference).
  std::vector<double> arm_accuracy, arm_cost;
};

/// The resolved inputs shared by every task of an experiment.
struct Plan {
  std::shared_ptr<const EnvironmentProvider> env;
  std::vector<double> depths;
  std::vector<std::size_t> sizes, offsets;
  std::vector<stream::StreamDef> defs;
  std::size_t k = 0, threads = 1;
  RunOptions options;
};

Plan make_plan(const ExperimentSpec& spec, const cost::ExitRule& rule) {
  ISPLITEE_CHECK(!spec.policies.empty(), "experiment: no policy given");
  ISPLITEE_CHECK(spec.repeats >= 1, "experiment: repeats must be >= 1, got ", spec.repeats);
  for (std::size_t i = 0; i < spec.policies.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      ISPLITEE_CHECK(spec.policies[i].label != spec.policies[j].label, "policies: label '",
                     spec.policies[i].label,
                     "' is used twice; give each entry a distinct \"label\"");
  Plan p;
  p.env = spec.environment;
  if (!p.env) {
    ISPLITEE_CHECK(!spec.traces.empty(), "experiment: no trace given");
    ISPLITEE_CHECK(spec.traces.size() == spec.trace_names.size(),
                   "experiment: ", spec.traces.size(), " traces but ", spec.trace_names.size(),
                   " trace names");
    for (std::size_t i = 0; i < spec.traces.size(); ++i) {
      ISPLITEE_CHECK_CODE(spec.traces[i] != nullptr, ErrorCode::kInternal, "trace '",
                          spec.trace_names[i], "' is null");
      check_same_depths(*spec.traces[i], *spec.traces[0], spec.trace_names[i], spec.trace_names[0],
                        spec.cost.depth_units);
    }
    p.env = std::make_shared<TraceProvider>(spec.traces, spec.trace_names, rule);
  }
  // One model per experiment: every source shares K and the depths.
  p.depths = cost::exit_depths(p.env->depth_blocks(), p.env->depth_macs(), spec.cost.depth_units,
                               p.env->names().front());
  p.k = p.depths.size();
  p.sizes = p.env->sizes();
  for (std::size_t i = 0, o = 0; i < p.sizes.size(); o += p.sizes[i++]) p.offsets.push_back(o);
  p.defs = stream::resolve_streams(spec.streams, p.env->names());
  if (!spec.stream_subset.empty()) {
    const auto& idx = spec.stream_subset;
    std::vector<stream::StreamDef> subset;
    for (std::size_t j = 0; j < idx.size(); ++j) {
      ISPLITEE_CHECK_CODE(idx[j] < p.defs.size() && (j == 0 || idx[j] > idx[j - 1]),
                          ErrorCode::kInternal, "experiment: stream subset index ", idx[j],
                          " out of range or not increasing (", p.defs.size(), " streams)");
      subset.push_back(p.defs[idx[j]]);
    }
    p.defs = std::move(subset);
  }
  for (const auto& ps : spec.policies) make_policy(ps, p.k, 0);  // parameter errors before work
  p.threads = spec.threads ? spec.threads : std::max(1u, std::thread::hardware_concurrency());
  if (p.env->max_parallel() > 0) p.threads = std::min(p.threads, p.env->max_parallel());
  p.options.record_steps = spec.record_steps;
  p.options.curve_points = spec.curve_points;
  p.options.activation_bytes = p.env->activation_bytes();
  p.options.decision_batch = spec.decision_batch;
  return p;
}

/// Replays every fixed arm on the stream (hindsight accuracy and cost per sample of each arm), the
/// reference of a policy with a cost target.
void fixed_arm_reference(const Plan& plan, Environment& env, const cost::CostModel& cm,
                         const RunOptions& o, StreamRepeat& sr) {
  RunOptions b = o;
  b.record_steps = false;
  for (std::size_t j = 0; j < plan.k; ++j) {
    const auto fixed =
        make_policy(policy::parse_policy_argument("fixed:arm=" + std::to_string(j + 1)), plan.k, 0);
    const auto m = run_policy(*fixed, env, cm, sr.stream, b);
    sr.arm_accuracy.push_back(m.accuracy);
    sr.arm_cost.push_back(m.cost_per_sample);
  }
}

/// One (stream, repeat) task: draw the stream, open its environment (a trace replay copies the
/// stream's rows in order, so the permuted replay reads memory sequentially), run the baseline,
/// then every policy.
void run_task(const ExperimentSpec& spec, const Plan& plan, const cost::CostModel& cm,
              std::size_t s, std::size_t r, StreamRepeat& sr, RunMetrics* runs,
              const std::function<void()>& tick) {
  const auto drawn =
      stream::build_stream(plan.defs[s], plan.sizes, plan.offsets, plan.env->names(), spec.seed, r);
  auto env = plan.env->open(drawn.samples, cost::exit_rule_of(spec.cost));
  sr.stream = drawn;
  for (std::size_t t = 0; t < drawn.size(); ++t)
    sr.stream.samples[t] = static_cast<std::uint32_t>(t);
  RunOptions o = plan.options;
  std::vector<double> table;
  if (drawn.size() == 0 || env->oracle_scores(0) != nullptr) {
    table = reward_table(*env, cm);
    sr.hindsight = compute_hindsight(sr.stream, table, plan.k);
    o.reward_table = &table;
    o.hindsight = &sr.hindsight;
  }
  // The reference of cost reduction and accuracy drop: the registry's baseline (final-exit), run
  // through the same loop as every policy.
  {
    RunOptions b = o;
    b.record_steps = false;
    const auto base = make_policy(policy::PolicySpec{policy::builtin_policies().baseline().name, "",
                                                     nlohmann::json::object()},
                                  plan.k, 0);
    const auto m = run_policy(*base, *env, cm, sr.stream, b);
    sr.final_accuracy = m.accuracy;
    sr.final_cost = m.cost_total;
  }
  for (std::size_t p = 0; p < spec.policies.size(); ++p) {
    const auto& ps = spec.policies[p];
    const std::uint64_t seed =
        Rng(spec.seed, {stream::name_hash(plan.defs[s].name), stream::name_hash(ps.label), r})
            .next_u64();
    auto policy = make_policy(ps, plan.k, seed);
    runs[p * spec.repeats] = run_policy(*policy, *env, cm, sr.stream, o);
    tick();
  }
  bool any_target = false;
  for (std::size_t p = 0; p < spec.policies.size(); ++p)
    any_target |= std::isfinite(runs[p * spec.repeats].events.cost_target);
  if (any_target) fixed_arm_reference(plan, *env, cm, o, sr);
  // Only the segment boundaries are needed after the runs.
  sr.stream.samples = {};
  sr.stream.segment = {};
}

using MetricFn = double (*)(const RunMetrics&, const StreamRepeat&);

/// The metrics of a cell, in their fixed order.
const std::vector<std::pair<const char*, MetricFn>>& metric_table() {
  static const std::vector<std::pair<const char*, MetricFn>> kMetrics = {
      {"accuracy", [](const RunMetrics& m, const StreamRepeat&) { return m.accuracy; }},
      {"cost_per_sample",
       [](const RunMetrics& m, const StreamRepeat&) { return m.cost_per_sample; }},
      {"cost_total", [](const RunMetrics& m, const StreamRepeat&) { return m.cost_total; }},
      {"cost_reduction",
       [](const RunMetrics& m, const StreamRepeat& sr) {
         return sr.final_cost > 0 ? 100.0 * (1.0 - m.cost_total / sr.final_cost) : 0.0;
       }},
      {"accuracy_drop",
       [](const RunMetrics& m, const StreamRepeat& sr) { return sr.final_accuracy - m.accuracy; }},
      // Percent, like every other share in the outputs (RunMetrics keeps the fraction).
      {"offload_pct",
       [](const RunMetrics& m, const StreamRepeat&) { return 100.0 * m.offload_fraction; }},
      {"mean_reward", [](const RunMetrics& m, const StreamRepeat&) { return m.mean_reward; }},
      {"regret", [](const RunMetrics& m, const StreamRepeat&) { return m.regret; }},
      {"dynamic_regret", [](const RunMetrics& m, const StreamRepeat&) { return m.dynamic_regret; }},
      {"best_fixed_arm", [](const RunMetrics& m,
                            const StreamRepeat&) { return static_cast<double>(m.best_arm + 1); }},
  };
  return kMetrics;
}

/// Distinct alarm rounds of one run, in order.
std::vector<std::uint64_t> alarm_rounds(const policy::PolicyEvents& e) {
  std::vector<std::uint64_t> t;
  for (const auto& a : e.alarms)
    if (t.empty() || t.back() != a.t) t.push_back(a.t);
  return t;
}

/// Change detection of a policy with a detector: per change of the stream (every segment start
/// after the first), the repeats that raised an alarm within kDetectionWindow steps after it and
/// before the next change, and the delay to that alarm; every other alarm is a false alarm.
void add_change_detection(CellResult& c, const RunMetrics* rm, std::size_t nr) {
  if (!rm[0].events.detects_changes) return;
  const auto& starts = c.segment_starts;
  const std::size_t nchange = starts.size() > 1 ? starts.size() - 1 : 0;
  std::vector<std::vector<double>> delays(nchange);
  std::vector<double> alarms, false_alarms, detected;
  for (std::size_t r = 0; r < nr; ++r) {
    const auto t = alarm_rounds(rm[r].events);
    std::vector<bool> explained(t.size(), false);
    double found = 0;
    for (std::size_t i = 0; i < nchange; ++i) {
      const std::size_t from = starts[i + 1];
      const std::size_t next = i + 2 < starts.size() ? starts[i + 2] : c.steps;
      const std::size_t to = std::min(next, from + kDetectionWindow);
      bool first = true;
      for (std::size_t a = 0; a < t.size(); ++a) {
        if (t[a] < from || t[a] >= to) continue;
        explained[a] = true;
        if (first) delays[i].push_back(static_cast<double>(t[a] - from)), found += 1, first = false;
      }
    }
    alarms.push_back(static_cast<double>(t.size()));
    false_alarms.push_back(
        static_cast<double>(std::count(explained.begin(), explained.end(), false)));
    detected.push_back(found);
  }
  c.metrics.emplace_back("alarms", summarize(alarms));
  c.metrics.emplace_back("false_alarms", summarize(false_alarms));
  c.metrics.emplace_back("detected_changes", summarize(detected));
  for (std::size_t i = 0; i < nchange; ++i) {
    ChangeDetection d;
    d.step = starts[i + 1];
    d.detected = delays[i].size();
    if (!delays[i].empty()) {
      d.delay = summarize(delays[i]);
    } else {
      d.delay.mean = d.delay.std = d.delay.ci_low = d.delay.ci_high = std::nan("");
    }
    c.changes.push_back(std::move(d));
  }
}

/// For a policy with a cost target B: the target, the realised gap to it in %, and the best fixed
/// arm (by accuracy) whose hindsight cost per sample on the stream is ≤ B, per repeat.
void add_budget_reference(CellResult& c, const RunMetrics* rm, const StreamRepeat* sr,
                          std::size_t nr) {
  if (!std::isfinite(rm[0].events.cost_target)) return;
  std::vector<double> target, gap, arm, acc, cost;
  for (std::size_t r = 0; r < nr; ++r) {
    const double b = rm[r].events.cost_target;
    target.push_back(b);
    gap.push_back(b > 0 ? 100.0 * (rm[r].cost_per_sample - b) / b : std::nan(""));
    std::size_t best = sr[r].arm_cost.size();
    for (std::size_t j = 0; j < sr[r].arm_cost.size(); ++j)
      if (sr[r].arm_cost[j] <= b &&
          (best == sr[r].arm_cost.size() || sr[r].arm_accuracy[j] > sr[r].arm_accuracy[best]))
        best = j;
    const bool ok = best < sr[r].arm_cost.size();
    arm.push_back(ok ? static_cast<double>(best + 1) : std::nan(""));
    acc.push_back(ok ? sr[r].arm_accuracy[best] : std::nan(""));
    cost.push_back(ok ? sr[r].arm_cost[best] : std::nan(""));
  }
  c.metrics.emplace_back("cost_target", summarize(target));
  c.metrics.emplace_back("budget_gap_pct", summarize(gap));
  c.metrics.emplace_back("budget_ref_arm", summarize(arm));
  c.metrics.emplace_back("budget_ref_accuracy", summarize(acc));
  c.metrics.emplace_back("budget_ref_cost_per_sample", summarize(cost));
}

/// A live run's measurements (edge time, bytes, latency percentiles, throughput, fallbacks) and
/// the percentiles 0..100 of the latencies pooled over repeats (the CDF).
template <typename Collect>
void add_live_metrics(CellResult& c, const RunMetrics* rm, std::size_t nr, Collect collect) {
  using M = const RunMetrics&;
  using S = const StreamRepeat&;
  c.metrics.emplace_back("edge_ms_per_sample",
                         collect([](M m, S) { return m.edge_ms_per_sample; }));
  c.metrics.emplace_back("bytes_sent_per_sample",
                         collect([](M m, S) { return m.bytes_sent_per_sample; }));
  c.metrics.emplace_back("latency_p50_ms", collect([](M m, S) { return m.latency_p50_ms; }));
  c.metrics.emplace_back("latency_p95_ms", collect([](M m, S) { return m.latency_p95_ms; }));
  c.metrics.emplace_back("latency_p99_ms", collect([](M m, S) { return m.latency_p99_ms; }));
  c.metrics.emplace_back("throughput_per_s", collect([](M m, S) { return m.throughput_per_s; }));
  c.metrics.emplace_back("fallback_fraction", collect([](M m, S) { return m.fallback_fraction; }));
  std::vector<float> all;
  for (std::size_t r = 0; r < nr; ++r)
    all.insert(all.end(), rm[r].latency_samples.begin(), rm[r].latency_samples.end());
  std::sort(all.begin(), all.end());
  if (all.empty()) return;
  for (std::size_t q = 0; q <= 100; ++q)  // nearest-rank percentiles 0..100
    c.latency_cdf_ms.push_back(static_cast<double>(
        all[std::min(all.size() - 1, (q * all.size() + 99) / 100 - (q > 0 ? 1 : 0))]));
}

/// Summarises the repeats of one (stream, policy).
CellResult make_cell(const ExperimentSpec& spec, const Plan& plan, std::size_t s, std::size_t p,
                     const std::vector<RunMetrics>& runs, const std::vector<StreamRepeat>& streams,
                     const std::vector<std::string>& names) {
  const std::size_t np = spec.policies.size(), nr = spec.repeats, k = plan.k;
  const RunMetrics* rm = &runs[(s * np + p) * nr];
  const StreamRepeat* sr = &streams[s * nr];
  CellResult c;
  c.stream = plan.defs[s].name;
  c.policy = spec.policies[p].label;
  c.policy_name = spec.policies[p].name;
  c.steps = rm[0].steps;
  c.segment_starts = sr[0].stream.segment_start;
  for (auto t : sr[0].stream.segment_trace) c.segment_traces.push_back(names[t]);
  auto collect = [&](auto get) {
    std::vector<double> v;
    for (std::size_t r = 0; r < nr; ++r) v.push_back(get(rm[r], sr[r]));
    return summarize(std::move(v));
  };
  for (const auto& [name, fn] : metric_table()) c.metrics.emplace_back(name, collect(fn));
  if (rm[0].bytes_known)
    c.metrics.emplace_back(
        "bytes_per_sample",
        collect([](const RunMetrics& m, const StreamRepeat&) { return m.bytes_per_sample; }));
  if (rm[0].measured) add_live_metrics(c, rm, nr, collect);
  c.arm_histogram.assign(k + 1, 0.0);
  c.exit_histogram.assign(k, 0.0);
  c.curve_t = rm[0].curve_t;
  c.bin_edges = rm[0].bin_edges;
  c.arm_over_time.assign(rm[0].arm_over_time.size(), std::vector<double>(k + 1, 0.0));
  const double n = static_cast<double>(nr);
  for (std::size_t r = 0; r < nr; ++r) {
    for (std::size_t j = 0; j <= k; ++j) c.arm_histogram[j] += rm[r].arm_histogram[j] / n;
    for (std::size_t j = 0; j < k; ++j) c.exit_histogram[j] += rm[r].exit_histogram[j] / n;
    for (std::size_t b = 0; b < c.arm_over_time.size(); ++b)
      for (std::size_t j = 0; j <= k; ++j) c.arm_over_time[b][j] += rm[r].arm_over_time[b][j] / n;
  }
  for (std::size_t q = 0; q < c.curve_t.size(); ++q) {
    const auto st =
        collect([&](const RunMetrics& m, const StreamRepeat&) { return m.regret_curve[q]; });
    c.regret_mean.push_back(st.mean);
    c.regret_low.push_back(st.ci_low);
    c.regret_high.push_back(st.ci_high);
  }
  add_change_detection(c, rm, nr);
  add_budget_reference(c, rm, sr, nr);
  return c;
}

}  // namespace

const Stat& CellResult::metric(const std::string& name) const {
  for (const auto& [n, s] : metrics)
    if (n == name) return s;
  fail(ErrorCode::kUsage, "no metric '", name, "' for stream '", stream, "', policy '", policy,
       "'");
}

bool CellResult::has_metric(const std::string& name) const noexcept {
  for (const auto& m : metrics)
    if (m.first == name) return true;
  return false;
}

const CellResult& ExperimentResult::cell(const std::string& s, const std::string& p) const {
  for (const auto& c : cells)
    if (c.stream == s && c.policy == p) return c;
  fail(ErrorCode::kUsage, "no result for stream '", s, "' and policy '", p, "'");
}

ExperimentResult run_experiment(const ExperimentSpec& spec, const ProgressCallback& progress) {
  const auto start = std::chrono::steady_clock::now();
  const cost::ExitRule rule = cost::exit_rule_of(spec.cost);
  const Plan plan = make_plan(spec, rule);
  cost::CostModel cm(spec.cost, plan.depths);
  if (cm.measured()) cm.set_measured_units(plan.env->measured_units());
  const std::size_t ns = plan.defs.size(), np = spec.policies.size(), nr = spec.repeats;
  std::vector<StreamRepeat> streams(ns * nr);
  // Runs are stored stream-major, then policy, then repeat: runs[(s * np + p) * nr + r].
  std::vector<RunMetrics> runs(ns * np * nr);
  std::mutex progress_mu;
  std::size_t done = 0;
  parallel_for(ns * nr, plan.threads, [&](std::size_t i) {
    const std::size_t s = i / nr, r = i % nr;
    run_task(spec, plan, cm, s, r, streams[i], &runs[s * np * nr + r], [&] {
      if (!progress) return;
      std::lock_guard<std::mutex> lock(progress_mu);
      progress(++done, runs.size());
    });
  });

  ExperimentResult res;
  res.cost = spec.cost;
  res.mode = plan.env->mode();
  res.units = plan.env->measured_units();
  res.depths = plan.depths;
  res.num_arms = plan.k;
  res.repeats = nr;
  res.threads = plan.threads;
  res.seed = spec.seed;
  res.trace_names = plan.env->names();
  res.trace_exit_accuracy = plan.env->exit_accuracy();
  for (const auto& d : plan.defs) res.streams.push_back(d.name);
  for (const auto& p : spec.policies) res.policies.push_back(p.label);
  for (std::size_t s = 0; s < ns; ++s)
    for (std::size_t p = 0; p < np; ++p) {
      res.cells.push_back(make_cell(spec, plan, s, p, runs, streams, res.trace_names));
      if (spec.record_steps)
        for (std::size_t r = 0; r < nr; ++r)
          res.cells.back().steps_per_repeat.push_back(
              std::move(runs[(s * np + p) * nr + r].steps_record));
    }
  res.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return res;
}

ExperimentResult merge_partial_results(std::vector<ExperimentResult> parts) {
  ISPLITEE_CHECK_CODE(!parts.empty(), ErrorCode::kInternal, "merge_partial_results: no result");
  ExperimentResult res = std::move(parts.front());
  auto first_seen = [](std::vector<std::string>& list, const std::string& name) {
    if (std::find(list.begin(), list.end(), name) == list.end()) list.push_back(name);
  };
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto& p = parts[i];
    ISPLITEE_CHECK_CODE(p.trace_names == res.trace_names && p.repeats == res.repeats &&
                            p.seed == res.seed && p.num_arms == res.num_arms,
                        ErrorCode::kInternal, "merge_partial_results: part ", i,
                        " is from another experiment");
    for (const auto& s : p.streams) first_seen(res.streams, s);
    for (const auto& q : p.policies) first_seen(res.policies, q);
    for (auto& c : p.cells) res.cells.push_back(std::move(c));
    res.wall_seconds = std::max(res.wall_seconds, p.wall_seconds);
  }
  const std::size_t np = res.policies.size();
  ISPLITEE_CHECK_CODE(res.cells.size() == res.streams.size() * np, ErrorCode::kInternal,
                      "merge_partial_results: ", res.cells.size(), " cells for ",
                      res.streams.size(), " streams × ", np, " policies");
  for (std::size_t k = 0; k < res.cells.size(); ++k)
    ISPLITEE_CHECK_CODE(
        res.cells[k].stream == res.streams[k / np] && res.cells[k].policy == res.policies[k % np],
        ErrorCode::kInternal, "merge_partial_results: cell ", k, " is ", res.cells[k].stream, " / ",
        res.cells[k].policy, ", not in stream-major order");
  return res;
}

}  // namespace isplitee::sim
