#pragma once
/// \file isplitee's own multi-exit checkpoints (parameters + validated metadata).

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "isplitee/data/config.hpp"
#include "isplitee/model/checkpoint_metadata.hpp"
#include "isplitee/model/multi_exit_net.hpp"

namespace isplitee::model {

/// Checkpoint format version (metadata key "format_version").
inline constexpr int kCheckpointFormatVersion = 1;

/// A checkpoint read back from disk.
struct LoadedCheckpoint {
  MultiExitNet net{nullptr};  ///< rebuilt from `config`, parameters and buffers loaded, eval mode
  ModelConfig config;         ///< the model section it was trained with
  nlohmann::json metadata;    ///< everything stored: format_version, arch, exit_blocks, head,
                              ///< num_classes, input_size, in_channels, model, extra, …
  nlohmann::json extra;       ///< the `extra_json` given to save_checkpoint (epoch, metrics, …)
  /// How images were prepared for the network in training (resize, crop, channels, mean, std as
  /// the data config had them; the input size is config.input_size). Checkpoints written before
  /// this was stored fall back to the model config: channels = config.in_channels, no resize or
  /// crop, mean 0 and std 1 (identity normalisation): pass such a model its data config's
  /// preprocessing yourself.
  data::Preprocess preprocess;
  bool preprocess_stored = false;  ///< false: `preprocess` is the fallback above
};

/// Writes `net` and its metadata atomically to `path` (a LibTorch archive with a "metadata" JSON
/// string entry). `extra_json` is stored as metadata["extra"]; `preprocess` (the data config's
/// preprocessing the network was trained with), when given, as metadata["preprocess"].
void save_checkpoint(const std::filesystem::path& path, MultiExitNetImpl& net,
                     const ModelConfig& cfg,
                     const nlohmann::json& extra_json = nlohmann::json::object(),
                     const data::Preprocess* preprocess = nullptr);

/// Reads a checkpoint; validates the metadata (format version, and that arch, exit blocks, head,
/// classes, input size and channels agree with the stored config and the rebuilt net; the stored
/// preprocessing's ranges, its channels against in_channels and its crop against input_size).
/// Throws Error(kData) naming the file and the mismatched field, Error(kIo) when unreadable.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path);

/// As load_checkpoint(), and also checks that the checkpoint matches `expected` (arch, in_channels,
/// num_classes, input_size, exits, head, …), naming the first field that differs.
LoadedCheckpoint load_checkpoint(const std::filesystem::path& path, const ModelConfig& expected);

}  // namespace isplitee::model
