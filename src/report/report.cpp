#include "isplitee/report/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"

namespace isplitee::report {
namespace fs = std::filesystem;

namespace {

constexpr int kReportFormatVersion = 1;

// Metrics shown in the paper-style tables: key, header, scale, decimals.
struct Column {
  const char* key;
  const char* header;
  double scale;
  int decimals;
};
constexpr Column kTableColumns[] = {
    {"accuracy", "accuracy %", 1.0, 2},        {"cost_per_sample", "cost/sample", 1.0, 3},
    {"cost_reduction", "cost cut %", 1.0, 1},  {"accuracy_drop", "acc. drop (pts)", 1.0, 2},
    {"offload_pct", "offload %", 1.0, 1},      {"regret", "regret", 1.0, 1},
    {"dynamic_regret", "dyn. regret", 1.0, 1},
};

std::string fmt(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Fewer repeats than this give no usable 95% interval (t_{0.975,1} = 12.7): "—" instead.
constexpr std::size_t kMinRepeatsForInterval = 3;

// "mean ± half-width of the 95% interval", or "mean ± —" with fewer than 3 repeats.
std::string fmt_stat(const sim::Stat& s, double scale, int decimals) {
  std::string out = fmt(s.mean * scale, decimals);
  const double hw = (s.ci_high - s.ci_low) / 2 * scale;
  out += s.values.size() >= kMinRepeatsForInterval ? " ± " + fmt(hw, decimals) : " ± —";
  return out;
}

// Columns padded to their widest cell (counted in UTF-8 code points, so "±" and "—" count once);
// the first two columns left-aligned, the others right-aligned.
std::string text_table(const std::vector<std::vector<std::string>>& rows) {
  auto width = [](const std::string& t) {
    std::size_t n = 0;
    for (unsigned char ch : t) n += (ch & 0xC0) != 0x80;
    return n;
  };
  std::vector<std::size_t> w;
  for (const auto& row : rows)
    for (std::size_t i = 0; i < row.size(); ++i) {
      if (w.size() <= i) w.push_back(0);
      w[i] = std::max(w[i], width(row[i]));
    }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      const std::string pad(w[i] - width(row[i]), ' ');
      line += (i ? "  " : "") + (i < 2 ? row[i] + pad : pad + row[i]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

// The warning printed under every table whose intervals were replaced by "—" ("" when none).
std::string few_repeats_warning(std::size_t repeats) {
  if (repeats >= kMinRepeatsForInterval) return "";
  return "warning: " + std::to_string(repeats) + (repeats == 1 ? " repeat" : " repeats") +
         ": too few for a 95% interval, shown as \"—\" (set experiment.repeats to 3 or more)";
}

nlohmann::json to_json(const TraceSummary& t) {
  return {{"name", t.name},
          {"samples", t.samples},
          {"exit_accuracy", t.exit_accuracy},
          {"mean_confidence", t.mean_confidence},
          {"distortion", t.distortion},
          {"directory", t.directory},
          {"reused", t.reused},
          {"calibration",
           {{"temperature", t.calibration.temperature},
            {"ece_before", t.calibration.ece_before},
            {"ece_after", t.calibration.ece_after},
            {"split", t.calibration.split},
            {"samples", t.calibration.samples}}}};
}

TraceSummary trace_summary_from_json(const nlohmann::json& j) {
  TraceSummary t;
  t.name = j.at("name").get<std::string>();
  t.samples = j.at("samples").get<std::size_t>();
  t.exit_accuracy = j.at("exit_accuracy").get<std::vector<double>>();
  t.mean_confidence = j.at("mean_confidence").get<std::vector<double>>();
  t.distortion = j.value("distortion", nlohmann::json::object());
  t.directory = j.value("directory", "");
  t.reused = j.value("reused", false);
  if (j.contains("calibration")) {
    const auto& c = j.at("calibration");
    t.calibration.temperature = c.at("temperature").get<std::vector<double>>();
    t.calibration.ece_before = c.at("ece_before").get<std::vector<double>>();
    t.calibration.ece_after = c.at("ece_after").get<std::vector<double>>();
    t.calibration.split = c.value("split", "");
    t.calibration.samples = c.value("samples", std::size_t{0});
  }
  return t;
}

std::string csv_escape(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string value_text(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string assignment_text(const SweepPoint& p) {
  std::string s;
  for (const auto& [k, v] : p.assignment) s += (s.empty() ? "" : ", ") + k + "=" + value_text(v);
  return s;
}

}  // namespace

bool is_schedule(const sim::CellResult& c) { return c.segment_starts.size() > 1; }

std::string headline_policy(const sim::ExperimentResult& r) {
  for (std::size_t p = 0; p < r.policies.size() && p < r.cells.size(); ++p)
    if (const auto* info = policy::builtin_policies().find(r.cells[p].policy_name))
      if (info->headline) return r.policies[p];
  return r.policies.empty() ? "" : r.policies.front();
}

bool policy_has(const std::string& policy_name, bool policy::PolicyInfo::*flag) {
  const auto* info = policy::builtin_policies().find(policy_name);
  return info && info->*flag;
}

bool is_reference(const std::string& policy_name) {
  const auto* info = policy::builtin_policies().find(policy_name);
  return info && info->role != policy::Role::kLearner;
}

bool claim_holds(const sim::CellResult& c) {
  return c.metric("cost_reduction").mean >= 55.0 && c.metric("accuracy_drop").mean <= 5.0;
}

PolicyMeans mean_over_streams(const sim::ExperimentResult& r, const std::string& policy_label) {
  PolicyMeans m;
  for (const auto& c : r.cells) {
    if (c.policy != policy_label) continue;
    ++m.streams;
    m.accuracy += c.metric("accuracy").mean;
    m.cost_reduction += c.metric("cost_reduction").mean;
    m.accuracy_drop += c.metric("accuracy_drop").mean;
    m.offload_pct += c.metric("offload_pct").mean;
    if (claim_holds(c)) ++m.claim_holds;
  }
  if (m.streams > 0) {
    const double n = static_cast<double>(m.streams);
    m.accuracy /= n;
    m.cost_reduction /= n;
    m.accuracy_drop /= n;
    m.offload_pct /= n;
  }
  return m;
}

TraceSummary summarize_trace(const trace::Trace& t, const std::string& name) {
  TraceSummary s;
  s.name = name;
  s.samples = t.num_samples;
  s.distortion = t.manifest.distortion;
  s.calibration = t.manifest.calibration;
  s.exit_accuracy = trace::exit_accuracy(t);
  s.mean_confidence.assign(t.num_exits, 0.0);
  for (std::size_t i = 0; i < t.num_samples; ++i)
    for (std::size_t k = 0; k < t.num_exits; ++k) s.mean_confidence[k] += t.conf_at(i, k);
  const double n = std::max<double>(1.0, static_cast<double>(t.num_samples));
  for (auto& c : s.mean_confidence) c /= n;
  return s;
}

nlohmann::json to_json(const RunReport& r) {
  nlohmann::json traces = nlohmann::json::array();
  for (const auto& t : r.traces) traces.push_back(to_json(t));
  nlohmann::json sweep = nlohmann::json::array();
  for (const auto& p : r.sweep) {
    nlohmann::json a = nlohmann::json::array();
    for (const auto& [k, v] : p.assignment) a.push_back({{"key", k}, {"value", v}});
    sweep.push_back({{"assignment", a}, {"result", to_json(p.result)}});
  }
  return {{"format_version", kReportFormatVersion},
          {"config", r.config},
          {"meta", r.meta},
          {"traces", traces},
          {"result", to_json(r.result)},
          {"sweep_keys", r.sweep_keys},
          {"sweep", sweep}};
}

namespace {

// The fields of `config` and `meta` that the renderers read, with the types they read them as.
void check_rendered_fields(const RunReport& r, const std::string& source) {
  using Json = nlohmann::json;
  const auto need = [&](const Json& parent, const std::string& path, const char* key,
                        bool (Json::*is)() const noexcept, const char* what) {
    if (parent.is_object() && parent.contains(key) && !(parent[key].*is)())
      fail(ErrorCode::kData, source, ": ", path, ".", key, ": expected ", what, ", got ",
           parent[key].type_name());
  };
  if (!r.config.is_object() || !r.meta.is_object())
    fail(ErrorCode::kData, source, ": config and meta must be JSON objects");
  need(r.config, "config", "name", &Json::is_string, "a string");
  for (const char* section : {"data", "trace", "cost"})
    need(r.config, "config", section, &Json::is_object, "an object");
  need(r.config.value("data", Json::object()), "config.data", "name", &Json::is_string, "a string");
  need(r.config.value("trace", Json::object()), "config.trace", "split", &Json::is_string,
       "a string");
  const Json cost = r.config.value("cost", Json::object());
  for (const char* key : {"alpha", "lambda", "mu", "offload"})
    need(cost, "config.cost", key, &Json::is_number, "a number");
  for (const char* key : {"depth_units", "side_info"})
    need(cost, "config.cost", key, &Json::is_string, "a string");
  for (const char* key : {"isplitee_version", "git_hash", "written_at"})
    need(r.meta, "meta", key, &Json::is_string, "a string");
  need(r.meta, "meta", "model", &Json::is_object, "an object");
  need(r.meta.value("model", Json::object()), "meta.model", "summary", &Json::is_string,
       "a string");
  need(r.meta, "meta", "timings", &Json::is_object, "an object");
  for (const char* stage : {"model", "traces", "streams", "policies", "total"})
    need(r.meta.value("timings", Json::object()), "meta.timings", stage, &Json::is_number,
         "a number");
  for (std::size_t i = 0; i < r.sweep.size(); ++i)
    if (r.sweep[i].assignment.size() != r.sweep_keys.size())
      fail(ErrorCode::kData, source, ": sweep[", i, "]: ", r.sweep[i].assignment.size(),
           " assigned keys, but sweep_keys lists ", r.sweep_keys.size());
}

}  // namespace

RunReport run_report_from_json(const nlohmann::json& j, const std::string& source) {
  RunReport r;
  try {
    const int version = j.at("format_version").get<int>();
    ISPLITEE_CHECK_CODE(version == kReportFormatVersion, ErrorCode::kData, source,
                        ": format_version ", version, " is not supported (expected ",
                        kReportFormatVersion, ")");
    r.config = j.at("config");
    r.meta = j.at("meta");
    for (const auto& t : j.at("traces")) r.traces.push_back(trace_summary_from_json(t));
    r.result = experiment_result_from_json(j.at("result"), source);
    r.sweep_keys = j.at("sweep_keys").get<std::vector<std::string>>();
    for (const auto& p : j.at("sweep")) {
      SweepPoint sp;
      for (const auto& a : p.at("assignment"))
        sp.assignment.emplace_back(a.at("key").get<std::string>(), a.at("value"));
      sp.result = experiment_result_from_json(p.at("result"), source);
      r.sweep.push_back(std::move(sp));
    }
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kData, source, ": malformed report: ", e.what());
  }
  check_rendered_fields(r, source);
  return r;
}

RunReport read_run_report(const fs::path& dir) {
  const fs::path p = dir / "report.json";
  std::error_code ec;
  ISPLITEE_CHECK_CODE(fs::exists(p, ec), ErrorCode::kIo, p.string(),
                      ": not found (is this a run directory written by `isplitee run`?)");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(read_text_file(p));
  } catch (const nlohmann::json::exception& e) {  // parse errors and out-of-range numbers
    fail(ErrorCode::kData, p.string(), ": malformed JSON: ", e.what());
  }
  return run_report_from_json(j, p.string());
}

std::string render_summary_csv(const sim::ExperimentResult& r) {
  std::ostringstream os;
  os.precision(10);
  std::vector<std::string> names;
  if (!r.cells.empty())
    for (const auto& [name, stat] : r.cells.front().metrics) names.push_back(name);
  // bytes_per_sample is present only for some cells: include it when any cell has it.
  const bool any_bytes = std::any_of(r.cells.begin(), r.cells.end(), [](const sim::CellResult& c) {
    return c.has_metric("bytes_per_sample");
  });
  if (any_bytes && std::find(names.begin(), names.end(), "bytes_per_sample") == names.end())
    names.push_back("bytes_per_sample");
  os << "stream,policy,policy_name,steps,repeats";
  for (const auto& n : names)
    os << ',' << n << "_mean," << n << "_std," << n << "_ci_low," << n << "_ci_high";
  os << '\n';
  for (const auto& c : r.cells) {
    os << csv_escape(c.stream) << ',' << csv_escape(c.policy) << ',' << c.policy_name << ','
       << c.steps << ',' << r.repeats;
    for (const auto& n : names) {
      if (c.has_metric(n)) {
        const auto& s = c.metric(n);
        os << ',' << s.mean << ',' << s.std << ',' << s.ci_low << ',' << s.ci_high;
      } else {
        os << ",,,,";
      }
    }
    os << '\n';
  }
  return os.str();
}

std::string render_sweep_csv(const RunReport& r) {
  std::ostringstream os;
  os.precision(10);
  for (const auto& k : r.sweep_keys) os << csv_escape(k) << ',';
  os << "stream,policy";
  for (const auto& col : kTableColumns)
    os << ',' << col.key << "_mean," << col.key << "_ci_low," << col.key << "_ci_high";
  os << '\n';
  for (const auto& p : r.sweep) {
    for (const auto& c : p.result.cells) {
      for (const auto& [k, v] : p.assignment) os << csv_escape(value_text(v)) << ',';
      os << csv_escape(c.stream) << ',' << csv_escape(c.policy);
      for (const auto& col : kTableColumns) {
        const auto& s = c.metric(col.key);
        os << ',' << s.mean << ',' << s.ci_low << ',' << s.ci_high;
      }
      os << '\n';
    }
  }
  return os.str();
}

namespace {

// One Markdown table: rows = policies of stream `s`.
void markdown_stream_table(std::ostringstream& os, const sim::ExperimentResult& r, std::size_t s) {
  os << "| policy |";
  for (const auto& col : kTableColumns) os << ' ' << col.header << " |";
  os << "\n|---|";
  for (std::size_t i = 0; i < std::size(kTableColumns); ++i) os << "---:|";
  os << '\n';
  for (std::size_t p = 0; p < r.policies.size(); ++p) {
    const auto& c = r.cells[s * r.policies.size() + p];
    os << "| " << c.policy << " |";
    for (const auto& col : kTableColumns)
      os << ' ' << fmt_stat(c.metric(col.key), col.scale, col.decimals) << " |";
    os << '\n';
  }
}

std::string cost_text(const nlohmann::json& cost) {
  std::ostringstream os;
  os << "α = " << cost.value("alpha", 0.5) << ", λ = " << cost.value("lambda", 0.1) << " per "
     << (cost.value("depth_units", "blocks") == "macs" ? "MMAC" : "block")
     << ", μ = " << cost.value("mu", 1.0) << ", o = " << cost.value("offload", 0.5)
     << ", side information: `" << cost.value("side_info", "oracle") << "`";
  const auto rule = cost.value("exit_rule", nlohmann::json::object());
  os << ", exit rule: `" << rule.value("kind", "max_prob") << "`"
     << (rule.value("calibrate", false) ? " (calibrated)" : "");
  return os.str();
}

/// The run's facts: version, model, data, cost model, depths, repeats, wall time.
void md_header(std::ostringstream& os, const RunReport& r) {
  const auto& res = r.result;
  const std::string name = r.config.value("name", "experiment");
  os << "# isplitee report: " << name << "\n\n";
  os << "- isplitee " << r.meta.value("isplitee_version", "?") << " (git "
     << r.meta.value("git_hash", "?") << "), written " << r.meta.value("written_at", "?") << '\n';
  if (r.meta.contains("model")) os << "- model: " << r.meta["model"].value("summary", "?") << '\n';
  if (r.config.contains("data"))
    os << "- data: " << r.config["data"].value("name", "?") << ", split `"
       << r.config.value("trace", nlohmann::json::object()).value("split", "test") << "`\n";
  os << "- cost model: " << cost_text(r.config.value("cost", nlohmann::json::object())) << '\n';
  os << "- depths l_k: ";
  for (std::size_t k = 0; k < res.depths.size(); ++k) os << (k ? ", " : "") << res.depths[k];
  os << " (K = " << res.num_arms << ")\n";
  os << "- " << res.repeats << " repeats (seed " << res.seed << "), "
     << "intervals are 95% Student-t over repeats; cost reduction and accuracy drop are against "
        "`final-exit` on the same stream and repeat; offload is in percent of the samples\n";
  if (const auto w = few_repeats_warning(res.repeats); !w.empty()) os << "- **" << w << "**\n";
  if (r.meta.contains("timings")) {
    os << "- wall time (s):";
    const auto& t = r.meta["timings"];
    for (const char* stage : {"model", "traces", "streams", "policies", "total"})
      if (t.contains(stage)) os << ' ' << stage << ' ' << fmt(t[stage].get<double>(), 1) << ';';
    os << '\n';
  }
  os << '\n';
}

/// Per-exit accuracy of each trace.
void md_traces(std::ostringstream& os, const RunReport& r) {
  if (!r.traces.empty()) {
    os << "## Traces: per-exit accuracy (%)\n\n| trace | samples |";
    const std::size_t k = r.traces.front().exit_accuracy.size();
    for (std::size_t e = 0; e < k; ++e) os << " exit " << e + 1 << " |";
    os << "\n|---|---:|";
    for (std::size_t e = 0; e < k; ++e) os << "---:|";
    os << '\n';
    for (const auto& t : r.traces) {
      os << "| " << t.name << " | " << t.samples << " |";
      for (double a : t.exit_accuracy) os << ' ' << fmt(a, 2) << " |";
      os << '\n';
    }
    os << '\n';
  }
}

/// The model's calibration: per exit the temperature fitted on the validation split and the
/// validation ECE of the max-prob confidence before and after (every trace of a run shares it).
void md_calibration(std::ostringstream& os, const RunReport& r) {
  if (r.traces.empty() || r.traces.front().calibration.empty()) return;
  const auto& c = r.traces.front().calibration;
  os << "## Calibration (temperature scaling on the " << c.split << " split, " << c.samples
     << " samples)\n\nUsed when `cost.exit_rule.calibrate` is true. ECE (%): 15 equal-width bins "
        "of the max-prob confidence, on the same split.\n\n| exit | temperature | ECE before % | "
        "ECE after % | change |\n|---|---:|---:|---:|---:|\n";
  for (std::size_t e = 0; e < c.temperature.size(); ++e) {
    const double before = 100.0 * c.ece_before[e], after = 100.0 * c.ece_after[e];
    os << "| " << e + 1 << " | " << fmt(c.temperature[e], 3) << " | " << fmt(before, 3) << " | "
       << fmt(after, 3) << " | " << (after <= before ? "" : "+") << fmt(after - before, 3)
       << " |\n";
  }
  os << '\n';
}

/// The headline policy against final-exit inference, with the paper's claim checked.
void md_headline(std::ostringstream& os, const RunReport& r) {
  const auto& res = r.result;
  // Headline: I-SplitEE against the paper's claim on every stream.
  const std::string head = headline_policy(res);
  if (!head.empty() && !res.streams.empty()) {
    os << "## " << head << " against final-exit inference\n\n"
       << "The paper's claim: at least 55% lower cost with at most 5 points accuracy drop.\n\n"
       << "| stream | accuracy % | final-exit accuracy % | cost cut % | acc. drop (pts) | claim "
          "holds |\n"
       << "|---|---:|---:|---:|---:|:---:|\n";
    for (std::size_t s = 0; s < res.streams.size(); ++s) {
      const auto& c = res.cell(res.streams[s], head);
      const double final_acc = c.metric("accuracy").mean + c.metric("accuracy_drop").mean;
      os << "| " << res.streams[s] << " | " << fmt_stat(c.metric("accuracy"), 1, 2) << " | "
         << fmt(final_acc, 2) << " | " << fmt_stat(c.metric("cost_reduction"), 1, 1) << " | "
         << fmt_stat(c.metric("accuracy_drop"), 1, 2) << " | " << (claim_holds(c) ? "yes" : "no")
         << " |\n";
    }
    os << '\n';
  }
}

/// One table per stream: every policy's metrics.
void md_streams(std::ostringstream& os, const RunReport& r) {
  const auto& res = r.result;
  os << "## Policies per stream\n\n";
  for (std::size_t s = 0; s < res.streams.size(); ++s) {
    os << "### " << res.streams[s] << "\n\n";
    const auto& c0 = res.cells[s * res.policies.size()];
    os << c0.steps << " steps per repeat";
    if (is_schedule(c0)) {
      os << "; segments:";
      for (std::size_t i = 0; i < c0.segment_starts.size(); ++i)
        os << ' ' << c0.segment_traces[i] << " from t = " << c0.segment_starts[i] + 1
           << (i + 1 < c0.segment_starts.size() ? ";" : "");
    }
    os << "\n\n";
    markdown_stream_table(os, res, s);
    os << '\n';
  }
}

/// Change detectors on scheduled streams: delay per change and false alarms (mean ± 95% interval
/// over repeats).
void md_change_detection(std::ostringstream& os, const RunReport& r) {
  const auto& res = r.result;
  bool any = false;
  for (const auto& c : res.cells) any |= c.has_metric("false_alarms") && is_schedule(c);
  if (!any) return;
  os << "## Change detection\n\nPer change of a scheduled stream: repeats whose detector raised an "
        "alarm on any arm within "
     << sim::kDetectionWindow
     << " steps after the change (and before the next one), and the delay in steps from the "
        "change to that first alarm (mean ± 95% interval over the detecting repeats). Every other "
        "alarm is a false alarm.\n\n";
  for (const auto& c : res.cells) {
    if (!c.has_metric("false_alarms") || !is_schedule(c)) continue;
    os << "### " << c.policy << " on " << c.stream
       << "\n\n| change (t) | to | detected | delay (steps) |\n|---:|---|---:|---:|\n";
    for (std::size_t i = 0; i < c.changes.size(); ++i) {
      const auto& d = c.changes[i];
      os << "| " << d.step + 1 << " | "
         << (i + 1 < c.segment_traces.size() ? c.segment_traces[i + 1] : "") << " | " << d.detected
         << "/" << res.repeats << " | " << (d.detected ? fmt_stat(d.delay, 1.0, 0) : "n/a")
         << " |\n";
    }
    os << "\nFalse alarms per run: " << fmt_stat(c.metric("false_alarms"), 1.0, 1)
       << "; alarms per run: " << fmt_stat(c.metric("alarms"), 1.0, 1)
       << "; changes detected per run: " << fmt_stat(c.metric("detected_changes"), 1.0, 1) << " of "
       << c.changes.size() << ".\n\n";
  }
}

/// Policies with a cost target: realised cost against the target, and the best fixed arm whose
/// hindsight cost meets it.
void md_budget(std::ostringstream& os, const RunReport& r) {
  const auto& res = r.result;
  bool any = false;
  for (const auto& c : res.cells) any |= c.has_metric("cost_target");
  if (!any) return;
  os << "## Cost budget\n\nRealised mean cost per sample against the target B, and the reference: "
        "the most accurate fixed arm whose hindsight mean cost on the stream is at most B.\n\n"
        "| stream | policy | B | cost/sample | gap % | accuracy % | reference arm | ref. "
        "accuracy % | ref. cost/sample |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& c : res.cells) {
    if (!c.has_metric("cost_target")) continue;
    os << "| " << c.stream << " | " << c.policy << " | " << fmt(c.metric("cost_target").mean, 4)
       << " | " << fmt_stat(c.metric("cost_per_sample"), 1.0, 4) << " | "
       << fmt_stat(c.metric("budget_gap_pct"), 1.0, 2) << " | "
       << fmt_stat(c.metric("accuracy"), 1.0, 2) << " | " << fmt(c.metric("budget_ref_arm").mean, 1)
       << " | " << fmt_stat(c.metric("budget_ref_accuracy"), 1.0, 2) << " | "
       << fmt_stat(c.metric("budget_ref_cost_per_sample"), 1.0, 4) << " |\n";
  }
  os << '\n';
}

/// Where each policy splits on the first stream.
void md_arms(std::ostringstream& os, const RunReport& r) {
  const auto& res = r.result;
  // Chosen arms: where does each policy split?
  if (!res.cells.empty()) {
    os << "## Chosen split (share of samples per arm, %), first stream `" << res.streams.front()
       << "`\n\n| policy |";
    for (std::size_t a = 0; a < res.num_arms; ++a) os << " arm " << a + 1 << " |";
    os << " cloud |\n|---|";
    for (std::size_t a = 0; a <= res.num_arms; ++a) os << "---:|";
    os << '\n';
    for (std::size_t p = 0; p < res.policies.size(); ++p) {
      const auto& c = res.cells[p];
      os << "| " << c.policy << " |";
      for (double f : c.arm_histogram) os << ' ' << fmt(100 * f, 1) << " |";
      os << '\n';
    }
    os << '\n';
  }
}

/// The sweep table (headline policy, mean over streams per grid point).
void md_sweep(std::ostringstream& os, const RunReport& r) {
  if (!r.sweep.empty()) {
    os << "## Sweep over " << [&] {
      std::string k;
      for (const auto& s : r.sweep_keys) k += (k.empty() ? "" : " × ") + ("`" + s + "`");
      return k;
    }() << "\n\n";
    const std::string hp = headline_policy(r.sweep.front().result);
    os << "Policy `" << hp
       << "`, mean over streams of the per-stream means.\n\n| point | accuracy % | "
          "cost cut % | acc. drop (pts) | offload % | streams where the claim holds |\n"
          "|---|---:|---:|---:|---:|---:|\n";
    for (const auto& p : r.sweep) {
      const PolicyMeans m = mean_over_streams(p.result, hp);
      os << "| " << assignment_text(p) << " | " << fmt(m.accuracy, 2) << " | "
         << fmt(m.cost_reduction, 1) << " | " << fmt(m.accuracy_drop, 2) << " | "
         << fmt(m.offload_pct, 1) << " | " << m.claim_holds << "/" << m.streams << " |\n";
    }
    os << "\nEvery (point, stream, policy) is in `sweep.csv`.\n\n";
  }
}

/// The plots, or why there are none.
void md_plots(std::ostringstream& os, const std::vector<std::string>& plot_files, bool earlier) {
  if (!plot_files.empty()) {
    os << "## Plots\n\n";
    if (earlier) os << "_Rendered earlier; not re-rendered this time (`--no-plots`)._\n\n";
    for (const auto& f : plot_files)
      if (f.size() > 4 && f.compare(f.size() - 4, 4, ".png") == 0)
        os << "![" << f << "](" << f << ")\n\n";
  } else {
    os << "_No plots were rendered (gnuplot missing or plots disabled)._\n";
  }
}

}  // namespace

namespace {

/// Live runs: what the edge and the network measured, per stream and policy.
void md_live(std::ostringstream& os, const RunReport& r) {
  const auto& res = r.result;
  if (res.mode != "live") return;
  const auto live = r.config.value("live", nlohmann::json::object());
  os << "## Live edge and cloud\n\nCloud `" << live.value("cloud", "?") << "`, codec `"
     << live.value("codec", "?") << "`, batch " << live.value("batch", 1) << ", deadline "
     << live.value("deadline_ms", 0) << " ms, network `" << live.value("network", "none")
     << "`. Edge time is the edge's compute per sample (its "
     << "share of a batch); bytes are the encoded activations sent per sample (all samples); "
     << "latency runs from a sample's input tensor to its answer; a fallback is a sample whose "
     << "cloud failed or missed the deadline (answered by the deepest exit computed).\n\n"
     << "| stream | policy | edge ms/sample | bytes/sample | latency p50 ms | latency p95 ms "
     << "| latency p99 ms | samples/s | fallbacks % "
        "|\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& c : res.cells) {
    if (!c.has_metric("edge_ms_per_sample")) continue;
    auto m = [&](const char* n, int digits) { return fmt(c.metric(n).mean, digits); };
    os << "| " << c.stream << " | " << c.policy << " | " << m("edge_ms_per_sample", 3) << " | "
       << m("bytes_sent_per_sample", 0) << " | " << m("latency_p50_ms", 3) << " | "
       << m("latency_p95_ms", 3) << " | " << m("latency_p99_ms", 3) << " | "
       << m("throughput_per_s", 0) << " | " << fmt(100 * c.metric("fallback_fraction").mean, 2)
       << " |\n";
  }
  os << '\n';
}

}  // namespace

std::string render_markdown(const RunReport& r, const std::vector<std::string>& plot_files,
                            bool earlier_plots) {
  std::ostringstream os;
  md_header(os, r);
  md_traces(os, r);
  md_calibration(os, r);
  md_headline(os, r);
  os << render_paper_table(r);
  md_streams(os, r);
  md_change_detection(os, r);
  md_budget(os, r);
  md_arms(os, r);
  md_live(os, r);
  md_sweep(os, r);
  md_plots(os, plot_files, earlier_plots);
  return os.str();
}

std::string render_terminal_table(const RunReport& r) {
  const auto& res = r.result;
  std::ostringstream os;
  // Every policy, every column "mean ± half-width"; stream names are shown whole
  // ("gaussian_noise(sigma=0.03)" and "…0.08" must stay distinct).
  static const std::vector<Column> cols = {{"accuracy", "accuracy %", 1.0, 2},
                                           {"cost_per_sample", "cost/sample", 1.0, 3},
                                           {"cost_reduction", "cost cut %", 1.0, 1},
                                           {"accuracy_drop", "acc. drop", 1.0, 2},
                                           {"offload_pct", "offload %", 1.0, 1}};
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"stream", "policy"});
  for (const auto& c : cols) rows.back().push_back(c.header);
  for (std::size_t s = 0; s < res.streams.size(); ++s)
    for (std::size_t p = 0; p < res.policies.size(); ++p) {
      const auto& c = res.cells[s * res.policies.size() + p];
      rows.push_back({p == 0 ? res.streams[s] : "", c.policy});
      for (const auto& col : cols)
        rows.back().push_back(fmt_stat(c.metric(col.key), col.scale, col.decimals));
    }
  os << text_table(rows);
  if (!r.sweep.empty()) {
    const std::string hp = headline_policy(r.sweep.front().result);
    std::string keys;
    for (const auto& k : r.sweep_keys) keys += (keys.empty() ? "" : " x ") + k;
    os << "\nsweep over " << keys << " (" << hp << ", mean over streams):\n";
    std::vector<std::vector<std::string>> sw = {
        {"point", "accuracy %", "cost cut %", "acc. drop", "offload %", "claim holds"}};
    for (const auto& p : r.sweep) {
      const PolicyMeans m = mean_over_streams(p.result, hp);
      sw.push_back({assignment_text(p), fmt(m.accuracy, 2), fmt(m.cost_reduction, 1),
                    fmt(m.accuracy_drop, 2), fmt(m.offload_pct, 1),
                    std::to_string(m.claim_holds) + "/" + std::to_string(m.streams)});
    }
    os << text_table(sw);
  }
  if (const auto w = few_repeats_warning(res.repeats); !w.empty()) os << w << "\n";
  return os.str();
}

std::vector<std::string> write_report_files(const fs::path& dir, const RunReport& r, bool plots) {
  std::vector<std::string> written;
  std::vector<std::string> plot_files;
  if (plots) plot_files = render_plots(dir, r);
  write_text_atomic(dir / "report.json", to_json(r).dump(1) + "\n");
  written.push_back("report.json");
  write_text_atomic(dir / "summary.csv", render_summary_csv(r.result));
  written.push_back("summary.csv");
  if (!r.sweep.empty()) {
    write_text_atomic(dir / "sweep.csv", render_sweep_csv(r));
    written.push_back("sweep.csv");
  }
  // Without rendering, report.md still shows the plots an earlier rendering left in plots/.
  std::vector<std::string> shown = plot_files;
  if (!plots && fs::is_directory(dir / "plots")) {
    for (const auto& e : fs::directory_iterator(dir / "plots"))
      if (e.is_regular_file() && e.path().extension() == ".png")
        shown.push_back("plots/" + e.path().filename().string());
    std::sort(shown.begin(), shown.end());
  }
  write_text_atomic(dir / "report.md", render_markdown(r, shown, !plots && !shown.empty()));
  written.push_back("report.md");
  written.insert(written.end(), plot_files.begin(), plot_files.end());
  return written;
}

}  // namespace isplitee::report
