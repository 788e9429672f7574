#pragma once
/// \file What a run will do before it does it: the model job, every trace job, every replay cell,
/// with an ETA from measured throughput. `isplitee run|train|trace --dry-run` print it; `run`
/// executes exactly these items (docs/architecture.md, "Run plan").

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"
#include "isplitee/pipeline/experiment_config.hpp"

namespace isplitee::pipeline {

struct RunOptions;  // run.hpp

/// Where a model or trace job stands before the run.
enum class JobState {
  kCached,   ///< found in the cache and valid: reused
  kCompute,  ///< not cached: trained / computed by the run
  kResume,   ///< an interrupted training in the cache: continued
  kGiven,    ///< the config names an explicit checkpoint: used as is
};

/// "cached", "to compute", "to resume", "given".
const char* to_string(JobState s);

/// An estimate of seconds and how it was obtained ("" source = nothing to do).
struct Eta {
  double seconds = 0;
  std::string source;  ///< e.g. "measured: 3 epochs of this model in the cache"
};

/// The model stage.
struct ModelJob {
  std::string name;                  ///< cache name (<dataset>-<arch>)
  std::filesystem::path directory;   ///< <cache_dir>/models/<name>-<hash16> ("" when given)
  std::filesystem::path checkpoint;  ///< best.pt there, or the config's checkpoint
  std::string config_hash;           ///< train_config_hash of the job ("" when given)
  JobState state = JobState::kCompute;
  std::int64_t epochs = 0;        ///< epochs still to train (0 when cached/given)
  std::size_t train_samples = 0;  ///< images per epoch (0 when nothing to train)
  Eta eta;
};

/// One trace (one distortion of the trace section).
struct TraceJob {
  std::string name;                 ///< distortion label, e.g. "gaussian_noise(sigma=0.08)"
  std::string cache_key;            ///< "" while the checkpoint does not exist yet
  std::filesystem::path directory;  ///< "" while the checkpoint does not exist yet
  JobState state = JobState::kCompute;
  std::size_t samples = 0;  ///< images traced
  Eta eta;
};

/// One sweep point: the base config is point 0; sweep points follow in grid order (first axis
/// slowest).
struct PlanPoint {
  std::vector<std::pair<std::string, nlohmann::json>> assignment;  ///< empty for the base point
  ExperimentConfig cfg;
};

/// One replay work item: one repeat of one policy on one stream at one sweep point. Seeds depend on
/// (experiment seed, stream, policy label, repeat) only, so cells may run anywhere in any order.
struct ReplayCell {
  std::size_t point = 0;   ///< index into RunPlan::points
  std::size_t stream = 0;  ///< index into RunPlan::streams
  std::size_t policy = 0;  ///< index into the point's cfg.policies
  std::size_t repeat = 0;
  std::size_t steps = 0;  ///< decisions of this cell
};

/// Everything a run will do, in execution order.
struct RunPlan {
  ExperimentConfig cfg;  ///< the base config (= points[0].cfg)
  std::filesystem::path run_dir;
  std::vector<std::string> sweep_keys;
  std::vector<PlanPoint> points;  ///< base first, then the sweep grid
  ModelJob model;
  std::vector<TraceJob> traces;      ///< one per distortion, config order
  std::vector<std::string> streams;  ///< stream names, replay order
  std::vector<ReplayCell> cells;     ///< point-major, then stream, policy, repeat
  Eta replay;                        ///< all cells
  /// Sum of every stage's estimate.
  double eta_seconds() const;
};

/// Plans the run of `doc` (overrides applied) without training, tracing or writing anything:
/// parses and checks the config and sweep grid, looks the model and every trace up in the cache,
/// enumerates the replay cells and estimates each stage's time (cached training metrics when the
/// model is half trained, else a short forward-pass measurement of the configured network; replay
/// from a short measured replay). Errors are the same as run()'s.
RunPlan plan_run(const config::Document& doc, const RunOptions& options);

/// The sweep points of a run: the base config, then the grid of options.sweeps (first axis
/// slowest), each parsed; the sweep keys go to `sweep_keys` when given. Cheap: no cache look-up.
std::vector<PlanPoint> plan_points(const config::Document& doc, const RunOptions& options,
                                   std::vector<std::string>* sweep_keys = nullptr);

/// The model stage alone (what `isplitee train --dry-run` prints). `directory` replaces the cache
/// directory of the model when not empty (`isplitee train --out`).
ModelJob plan_model(const ExperimentConfig& cfg, const std::filesystem::path& directory = {});

/// The trace stage for `model` (what `isplitee trace --dry-run` prints after the model job): keys
/// and cache states need the checkpoint, so they are known only when it exists. `trace_dir`
/// overrides <cache_dir>/traces when not empty.
std::vector<TraceJob> plan_traces(const ExperimentConfig& cfg, const ModelJob& model,
                                  const std::filesystem::path& trace_dir = {});

/// "model: fashion-mnist-resnet_cifar … cached" etc., one line per job, with ETAs.
std::string format_model_job(const ModelJob& m);
/// One line per trace job, with ETAs.
std::string format_trace_jobs(const std::vector<TraceJob>& traces);
/// The whole plan: run directory, model, traces, replay cells (streams × policies × repeats × sweep
/// points) and the total ETA.
std::string format_plan(const RunPlan& plan);
/// "42 s", "7.5 min", "1.2 h".
std::string format_duration(double seconds);

}  // namespace isplitee::pipeline
