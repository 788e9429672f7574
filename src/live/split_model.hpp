#pragma once
/// \file The network of a live run (LibTorch; private to src/live). The edge and the cloud each
/// hold their own copy, so an embedded cloud serving on another thread never shares modules with
/// the edge.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "isplitee/live/live.hpp"
#include "isplitee/model/config.hpp"
#include "isplitee/model/multi_exit_net.hpp"

namespace isplitee::live {

class SplitModel {
 public:
  model::MultiExitNet net{nullptr};
  model::ModelConfig config;
  std::string sha256;
  std::int64_t k = 0, classes = 0;
  /// C, H, W of the activation at split s (index 0: the preprocessed input).
  std::vector<std::vector<std::int64_t>> split_shape;

  /// Runs stages from+1..to. The one place the live code calls the backbone: a faster inference
  /// path replaces this body only.
  torch::Tensor stages(const torch::Tensor& h, std::int64_t from, std::int64_t to) {
    return net->run_stages(h, from, to);
  }
  /// Logits of exit `exit` (1..K) from the activation at split `exit`.
  torch::Tensor head(std::int64_t exit, const torch::Tensor& h) {
    return net->exit_logits(exit, h);
  }
};

}  // namespace isplitee::live
