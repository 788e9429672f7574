#pragma once
/// \file The metadata check of isplitee's checkpoints, apart from LibTorch: what load_checkpoint()
/// validates before it builds a network, so that it can be tested and fuzzed on its own.

#include <string>

#include <nlohmann/json.hpp>

#include "isplitee/model/config.hpp"

namespace isplitee::model {

/// Parses the metadata string stored in a checkpoint and checks its format, format version and
/// model config, and that the fields repeating the config (arch, head, num_classes, input_size,
/// in_channels) agree with it. Returns the model config (with `pretrained` cleared: the weights
/// come from the checkpoint) and stores the parsed JSON in `metadata`. Throws Error(kData) naming
/// `file` and the first bad field.
ModelConfig parse_checkpoint_metadata(const std::string& text, const std::string& file,
                                      nlohmann::json& metadata);

}  // namespace isplitee::model
