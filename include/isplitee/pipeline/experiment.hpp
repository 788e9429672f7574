#pragma once
/// \file One experiment config file, all sections (DESIGN.md §4): what `isplitee run`, `train`,
/// `trace` and `profile` read. Each section is parsed by its own module; this file only composes.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"
#include "isplitee/cost/cost_model.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/model/config.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/stream/stream.hpp"
#include "isplitee/tracegen/generate.hpp"
#include "isplitee/tracegen/trace_config.hpp"
#include "isplitee/train/train_config.hpp"
#include "isplitee/train/trainer.hpp"

namespace isplitee::pipeline {

/// The "experiment" section: how the replay is run.
struct ExperimentSection {
  std::size_t repeats = 5;         ///< independent stream permutations (seeds seed..seed+repeats-1)
  std::size_t threads = 0;         ///< replay threads (0 = all cores); results do not depend on it
  bool record_steps = false;       ///< also write steps.csv (one row per step, policy and repeat)
  std::size_t curve_points = 100;  ///< points of the regret and arm-over-time curves
  bool plots = true;               ///< render plots with gnuplot
  std::string mode = "replay";     ///< where outcomes come from (environment_modes())
};

/// The names of every `experiment.mode` (environments.cpp), for config validation.
std::vector<std::string> environment_mode_names();

/// A whole experiment configuration, every default filled in.
struct ExperimentConfig {
  std::string source;  ///< the file it came from (for messages)
  std::string name = "experiment";
  std::uint64_t seed = 0;            ///< seeds training, distortions and streams
  std::filesystem::path output_dir;  ///< default runs/<name>
  std::filesystem::path cache_dir =
      "cache";  ///< models/ and traces/ live here (reused across runs)
  std::string device = "cpu";
  std::filesystem::path
      checkpoint;  ///< use this multi-exit checkpoint instead of training ("" = train)
  data::DatasetConfig data;
  model::ModelConfig model;
  train::TrainConfig train;
  tracegen::TraceConfig trace;
  cost::CostConfig cost;
  std::vector<policy::PolicySpec> policies;
  stream::StreamsConfig streams;
  ExperimentSection experiment;
};

/// Parses every section strictly (unknown keys at any level are errors naming the path).
ExperimentConfig parse_experiment(const config::Document& doc);

/// Loads `path`, applies `--set` overrides in order, parses.
ExperimentConfig load_experiment(const std::filesystem::path& path,
                                 const std::vector<std::string>& overrides = {});

/// The resolved configuration (every default filled, plus version and git hash): written as
/// config.resolved.json; parse_experiment() of it gives the same configuration.
nlohmann::json resolved_json(const ExperimentConfig& c);

/// The training job of this experiment (models cached under <cache_dir>/models/).
train::TrainJob make_train_job(const ExperimentConfig& c);

/// The trace request of this experiment for `checkpoint` (traces cached under <cache_dir>/traces/).
tracegen::TraceRequest make_trace_request(const ExperimentConfig& c,
                                          const std::filesystem::path& checkpoint);

}  // namespace isplitee::pipeline
