#pragma once
/// \file `isplitee run`: model → traces → streams → policies → run directory (docs/architecture.md,
/// "Data flow" and "Files a run reads and writes").

#include <filesystem>
#include <string>
#include <vector>

#include "isplitee/common/work_group.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/pipeline/experiment.hpp"
#include "isplitee/report/report.hpp"

namespace isplitee::pipeline {

/// Options of one run beyond the config file.
struct RunOptions {
  bool force = false;                ///< overwrite an existing non-empty run directory
  bool retrace = false;              ///< recompute traces even when cached
  std::filesystem::path output_dir;  ///< overrides the config's output_dir ("" = config/default)
  std::vector<std::string> sweeps;   ///< "key=v1,v2,…" each; a grid over their product
  bool dry_run = false;              ///< plan only (plan_run); run() refuses it
  /// Continue an interrupted run in its directory (needs --output or the config's output_dir):
  /// refuses another config or sweep; reuses the replay points already finished.
  bool resume = false;
  /// Testing hook: stop (as if interrupted) after this many replay points (0 = never).
  std::size_t stop_after_points = 0;
};

/// One axis of a sweep grid.
struct SweepAxis {
  std::string key;
  std::vector<nlohmann::json> values;
};

/// Parses "--sweep key=v1,v2,…" (values as JSON when valid, else strings). Only keys under cost.,
/// policies., streams. and experiment. may be swept (model and traces stay fixed within a run).
SweepAxis parse_sweep(const std::string& text);

/// One point of a sweep grid: (key, value) per axis.
using SweepAssignment = std::vector<std::pair<std::string, nlohmann::json>>;

/// Every combination of the axes' values (first axis slowest); empty when there are no axes.
std::vector<SweepAssignment> sweep_grid(const std::vector<SweepAxis>& axes);

/// `doc` with the assignment applied as overrides (messages name "--sweep key=value").
config::Document with_sweep_assignment(const config::Document& doc, const SweepAssignment& a);

/// The run directory a config writes to: output_dir when set, else runs/<name>-<UTC timestamp>.
std::filesystem::path run_directory(const config::Document& doc, const ExperimentConfig& c,
                                    const RunOptions& options);

/// What a finished run produced.
struct RunOutcome {
  std::filesystem::path run_dir;
  report::RunReport report;
  std::vector<std::string> files;  ///< relative to run_dir
};

/// Runs the whole experiment of `doc` (overrides already applied): plan_run(), then exactly the
/// planned jobs and replay cells. Everything that can be checked (config, sweep grid, schedules,
/// dataset readability, run directory) is checked before any training or tracing. Each finished
/// replay point is kept in <run_dir>/partial/ until the report is written, so `resume` skips it.
/// Prints one line per stage to the log and a progress bar over policy runs.
RunOutcome run(const config::Document& doc, const RunOptions& options);

/// run() spread over the processes of `group` (`mpirun -np N isplitee run`: every rank calls it
/// with the same doc and options). Rank 0 plans, trains (or finds) the model and writes the run
/// directory; trace shards (tracegen::ensure_traces with the group) and replay items (each stream
/// of each sweep point) are spread over the ranks, results gathered to rank 0 as JSON and assembled
/// in plan order, so the traces and report metrics do not depend on the number of ranks. A failure
/// anywhere stops every rank with one GroupError naming the rank and the work item. Ranks other
/// than 0 return an outcome with only run_dir set. One process: the same as run(doc, options).
RunOutcome run(const config::Document& doc, const RunOptions& options, WorkGroup& group);

}  // namespace isplitee::pipeline
