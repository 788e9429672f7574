// report.json's experiment part, steps.csv and the replay table: how an ExperimentResult is
// written and read back.
#include "isplitee/report/result_io.hpp"

#include <cmath>
#include <cstdio>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/config/node.hpp"

namespace isplitee::report {
namespace {

nlohmann::json stat_json(const std::string& name, const sim::Stat& s) {
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

// What every reader of a result (tables, summary, plots) relies on; a hand-edited or foreign
// report.json that breaks it is refused with the first inconsistency instead of crashing later.
void check_structure(const sim::ExperimentResult& r, const std::string& source) {
  const auto bad = [&](const std::string& where, const auto&... what) {
    fail(ErrorCode::kData, source, ": ", where, ": ", what...);
  };
  const std::size_t k = r.num_arms, np = r.policies.size();
  if (r.depths.size() != k) bad("depths", r.depths.size(), " values for num_arms = ", k);
  if (r.cells.size() != r.streams.size() * np)
    bad("cells", r.cells.size(), " cells for ", r.streams.size(), " streams × ", np, " policies");
  for (std::size_t i = 0; i < r.cells.size(); ++i) {
    const auto& c = r.cells[i];
    const std::string where = "cells[" + std::to_string(i) + "]";
    if (c.stream != r.streams[i / np] || c.policy != r.policies[i % np])
      bad(where, "stream '", c.stream, "', policy '", c.policy, "' where '", r.streams[i / np],
          "', '", r.policies[i % np], "' belong (cells are stream-major)");
    for (const char* m : {"accuracy", "cost_per_sample", "cost_reduction", "accuracy_drop",
                          "offload_pct", "regret", "dynamic_regret"})
      if (!c.has_metric(m)) bad(where, "lacks the metric '", m, "'");
    if (c.arm_histogram.size() != k + 1 || c.exit_histogram.size() != k)
      bad(where, "arm/exit histograms have ", c.arm_histogram.size(), "/", c.exit_histogram.size(),
          " entries for K = ", k, " (expected K+1/K)");
    if (c.regret_mean.size() != c.curve_t.size() || c.regret_low.size() != c.curve_t.size() ||
        c.regret_high.size() != c.curve_t.size())
      bad(where, "regret curve columns differ in length");
    if (!c.arm_over_time.empty() && c.bin_edges.size() != c.arm_over_time.size() + 1)
      bad(where, c.bin_edges.size(), " bin edges for ", c.arm_over_time.size(), " bins");
    for (const auto& bin : c.arm_over_time)
      if (bin.size() != k + 1)
        bad(where, "an arm_over_time bin has ", bin.size(), " entries, not K+1");
    if (c.segment_traces.size() != c.segment_starts.size())
      bad(where, c.segment_starts.size(), " segment starts for ", c.segment_traces.size(),
          " segment traces");
  }
}

sim::Stat stat_from_json(const nlohmann::json& mj) {
  sim::Stat s;
  s.mean = num_of(mj.at("mean"));
  s.std = num_of(mj.at("std"));
  s.ci_low = num_of(mj.at("ci_low"));
  s.ci_high = num_of(mj.at("ci_high"));
  for (const auto& v : mj.at("values")) s.values.push_back(num_of(v));
  return s;
}

/// Change detection per change (policies with a change detector only).
nlohmann::json changes_json(const sim::CellResult& c) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : c.changes)
    out.push_back(
        {{"step", d.step}, {"detected", d.detected}, {"delay", stat_json("delay", d.delay)}});
  return out;
}

std::vector<sim::ChangeDetection> changes_from_json(const nlohmann::json& cj) {
  std::vector<sim::ChangeDetection> out;
  if (!cj.contains("changes")) return out;
  for (const auto& dj : cj.at("changes")) {
    sim::ChangeDetection d;
    d.step = dj.at("step").get<std::size_t>();
    d.detected = dj.at("detected").get<std::size_t>();
    d.delay = stat_from_json(dj.at("delay"));
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace

nlohmann::json to_json(const sim::ExperimentResult& r) {
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
    if (!c.changes.empty()) cells.back()["changes"] = changes_json(c);
    if (!c.latency_cdf_ms.empty()) cells.back()["latency_cdf_ms"] = c.latency_cdf_ms;  // live
  }
  nlohmann::json out = {{"cost", cost::to_json(r.cost)},
          {"mode", r.mode},
          {"depths", r.depths},
          {"num_arms", r.num_arms},
          {"repeats", r.repeats},
          {"threads", r.threads},
          {"seed", r.seed},
          {"trace_names", r.trace_names},
          {"trace_exit_accuracy", r.trace_exit_accuracy},
          {"streams", r.streams},
          {"policies", r.policies},
          {"wall_seconds", r.wall_seconds},
          {"cells", cells}};
  if (r.units.full_ms > 0)  // live runs: the units of edge time and bytes
    out["live_units"] = {{"full_network_ms", r.units.full_ms},
                         {"input_bytes", r.units.input_bytes},
                         {"split_bytes", r.units.split_bytes}};
  return out;
}

sim::ExperimentResult experiment_result_from_json(const nlohmann::json& j,
                                                  const std::string& source) {
  sim::ExperimentResult r;
  try {
    const auto doc = config::Document::from_json(j.at("cost"), source);
    const config::Node cost_node(doc.json(), source, "cost");
    r.cost = cost::parse_cost_config(cost_node);
    r.mode = j.value("mode", std::string("replay"));
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
      sim::CellResult c;
      c.stream = cj.at("stream").get<std::string>();
      c.policy = cj.at("policy").get<std::string>();
      c.policy_name = cj.at("policy_name").get<std::string>();
      c.steps = cj.at("steps").get<std::size_t>();
      for (const auto& mj : cj.at("metrics")) {
        sim::Stat s = stat_from_json(mj);
        std::string name = mj.at("name").get<std::string>();
        if (name == "offload_fraction") {  // report.json of version 0.1: a fraction, now percent
          name = "offload_pct";
          for (double* v : {&s.mean, &s.std, &s.ci_low, &s.ci_high}) *v *= 100.0;
          for (double& v : s.values) v *= 100.0;
        }
        c.metrics.emplace_back(std::move(name), std::move(s));
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
      c.changes = changes_from_json(cj);
      if (cj.contains("latency_cdf_ms"))
        c.latency_cdf_ms = cj.at("latency_cdf_ms").get<std::vector<double>>();
      r.cells.push_back(std::move(c));
    }
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kData, source, ": not a valid experiment result (", e.what(), ")");
  }
  check_structure(r, source);
  return r;
}

void write_steps_csv(const std::filesystem::path& path, const sim::ExperimentResult& r) {
  write_file_atomic(path, [&](std::ostream& os) {
    os << "stream,policy,repeat,t,segment,arm,exited,offloaded,exit,prediction,correct,cost,reward,"
          "regret\n";
    char buf[96];
    for (const auto& c : r.cells)
      for (std::size_t rep = 0; rep < c.steps_per_repeat.size(); ++rep)
        for (const auto& s : c.steps_per_repeat[rep]) {
          os << c.stream << ',' << c.policy << ',' << rep << ',' << s.t << ',' << s.segment << ',';
          os << s.action.to_string();
          std::snprintf(buf, sizeof buf, ",%d,%d,%u,%d,%d,%.10g,%.10g,%.10g\n", s.exited ? 1 : 0,
                        s.offloaded ? 1 : 0, s.exit_used + 1, s.prediction, s.correct ? 1 : 0,
                        s.cost, s.reward, s.regret);
          os << buf;
        }
  });
}

std::string format_table(const sim::ExperimentResult& r) {
  std::string out;
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "cost: alpha=%g lambda=%g mu=%g offload=%g depth_units=%s side_info=%s "
                "exit_rule=%s%s; %zu repeats, seed %llu\n",
                r.cost.alpha, r.cost.lambda, r.cost.mu, r.cost.offload,
                cost::to_string(r.cost.depth_units).c_str(),
                cost::to_string(r.cost.side_info).c_str(),
                cost::to_string(r.cost.exit_rule.kind).c_str(),
                r.cost.exit_rule.calibrate ? " (calibrated)" : "", r.repeats,
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
  std::snprintf(buf, sizeof buf, "%-*s  %-*s  %16s  %9s  %10s  %10s  %9s  %12s  %12s\n",
                static_cast<int>(ws), "stream", static_cast<int>(wp), "policy", "accuracy % (±ci)",
                "cost/smp", "cost red %", "acc drop", "offload %", "regret", "dyn regret");
  out += buf;
  // Fewer than 3 repeats give no usable 95% interval (t_{0.975,1} = 12.7): "—" and a warning.
  const bool intervals = r.repeats >= 3;
  for (const auto& c : r.cells) {
    const auto& a = c.metric("accuracy");
    char hw[32] = "—";
    if (intervals) std::snprintf(hw, sizeof hw, "%5.2f", a.ci_high - a.mean);
    std::snprintf(buf, sizeof buf,
                  "%-*s  %-*s  %8.2f (±%5s)  %9.4f  %10.2f  %10.2f  %9.1f  %12.2f  %12.2f\n",
                  static_cast<int>(ws), c.stream.c_str(), static_cast<int>(wp), c.policy.c_str(),
                  a.mean, hw, c.metric("cost_per_sample").mean, c.metric("cost_reduction").mean,
                  c.metric("accuracy_drop").mean, c.metric("offload_pct").mean,
                  c.metric("regret").mean, c.metric("dynamic_regret").mean);
    out += buf;
  }
  if (!intervals)
    out += "warning: " + std::to_string(r.repeats) +
           " repeat(s): too few for a 95% interval, shown as \"—\" (use --repeats 3 or more)\n";
  return out;
}

}  // namespace isplitee::report
