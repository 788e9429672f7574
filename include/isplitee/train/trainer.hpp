#pragma once
/// \file Joint multi-exit training (docs/method.md): `isplitee train` and the model cache of
/// `isplitee run`.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/data/config.hpp"
#include "isplitee/model/config.hpp"
#include "isplitee/train/train_config.hpp"

namespace isplitee::train {

/// Everything one training run needs.
struct TrainJob {
  std::string name = "model";  ///< names the cached model directory (ensure_model)
  data::DatasetConfig data;
  model::ModelConfig model;
  TrainConfig train;
  std::uint64_t seed = 0;  ///< fixes init, shuffling, augmentation and dropout
  std::string device = "cpu";
  std::filesystem::path output_dir;  ///< train_model: where last.pt, best.pt, metrics.jsonl go
  std::filesystem::path cache_dir = "cache";  ///< ensure_model: models live in <cache_dir>/models/
  std::filesystem::path checkpoint;           ///< ensure_model: an explicit checkpoint to use as-is
  bool resume = false;                        ///< continue the run in output_dir from last.pt
  bool force = false;                         ///< start over in a non-empty output_dir
  bool progress = true;                       ///< progress bars (still subject to --quiet)
  /// Testing hook: stop (as if interrupted) after this many epochs of this call (0 = never).
  std::int64_t stop_after_epochs = 0;
};

/// One epoch as written to metrics.jsonl (type "epoch").
struct EpochRecord {
  std::int64_t epoch = 0;               ///< 1-based
  double train_loss = 0;                ///< weighted loss Σ w_k CE_k, mean over the epoch
  std::vector<double> train_exit_loss;  ///< per-exit CE, mean over the epoch
  double val_loss = 0;                  ///< weighted loss on the validation split
  std::vector<double> val_exit_loss;
  std::vector<double> val_accuracy;  ///< per exit, percent
  std::vector<double> lr;            ///< backbone, exit heads, final head
  double seconds = 0;                ///< wall time of the epoch (train + validation)
  double images_per_s = 0;           ///< training images per second
  bool best = false;                 ///< this epoch gave the best validation loss so far
};

/// What train_model returns (also written to train_result.json).
struct TrainResult {
  std::filesystem::path output_dir;
  std::filesystem::path best_checkpoint;  ///< <output_dir>/best.pt
  std::filesystem::path last_checkpoint;  ///< <output_dir>/last.pt
  std::string config_hash;                ///< train_config_hash(job)
  std::int64_t epochs_run = 0;            ///< epochs completed in total (across resumes)
  std::int64_t best_epoch = 0;
  double best_val_loss = 0;
  bool stopped_early = false;             ///< patience ran out
  bool completed = false;                 ///< false when stopped by stop_after_epochs
  std::vector<std::int64_t> exit_blocks;  ///< l_k of each exit (depth in blocks)
  std::vector<double> val_accuracy;       ///< per exit of the best checkpoint, percent
  std::vector<double> test_accuracy;  ///< per exit of the best checkpoint (empty if not evaluated)
  double seconds = 0;                 ///< training wall time (this call)
  std::vector<EpochRecord> history;
};

/// Trains the multi-exit network of `job` jointly on Σ_k w_k CE(z_k, y) (docs/method.md), keeping
/// the best validation loss checkpoint, with early stopping on `patience`. Writes into output_dir,
/// each file atomically after every epoch: last.pt (+ last.optim.pt, train_state.json), best.pt,
/// metrics.jsonl; at the end train_result.json. With `resume`, continues exactly where last.pt left
/// (same final weights as an uninterrupted run at the same thread count).
TrainResult train_model(const TrainJob& job);

/// A stable hash (hex SHA-256) of everything that decides the trained weights: data, model and
/// train sections (without workers/log_every/evaluation-only keys), seed and the trainer version.
std::string train_config_hash(const TrainJob& job);

/// Where ensure_model() keeps the model of `job`: <cache_dir>/models/<name>-<first 16 hex of hash>.
std::filesystem::path model_cache_dir(const TrainJob& job);

/// The checkpoint to use for `job`: `job.checkpoint` when set (validated against job.model);
/// else <cache_dir>/models/<name>-<hash>/best.pt when its recorded hash matches (reused); else
/// trains there (resuming an interrupted run) and returns the new best.pt.
std::filesystem::path ensure_model(const TrainJob& job);

/// Per-exit accuracy (percent) and mean weighted loss of `checkpoint` on `split` of `data`
/// (at most max_samples, 0 = all).
struct Evaluation {
  std::vector<double> accuracy;
  std::vector<double> exit_loss;
  std::int64_t samples = 0;
};
/// Evaluates a checkpoint on a dataset split (no augmentation, eval mode).
Evaluation evaluate_checkpoint(const std::filesystem::path& checkpoint,
                               const data::DatasetConfig& data, const std::string& split,
                               std::int64_t max_samples, std::int64_t batch_size, int workers,
                               const std::string& device = "cpu");

/// A text table "exit | blocks | val acc | test acc" for logs and the CLI.
std::string format_accuracy_table(const std::vector<std::int64_t>& exit_blocks,
                                  const std::vector<double>& val_accuracy,
                                  const std::vector<double>& test_accuracy);

/// EpochRecord <-> JSON (one metrics.jsonl line).
nlohmann::json to_json(const EpochRecord& r);
/// Parses one metrics.jsonl epoch line; Error(kData) naming `source` when malformed.
EpochRecord epoch_record_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace isplitee::train
