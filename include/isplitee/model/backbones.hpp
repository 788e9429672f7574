#pragma once
/// \file The backbone registry: every multi-exit architecture by name, with what it is and which
/// `model.*` config keys it reads. Pure data (no LibTorch), so configs are checked and `isplitee
/// list models` works in a build without vision; the vision side keeps one builder per name.

#include <string>
#include <vector>

namespace isplitee::model {

/// One registry entry.
struct BackboneInfo {
  std::string name;                ///< the value of model.arch
  std::string description;         ///< one line
  std::vector<std::string> knobs;  ///< model.* keys this architecture reads beyond the common ones
  std::string default_exits;       ///< where the exits sit with `"exits": "default"`
};

/// The model.* keys every architecture reads.
const std::vector<std::string>& common_model_keys();

/// Every built-in backbone, in `isplitee list` order (an explicit list: one entry per backbone).
const std::vector<BackboneInfo>& builtin_backbones();

/// The entry named `name`, or nullptr.
const BackboneInfo* find_backbone(const std::string& name);

}  // namespace isplitee::model
