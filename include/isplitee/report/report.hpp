#pragma once
/// \file The run directory's reports (docs/architecture.md, "Files a run reads and writes"):
/// report.json (everything, re-renderable), summary.csv, report.md (paper-style tables) and plots
/// rendered with gnuplot.

#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/policy/policy.hpp"
#include "isplitee/report/result_io.hpp"
#include "isplitee/sim/experiment.hpp"
#include "isplitee/trace/trace.hpp"

namespace isplitee::report {

/// What a replayed trace looked like (shown next to the policy tables).
struct TraceSummary {
  std::string name;  ///< trace / stream name, e.g. "gaussian_noise@3"
  std::size_t samples = 0;
  std::vector<double> exit_accuracy;    ///< percent, per exit
  std::vector<double> mean_confidence;  ///< mean max-prob per exit
  nlohmann::json distortion;            ///< the manifest's distortion entry
  std::string directory;
  bool reused = false;
  trace::CalibrationInfo calibration;  ///< the model's temperatures and validation ECE (if any)
};

/// Per-exit accuracy (percent) and mean confidence of a trace.
TraceSummary summarize_trace(const trace::Trace& t, const std::string& name);

/// One point of a `--sweep` grid.
struct SweepPoint {
  std::vector<std::pair<std::string, nlohmann::json>> assignment;  ///< key → value
  sim::ExperimentResult result;
};

/// Everything a run directory reports.
struct RunReport {
  nlohmann::json config = nlohmann::json::object();  ///< config.resolved.json
  nlohmann::json meta = nlohmann::json::object();    ///< version, timings, threads, model profile
  std::vector<TraceSummary> traces;
  sim::ExperimentResult result;  ///< the configured (un-swept) experiment
  std::vector<std::string> sweep_keys;
  std::vector<SweepPoint> sweep;  ///< empty without --sweep
};

/// JSON form of a report (report.json) and its inverse; Error(kData) naming `source` when
/// malformed.
nlohmann::json to_json(const RunReport& r);
RunReport run_report_from_json(const nlohmann::json& j, const std::string& source);
/// Reads <dir>/report.json.
RunReport read_run_report(const std::filesystem::path& dir);

/// Writes report.json, summary.csv, report.md (and sweep.csv with a sweep), each atomically; with
/// `plots`, renders plots/*.png and plots/*.svg with gnuplot (a missing gnuplot is a warning,
/// listed in report.md). Returns the files written, relative to `dir`.
std::vector<std::string> write_report_files(const std::filesystem::path& dir, const RunReport& r,
                                            bool plots);

/// The paper-style Markdown report.
/// `earlier_plots`: the plots were not rendered now but found in plots/ (`report --no-plots`).
std::string render_markdown(const RunReport& r, const std::vector<std::string>& plot_files,
                            bool earlier_plots = false);
/// The "paper table" section of report.md: final exit, random exit, SplitEE and I-SplitEE (found
/// by registry name) per distortion type and level (from each trace's manifest distortion), with
/// accuracy, cost per sample, cost reduction and accuracy drop, plus the mean over each type's
/// levels in the paper's rows-are-methods layout. Schedules are left out; a method that did not run
/// is named as such. Empty when no stream replays a single trace.
std::string render_paper_table(const RunReport& r);
/// summary.csv: one row per (stream, policy) with mean, std and 95% interval of every metric.
std::string render_summary_csv(const sim::ExperimentResult& r);
/// sweep.csv: one row per (sweep point, stream, policy).
std::string render_sweep_csv(const RunReport& r);
/// The main table for the terminal: per stream every policy, each metric as "mean ± half-width"
/// of the 95% interval ("—" with fewer than 3 repeats, with a warning line), then the sweep table.
std::string render_terminal_table(const RunReport& r);

/// The policy the headline tables and plots are about: the label of the registry's headline policy
/// (I-SplitEE) when it ran, else the first.
std::string headline_policy(const sim::ExperimentResult& r);

/// Whether the registry entry of `policy_name` has `flag` set (false for an unknown name), e.g.
/// policy_has(name, &policy::PolicyInfo::plotted).
bool policy_has(const std::string& policy_name, bool policy::PolicyInfo::*flag);

/// Whether `policy_name` is a reference or oracle policy in the registry (not a learner).
bool is_reference(const std::string& policy_name);

/// Whether a stream is a schedule (more than one segment) rather than a single trace.
bool is_schedule(const sim::CellResult& c);

/// The paper's headline claim for one cell: ≥ 55% cost reduction with ≤ 5 points accuracy drop.
bool claim_holds(const sim::CellResult& c);

/// Means over the streams of one policy's per-stream means (the sweep table and plot).
struct PolicyMeans {
  double accuracy = 0, cost_reduction = 0, accuracy_drop = 0, offload_pct = 0;
  std::size_t streams = 0, claim_holds = 0;  ///< streams seen, and those where claim_holds()
};
/// PolicyMeans of `policy_label` in `r` (all zero when the label did not run).
PolicyMeans mean_over_streams(const sim::ExperimentResult& r, const std::string& policy_label);

/// How a policy is drawn in every plot: a fixed colour and marker per registry name, so a policy
/// looks the same in every plot and run; the headline policy is drawn last, larger and thicker.
struct PolicyStyle {
  std::string color;   ///< "#rrggbb"
  int point_type = 1;  ///< gnuplot pt
  bool emphasised = false;
};
/// The style of policy `label` (registry name `name`). A label that differs from its name (a
/// second variant of one policy) gets a colour of its own, derived from the label.
PolicyStyle policy_style(const std::string& label, const std::string& name);

/// Renders the plots into <dir>/plots with gnuplot; returns the files written (relative to dir).
/// Throws Error(kIo) when gnuplot fails; returns {} and logs a warning when gnuplot is missing.
std::vector<std::string> render_plots(const std::filesystem::path& dir, const RunReport& r);

}  // namespace isplitee::report
