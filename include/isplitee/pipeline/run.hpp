#pragma once
/// \file `isplitee run`: model → traces → streams → policies → run directory (DESIGN.md §1, §4).

#include <filesystem>
#include <string>
#include <vector>

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
};

/// One axis of a sweep grid.
struct SweepAxis {
  std::string key;
  std::vector<nlohmann::json> values;
};

/// Parses "--sweep key=v1,v2,…" (values as JSON when valid, else strings). Only keys under cost.,
/// policies., streams. and experiment. may be swept (model and traces stay fixed within a run).
SweepAxis parse_sweep(const std::string& text);

/// The run directory a config writes to: output_dir when set, else runs/<name>-<UTC timestamp>.
std::filesystem::path run_directory(const config::Document& doc, const ExperimentConfig& c,
                                    const RunOptions& options);

/// What a finished run produced.
struct RunOutcome {
  std::filesystem::path run_dir;
  report::RunReport report;
  std::vector<std::string> files;  ///< relative to run_dir
};

/// Runs the whole experiment of `doc` (overrides already applied). Everything that can be checked
/// (config, sweep grid, schedules, dataset readability, run directory) is checked before any
/// training or tracing. Prints one line per stage to the log and a progress bar over policy runs.
RunOutcome run(const config::Document& doc, const RunOptions& options);

}  // namespace isplitee::pipeline
