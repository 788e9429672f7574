#include "isplitee/sim/experiment.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/rng.hpp"
#include "isplitee/common/text.hpp"

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

struct StreamRepeat {
  stream::Stream stream;
  Hindsight hindsight;
  double final_accuracy = 0, final_cost = 0;
};

nlohmann::json stat_json(const std::string& name, const Stat& s) {
  auto num = [](double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
  };
  nlohmann::json vals = nlohmann::json::array();
  for (double v : s.values) vals.push_back(num(v));
  return {{"name", name},
          {"mean", num(s.mean)},
          {"std", num(s.std)},
          {"ci_low", num(s.ci_low)},
          {"ci_high", num(s.ci_high)},
          {"values", vals}};
}

double num_of(const nlohmann::json& j) { return j.is_null() ? std::nan("") : j.get<double>(); }

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
  ISPLITEE_CHECK(!spec.traces.empty(), "experiment: no trace given");
  ISPLITEE_CHECK(spec.traces.size() == spec.trace_names.size(), "experiment: ", spec.traces.size(),
                 " traces but ", spec.trace_names.size(), " trace names");
  ISPLITEE_CHECK(!spec.policies.empty(), "experiment: no policy given");
  ISPLITEE_CHECK(spec.repeats >= 1, "experiment: repeats must be >= 1, got ", spec.repeats);
  for (std::size_t i = 0; i < spec.policies.size(); ++i)
    for (std::size_t j = 0; j < i; ++j)
      ISPLITEE_CHECK(spec.policies[i].label != spec.policies[j].label, "policies: label '",
                     spec.policies[i].label,
                     "' is used twice; give each entry a distinct \"label\"");

  // One model per experiment: every trace shares K and the depths (METHOD.md §1).
  const auto depths =
      cost::exit_depths(spec.traces[0]->manifest, spec.cost.depth_units, spec.trace_names[0]);
  const std::size_t k = depths.size();
  std::vector<double> act_bytes;
  for (const auto& e : spec.traces[0]->manifest.exits)
    act_bytes.push_back(static_cast<double>(e.activation_bytes));
  if (std::any_of(act_bytes.begin(), act_bytes.end(), [](double b) { return b <= 0; }))
    act_bytes.clear();
  std::vector<std::size_t> sizes;
  for (std::size_t i = 0; i < spec.traces.size(); ++i) {
    ISPLITEE_CHECK_CODE(spec.traces[i] != nullptr, ErrorCode::kInternal, "trace '",
                        spec.trace_names[i], "' is null");
    const auto d =
        cost::exit_depths(spec.traces[i]->manifest, spec.cost.depth_units, spec.trace_names[i]);
    ISPLITEE_CHECK_CODE(d == depths, ErrorCode::kData, "trace '", spec.trace_names[i],
                        "' has other exit depths than trace '", spec.trace_names[0],
                        "' (one model per experiment)");
    sizes.push_back(spec.traces[i]->num_samples);
  }
  const cost::CostModel cm(spec.cost, depths);
  TraceEnvironment env(spec.traces, spec.cost.alpha);
  const auto defs = stream::resolve_streams(spec.streams, spec.trace_names);
  for (const auto& p : spec.policies)
    make_policy(p, k, 0);  // surfaces parameter errors before any work
  const std::vector<double> table = reward_table(env, cm);
  std::size_t threads =
      spec.threads ? spec.threads : std::max(1u, std::thread::hardware_concurrency());

  const std::size_t ns = defs.size(), np = spec.policies.size(), nr = spec.repeats;
  RunOptions opt;
  opt.record_steps = spec.record_steps;
  opt.curve_points = spec.curve_points;
  opt.activation_bytes = act_bytes;
  std::vector<StreamRepeat> streams(ns * nr);
  std::vector<RunMetrics> runs(ns * np * nr);
  std::mutex progress_mu;
  std::size_t done = 0;
  // One task per (stream, repeat): draw the stream, gather its rows in stream order (the permuted
  // replay then reads memory sequentially: every policy of the group reuses the copy), then run
  // every policy.
  parallel_for(ns * nr, threads, [&](std::size_t i) {
    const std::size_t s = i / nr, r = i % nr;
    auto& sr = streams[i];
    const auto drawn =
        stream::build_stream(defs[s], sizes, env.offsets(), spec.trace_names, spec.seed, r);
    TraceEnvironment local = env.gather(drawn.samples);  // owned by this task (one thread)
    std::vector<double> local_table(drawn.size() * k);
    for (std::size_t t = 0; t < drawn.size(); ++t)
      std::copy_n(&table[static_cast<std::size_t>(drawn.samples[t]) * k], k, &local_table[t * k]);
    sr.stream = drawn;
    for (std::size_t t = 0; t < drawn.size(); ++t)
      sr.stream.samples[t] = static_cast<std::uint32_t>(t);
    double ok = 0, cost = 0;
    // Summed step by step exactly as run_policy does, so final-exit's own reduction is exactly 0.
    for (std::size_t t = 0; t < drawn.size(); ++t) {
      ok += local.observe(t, static_cast<Arm>(k - 1)).prediction == local.label(t);
      cost += cm.edge_cost(k - 1);
    }
    const double n = std::max<double>(1.0, static_cast<double>(drawn.size()));
    sr.final_accuracy = 100.0 * ok / n;
    sr.final_cost = cost;
    sr.hindsight = compute_hindsight(sr.stream, local_table, k);
    RunOptions o = opt;
    o.reward_table = &local_table;
    o.hindsight = &sr.hindsight;
    for (std::size_t p = 0; p < np; ++p) {
      const auto& ps = spec.policies[p];
      const std::uint64_t seed =
          Rng(spec.seed, {stream::name_hash(defs[s].name), stream::name_hash(ps.label), r})
              .next_u64();
      auto policy = make_policy(ps, k, seed);
      runs[(s * np + p) * nr + r] = run_policy(*policy, local, cm, sr.stream, o);
      if (progress) {
        std::lock_guard<std::mutex> lock(progress_mu);
        progress(++done, runs.size());
      }
    }
    // Only the segment boundaries are needed after the runs.
    sr.stream.samples = {};
    sr.stream.segment = {};
  });

  ExperimentResult res;
  res.cost = spec.cost;
  res.depths = depths;
  res.num_arms = k;
  res.repeats = nr;
  res.threads = threads;
  res.seed = spec.seed;
  res.trace_names = spec.trace_names;
  for (const auto& t : spec.traces) res.trace_exit_accuracy.push_back(trace::exit_accuracy(*t));
  for (const auto& d : defs) res.streams.push_back(d.name);
  for (const auto& p : spec.policies) res.policies.push_back(p.label);
  for (std::size_t s = 0; s < ns; ++s) {
    for (std::size_t p = 0; p < np; ++p) {
      CellResult c;
      c.stream = defs[s].name;
      c.policy = spec.policies[p].label;
      c.policy_name = spec.policies[p].name;
      const auto& st0 = streams[s * nr].stream;
      c.steps = runs[(s * np + p) * nr].steps;
      c.segment_starts = st0.segment_start;
      for (auto t : st0.segment_trace) c.segment_traces.push_back(spec.trace_names[t]);
      auto collect = [&](auto get) {
        std::vector<double> v;
        for (std::size_t r = 0; r < nr; ++r)
          v.push_back(get(runs[(s * np + p) * nr + r], streams[s * nr + r]));
        return summarize(std::move(v));
      };
      c.metrics.emplace_back(
          "accuracy", collect([](const RunMetrics& m, const StreamRepeat&) { return m.accuracy; }));
      c.metrics.emplace_back(
          "cost_per_sample",
          collect([](const RunMetrics& m, const StreamRepeat&) { return m.cost_per_sample; }));
      c.metrics.emplace_back("cost_total", collect([](const RunMetrics& m, const StreamRepeat&) {
                               return m.cost_total;
                             }));
      c.metrics.emplace_back(
          "cost_reduction", collect([](const RunMetrics& m, const StreamRepeat& sr) {
            return sr.final_cost > 0 ? 100.0 * (1.0 - m.cost_total / sr.final_cost) : 0.0;
          }));
      c.metrics.emplace_back("accuracy_drop",
                             collect([](const RunMetrics& m, const StreamRepeat& sr) {
                               return sr.final_accuracy - m.accuracy;
                             }));
      c.metrics.emplace_back(
          "offload_fraction",
          collect([](const RunMetrics& m, const StreamRepeat&) { return m.offload_fraction; }));
      c.metrics.emplace_back("mean_reward", collect([](const RunMetrics& m, const StreamRepeat&) {
                               return m.mean_reward;
                             }));
      c.metrics.emplace_back(
          "regret", collect([](const RunMetrics& m, const StreamRepeat&) { return m.regret; }));
      c.metrics.emplace_back(
          "dynamic_regret",
          collect([](const RunMetrics& m, const StreamRepeat&) { return m.dynamic_regret; }));
      c.metrics.emplace_back("best_fixed_arm",
                             collect([](const RunMetrics& m, const StreamRepeat&) {
                               return static_cast<double>(m.best_arm + 1);
                             }));
      const auto& first = runs[(s * np + p) * nr];
      if (first.bytes_known)
        c.metrics.emplace_back(
            "bytes_per_sample",
            collect([](const RunMetrics& m, const StreamRepeat&) { return m.bytes_per_sample; }));
      c.arm_histogram.assign(k + 1, 0.0);
      c.exit_histogram.assign(k, 0.0);
      c.curve_t = first.curve_t;
      c.bin_edges = first.bin_edges;
      c.arm_over_time.assign(first.arm_over_time.size(), std::vector<double>(k + 1, 0.0));
      for (std::size_t r = 0; r < nr; ++r) {
        const auto& m = runs[(s * np + p) * nr + r];
        for (std::size_t j = 0; j <= k; ++j)
          c.arm_histogram[j] += m.arm_histogram[j] / static_cast<double>(nr);
        for (std::size_t j = 0; j < k; ++j)
          c.exit_histogram[j] += m.exit_histogram[j] / static_cast<double>(nr);
        for (std::size_t b = 0; b < c.arm_over_time.size(); ++b)
          for (std::size_t j = 0; j <= k; ++j)
            c.arm_over_time[b][j] += m.arm_over_time[b][j] / static_cast<double>(nr);
      }
      for (std::size_t q = 0; q < c.curve_t.size(); ++q) {
        const auto st =
            collect([&](const RunMetrics& m, const StreamRepeat&) { return m.regret_curve[q]; });
        c.regret_mean.push_back(st.mean);
        c.regret_low.push_back(st.ci_low);
        c.regret_high.push_back(st.ci_high);
      }
      if (spec.record_steps)
        for (std::size_t r = 0; r < nr; ++r)
          c.steps_per_repeat.push_back(std::move(runs[(s * np + p) * nr + r].steps_record));
      res.cells.push_back(std::move(c));
    }
  }
  res.wall_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return res;
}

nlohmann::json to_json(const ExperimentResult& r) {
  nlohmann::json cells = nlohmann::json::array();
  for (const auto& c : r.cells) {
    nlohmann::json metrics = nlohmann::json::array();
    for (const auto& [n, s] : c.metrics) metrics.push_back(stat_json(n, s));
    cells.push_back(
        {{"stream", c.stream},
         {"policy", c.policy},
         {"policy_name", c.policy_name},
         {"steps", c.steps},
         {"metrics", metrics},
         {"arm_histogram", c.arm_histogram},
         {"exit_histogram", c.exit_histogram},
         {"regret_curve",
          {{"t", c.curve_t},
           {"mean", c.regret_mean},
           {"low", c.regret_low},
           {"high", c.regret_high}}},
         {"arm_over_time", {{"bin_edges", c.bin_edges}, {"fractions", c.arm_over_time}}},
         {"segments", {{"starts", c.segment_starts}, {"traces", c.segment_traces}}}});
  }
  return {{"cost", cost::to_json(r.cost)},  {"depths", r.depths},
          {"num_arms", r.num_arms},         {"repeats", r.repeats},
          {"threads", r.threads},           {"seed", r.seed},
          {"trace_names", r.trace_names},   {"trace_exit_accuracy", r.trace_exit_accuracy},
          {"streams", r.streams},           {"policies", r.policies},
          {"wall_seconds", r.wall_seconds}, {"cells", cells}};
}

ExperimentResult experiment_result_from_json(const nlohmann::json& j, const std::string& source) {
  ExperimentResult r;
  try {
    const auto doc = config::Document::from_json(j.at("cost"), source);
    const config::Node cost_node(doc.json(), source, "cost");
    r.cost = cost::parse_cost_config(cost_node);
    r.depths = j.at("depths").get<std::vector<double>>();
    r.num_arms = j.at("num_arms").get<std::size_t>();
    r.repeats = j.at("repeats").get<std::size_t>();
    r.threads = j.at("threads").get<std::size_t>();
    r.seed = j.at("seed").get<std::uint64_t>();
    r.trace_names = j.at("trace_names").get<std::vector<std::string>>();
    if (j.contains("trace_exit_accuracy"))
      r.trace_exit_accuracy = j.at("trace_exit_accuracy").get<std::vector<std::vector<double>>>();
    r.streams = j.at("streams").get<std::vector<std::string>>();
    r.policies = j.at("policies").get<std::vector<std::string>>();
    r.wall_seconds = j.at("wall_seconds").get<double>();
    for (const auto& cj : j.at("cells")) {
      CellResult c;
      c.stream = cj.at("stream").get<std::string>();
      c.policy = cj.at("policy").get<std::string>();
      c.policy_name = cj.at("policy_name").get<std::string>();
      c.steps = cj.at("steps").get<std::size_t>();
      for (const auto& mj : cj.at("metrics")) {
        Stat s;
        s.mean = num_of(mj.at("mean"));
        s.std = num_of(mj.at("std"));
        s.ci_low = num_of(mj.at("ci_low"));
        s.ci_high = num_of(mj.at("ci_high"));
        for (const auto& v : mj.at("values")) s.values.push_back(num_of(v));
        c.metrics.emplace_back(mj.at("name").get<std::string>(), std::move(s));
      }
      c.arm_histogram = cj.at("arm_histogram").get<std::vector<double>>();
      c.exit_histogram = cj.at("exit_histogram").get<std::vector<double>>();
      const auto& rc = cj.at("regret_curve");
      c.curve_t = rc.at("t").get<std::vector<std::size_t>>();
      for (const auto& v : rc.at("mean")) c.regret_mean.push_back(num_of(v));
      for (const auto& v : rc.at("low")) c.regret_low.push_back(num_of(v));
      for (const auto& v : rc.at("high")) c.regret_high.push_back(num_of(v));
      c.bin_edges = cj.at("arm_over_time").at("bin_edges").get<std::vector<std::size_t>>();
      c.arm_over_time =
          cj.at("arm_over_time").at("fractions").get<std::vector<std::vector<double>>>();
      c.segment_starts = cj.at("segments").at("starts").get<std::vector<std::size_t>>();
      c.segment_traces = cj.at("segments").at("traces").get<std::vector<std::string>>();
      r.cells.push_back(std::move(c));
    }
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kData, source, ": not a valid experiment result (", e.what(), ")");
  }
  return r;
}

void write_steps_csv(const std::filesystem::path& path, const ExperimentResult& r) {
  write_file_atomic(path, [&](std::ostream& os) {
    os << "stream,policy,repeat,t,segment,arm,exited,offloaded,exit,prediction,correct,cost,reward,"
          "regret\n";
    char buf[96];
    for (const auto& c : r.cells)
      for (std::size_t rep = 0; rep < c.steps_per_repeat.size(); ++rep)
        for (const auto& s : c.steps_per_repeat[rep]) {
          os << c.stream << ',' << c.policy << ',' << rep << ',' << s.t << ',' << s.segment << ',';
          if (s.arm == policy::kCloudArm)
            os << "cloud";
          else if (s.arm == policy::kCascadeArm)
            os << "cascade";
          else
            os << s.arm + 1;
          std::snprintf(buf, sizeof buf, ",%d,%d,%u,%d,%d,%.10g,%.10g,%.10g\n", s.exited ? 1 : 0,
                        s.offloaded ? 1 : 0, s.exit_used + 1, s.prediction, s.correct ? 1 : 0,
                        s.cost, s.reward, s.regret);
          os << buf;
        }
  });
}

std::string format_table(const ExperimentResult& r) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "cost: alpha=%g lambda=%g mu=%g offload=%g depth_units=%s side_info=%s; %zu "
                "repeats, seed %llu\n",
                r.cost.alpha, r.cost.lambda, r.cost.mu, r.cost.offload,
                cost::to_string(r.cost.depth_units).c_str(),
                cost::to_string(r.cost.side_info).c_str(), r.repeats,
                static_cast<unsigned long long>(r.seed));
  out += buf;
  for (std::size_t i = 0; i < r.trace_names.size() && i < r.trace_exit_accuracy.size(); ++i) {
    out += "exit accuracy % of trace " + r.trace_names[i] + ":";
    for (double a : r.trace_exit_accuracy[i]) {
      std::snprintf(buf, sizeof buf, " %.2f", a);
      out += buf;
    }
    out += "\n";
  }
  std::size_t ws = 6, wp = 6;
  for (const auto& c : r.cells)
    ws = std::max(ws, c.stream.size()), wp = std::max(wp, c.policy.size());
  std::snprintf(buf, sizeof buf, "%-*s  %-*s  %16s  %9s  %10s  %10s  %8s  %12s  %12s\n",
                static_cast<int>(ws), "stream", static_cast<int>(wp), "policy", "accuracy % (±ci)",
                "cost/smp", "cost red %", "acc drop", "offload", "regret", "dyn regret");
  out += buf;
  for (const auto& c : r.cells) {
    const auto& a = c.metric("accuracy");
    std::snprintf(buf, sizeof buf,
                  "%-*s  %-*s  %8.2f (±%5.2f)  %9.4f  %10.2f  %10.2f  %8.3f  %12.2f  %12.2f\n",
                  static_cast<int>(ws), c.stream.c_str(), static_cast<int>(wp), c.policy.c_str(),
                  a.mean, a.ci_high - a.mean, c.metric("cost_per_sample").mean,
                  c.metric("cost_reduction").mean, c.metric("accuracy_drop").mean,
                  c.metric("offload_fraction").mean, c.metric("regret").mean,
                  c.metric("dynamic_regret").mean);
    out += buf;
  }
  return out;
}

}  // namespace isplitee::sim
