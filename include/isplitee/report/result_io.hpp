#pragma once
/// \file How an experiment's result is written and read back: its JSON form (the "result" of
/// report.json), steps.csv and the plain-text table `isplitee replay` prints.

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "isplitee/sim/experiment.hpp"

namespace isplitee::report {

/// JSON form of a result (steps excluded).
nlohmann::json to_json(const sim::ExperimentResult& r);
/// Rebuilds a result from to_json output; throws Error(kData) naming `source` on a malformed
/// document.
sim::ExperimentResult experiment_result_from_json(const nlohmann::json& j,
                                                  const std::string& source = "report.json");

/// Writes steps.csv
/// (stream,policy,repeat,t,segment,arm,exited,offloaded,exit,prediction,correct,cost,reward,
/// regret; arms and exits 1-based, arm "cloud" / "cascade" for those baselines) atomically.
void write_steps_csv(const std::filesystem::path& path, const sim::ExperimentResult& r);

/// A plain-text table of the main metrics (mean ± half-width of the 95% interval).
std::string format_table(const sim::ExperimentResult& r);

}  // namespace isplitee::report
