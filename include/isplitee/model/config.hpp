#pragma once
/// \file The `model` section of an experiment config: which multi-exit backbone to build
/// (docs/method.md §1, §8). Core-free of LibTorch so that other modules can hold a ModelConfig
/// cheaply.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace isplitee::config {
class Node;
}

namespace isplitee::model {

/// Where the exits sit. Blocks ("depth units") are numbered 1..B over the backbone's units,
/// stem included (MobileNetV2: features[0..18], B = 19; ResNet: stem + every residual block).
/// The final exit (the network's own classifier) always sits after block B and is not listed.
struct ExitPlacement {
  /// "default" (the architecture's: docs/method.md §1 for mobilenet_v2, every residual block for
  /// resnets, ~9 evenly spaced for deep resnet_cifar), "blocks", "every" or "macs".
  std::string mode = "default";
  std::vector<std::int64_t>
      blocks;              ///< mode "blocks": exits after these blocks (1..B-1, increasing)
  std::int64_t every = 1;  ///< mode "every": exits after blocks every, 2·every, … < B
  std::vector<double> mac_fractions;  ///< mode "macs": first block whose cumulative backbone MACs
                                      ///< reach each fraction (0, 1) of the total (SDN placement)
};

/// Everything needed to build a MultiExitNet.
struct ModelConfig {
  /// "mobilenet_v2", "resnet18", "resnet34", "resnet50" (torchvision topologies) or
  /// "resnet_cifar" (He et al. CIFAR ResNet, depth 6n+2).
  std::string arch = "mobilenet_v2";
  std::int64_t in_channels = 3;   ///< 1 or 3
  std::int64_t num_classes = 10;  ///< ≥ 2
  std::int64_t input_size = 224;  ///< square input side in pixels (for profiles and checks)
  double width_mult = 1.0;        ///< mobilenet_v2 width multiplier (torchvision semantics)
  std::int64_t depth = 20;        ///< resnet_cifar depth, 6n+2 (8, 14, 20, 32, 44, 56, …)
  std::int64_t width = 16;        ///< resnet_cifar base channels (stages: w, 2w, 4w)
  /// Stride-reduced stem for 28–32 px inputs: mobilenet_v2 stem and first 24-channel stage stride 1
  /// (as CIFAR ports do); resnet18/34/50 3×3 stride-1 stem without max-pool. resnet_cifar ignores
  /// it.
  bool small_input = false;
  ExitPlacement exits;
  std::string head = "bnpool";  ///< exit heads: "bnpool" (the paper's), "pool" or "conv"
  double dropout = 0.2;         ///< dropout before the final Linear (mobilenet_v2: 0.2, else 0)
  std::string pretrained;       ///< file written by scripts/export_torchvision.py ("" = none)
};

/// Parses a `model` config section (reads every key, range-checks, then node.finish()).
/// Architecture-dependent defaults (dropout) are resolved here, so to_json() re-parses identically.
ModelConfig parse_model_config(const config::Node& node);

/// Every field with defaults filled; parse_model_config(to_json(c)) == c.
nlohmann::json to_json(const ModelConfig& c);

/// Architectures build_model() knows, in `isplitee list` order.
std::vector<std::string> architecture_names();

/// Exit head types, in `isplitee list` order.
std::vector<std::string> head_names();

}  // namespace isplitee::model
