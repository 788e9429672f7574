#pragma once
/// \file The "train" section of an experiment config: the multi-exit training recipe
/// (docs/method.md §8) and the learning-rate schedules it uses.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"

namespace isplitee::train {

/// Training-time augmentation of train images (never applied to val/test images).
struct AugmentConfig {
  std::string kind =
      "crop-flip";  ///< "none" | "crop-flip" (pad + random crop + flip) | "caltech-jitter"
  std::int64_t crop_padding = 4;  ///< pixels of zero padding before the random crop (crop-flip)
  bool flip = true;               ///< random horizontal flip with probability 0.5
  double jitter = 0.4;     ///< brightness/contrast/saturation jitter strength (caltech-jitter)
  double scale_min = 0.5;  ///< smallest area fraction of the random resized crop (caltech-jitter)
};

/// Joint multi-exit training recipe (docs/method.md §8). Every field has a default. The validation
/// hold-out is the data section's val_fraction (the "val" split of data::open_split).
struct TrainConfig {
  std::string optimizer = "adam";   ///< "adam" | "sgd"
  double lr_backbone = 1.5e-4;      ///< learning rate of the backbone parameter group
  double lr_exit_heads = 1e-2;      ///< learning rate of the intermediate exit heads
  double lr_final_head = 1.5e-4;    ///< learning rate of the final classifier head
  double momentum = 0.9;            ///< SGD momentum (ignored by Adam)
  bool nesterov = false;            ///< SGD Nesterov momentum
  double weight_decay = 5e-4;       ///< L2 weight decay of every group
  std::string schedule = "cosine";  ///< "cosine" | "step" | "constant", stepped once per epoch
  std::int64_t t_max = 10;          ///< cosine period in epochs (PyTorch CosineAnnealingLR T_max)
  double eta_min = 0.0;             ///< cosine floor, as a fraction of each group's base lr
  std::int64_t step_size = 10;      ///< step schedule: epochs between decays
  double gamma = 0.1;               ///< step schedule: decay factor
  std::int64_t warmup_epochs = 0;   ///< linear warm-up epochs before the schedule starts
  std::int64_t epochs = 30;         ///< maximum number of epochs
  std::int64_t batch_size = 64;
  std::int64_t eval_batch_size = 256;
  std::int64_t patience = 50;  ///< early stop after this many epochs without a better val loss
  std::vector<double>
      exit_weights;  ///< w_k of the loss Σ w_k CE(z_k, y); empty = default_exit_weights(K)
  double label_smoothing = 0.0;
  AugmentConfig augment;
  std::int64_t max_train_samples = 0;  ///< 0 = all (for tiny runs and tests)
  std::int64_t max_val_samples = 0;    ///< 0 = all
  std::int64_t max_test_samples = 0;   ///< 0 = all
  bool evaluate_test = true;           ///< report per-exit test accuracy of the best checkpoint
  std::int64_t workers = 2;            ///< threads that decode/augment batches
  std::int64_t log_every =
      50;  ///< steps between metric lines in metrics.jsonl (0 = per epoch only)
  std::string init_checkpoint;  ///< fine-tune from one of our checkpoints ("" = model's own init)
  /// Seeds initialisation, shuffling, augmentation, dropout and the traces' distortions; unset =
  /// the experiment config's top-level `seed` (filled in by pipeline::parse_experiment).
  std::optional<std::uint64_t> seed;
};

/// Parses the "train" section (all keys optional; unknown keys are errors).
TrainConfig parse_train_config(const config::Node& node);

/// Every field with defaults filled; parse_train_config(to_json(c)) == c.
nlohmann::json to_json(const TrainConfig& c);

/// The loss weights for `num_exits` exits: `configured` when non-empty (its length must match,
/// else Error(kUsage)), docs/method.md §8's [1,1,1,.7,.7,.7,.5] for 7 exits, else all ones.
std::vector<double> resolve_exit_weights(const std::vector<double>& configured,
                                         std::int64_t num_exits);

/// The learning-rate multiplier (of a group's base lr) in force during 0-based `epoch`:
/// warm-up, then cosine (closed form of PyTorch's CosineAnnealingLR: periodic in 2·T_max), step,
/// or 1.
double lr_factor(const TrainConfig& c, std::int64_t epoch);

}  // namespace isplitee::train
