#pragma once
/// \file One experiment config file, all sections: what `isplitee run`, `train`, `trace`, `profile`
/// and `config show` read. Each section is parsed by its own module; this file only composes. No
/// LibTorch or OpenCV: every config parses and resolves in a build without vision.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"
#include "isplitee/cost/cost_model.hpp"
#include "isplitee/data/dataset_config.hpp"
#include "isplitee/live/live_config.hpp"
#include "isplitee/model/config.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/stream/stream.hpp"
#include "isplitee/tracegen/trace_config.hpp"
#include "isplitee/train/train_config.hpp"

namespace isplitee::pipeline {

/// The "experiment" section: how the replay is run.
struct ExperimentSection {
  std::size_t repeats = 5;         ///< independent stream permutations (seeds seed..seed+repeats-1)
  std::size_t threads = 0;         ///< replay threads (0 = all cores); results do not depend on it
  bool record_steps = false;       ///< also write steps.csv (one row per step, policy and repeat)
  std::size_t curve_points = 100;  ///< points of the regret and arm-over-time curves
  bool plots = true;               ///< render plots with gnuplot
  std::string mode = "replay";     ///< where outcomes come from (environment_mode_names())
  /// Seeds the stream permutations and the policies' randomness; unset = the top-level `seed`
  /// (filled in by parse_experiment). Changing it never retrains or retraces.
  std::optional<std::uint64_t> seed;
};

/// The valid `experiment.mode` names ("replay", …). The factories behind them live with the
/// environments (pipeline/environments.hpp, isplitee::vision); a test keeps both lists equal.
const std::vector<std::string>& environment_mode_names();

/// A whole experiment configuration, every default filled in.
struct ExperimentConfig {
  std::string source;  ///< the file it came from (for messages)
  std::string name = "experiment";
  std::string description;  ///< one line, shown by `isplitee list configs`
  std::uint64_t seed = 0;   ///< default of train.seed (model, distortions) and experiment.seed
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
  live::LiveConfig live;  ///< the edge/cloud setup of experiment.mode "live"
};

/// Parses every section strictly (unknown keys at any level are errors naming the path). Fills
/// train.seed and experiment.seed from the top-level seed when they are not given.
ExperimentConfig parse_experiment(const config::Document& doc);

/// The seed of the model and its traces: train.seed, else the top-level seed.
std::uint64_t train_seed(const ExperimentConfig& c);
/// The seed of streams and policies: experiment.seed, else the top-level seed.
std::uint64_t experiment_seed(const ExperimentConfig& c);

/// Loads `path`, applies `--set` overrides in order, parses.
ExperimentConfig load_experiment(const std::filesystem::path& path,
                                 const std::vector<std::string>& overrides = {});

/// The resolved configuration (every default filled, plus version and git hash): written as
/// config.resolved.json; parse_experiment() of it gives the same configuration.
nlohmann::json resolved_json(const ExperimentConfig& c);

/// A config file found by find_configs().
struct ConfigSummary {
  std::filesystem::path file;
  std::string name;         ///< the config's name
  std::string description;  ///< its "description" ("" when it has none)
  std::string problem;      ///< "" when it parses, else the one-line error
};

/// The *.json files directly under `dir` (sorted by file name), each parsed as an experiment config
/// so that a broken one is listed with its error instead of stopping the listing. Empty when `dir`
/// does not exist.
std::vector<ConfigSummary> find_configs(const std::filesystem::path& dir);

}  // namespace isplitee::pipeline
