#pragma once
/// \file Images → per-exit outputs: what a trace stores and what the live edge decides on
/// (docs/method.md): for every sample and exit the max softmax probability, the prediction,
/// the entropy and the top-1 − top-2 margin, optionally the logits.

#include <cstdint>
#include <vector>

#include <torch/torch.h>

#include "isplitee/model/multi_exit_net.hpp"

namespace isplitee::model {

/// Softmax statistics of one exit's logits, each of length N.
struct ExitStats {
  torch::Tensor conf;     ///< float32 max softmax probability C_k, in [0, 1]
  torch::Tensor pred;     ///< int32 argmax class (ties: the lowest class index, as torch.argmax)
  torch::Tensor entropy;  ///< float32 softmax entropy in nats
  torch::Tensor margin;   ///< float32 top-1 minus top-2 probability (0 when there is one class)
};

/// Statistics of `logits` (N × C, any floating type), computed in float64 and stored as float32 so
/// that confidences stay in [0, 1] exactly and large logits never overflow.
ExitStats exit_statistics(const torch::Tensor& logits);

/// Per-exit outputs of a batch, row-major N × K: sample i, exit k (1-based) at i·K + k − 1.
struct ExitOutputs {
  std::int64_t n = 0;  ///< samples
  std::int64_t k = 0;  ///< exits 1..k
  std::int64_t classes = 0;
  std::vector<float> max_prob;  ///< C_k after temperature scaling
  std::vector<float> entropy;   ///< nats, after temperature scaling
  std::vector<float> margin;    ///< top-1 − top-2 probability, after temperature scaling
  std::vector<std::int32_t> pred;
  std::vector<float> logits;  ///< N × K × classes raw logits (before temperature), when asked for
};

/// Softmax statistics of exits 1..last_exit for a batch of preprocessed images (N × C × H × W),
/// in one forward pass that computes nothing past last_exit. The network runs as it is set up:
/// call eval() and optimize_for_inference() first for the fast inference path (tracegen does).
/// `temperatures`: empty (all 1) or one per exit of the network (K values, > 0); exit k's logits
/// are divided by T_k (in float64) before the softmax; T_k = 1 leaves them untouched.
/// Throws Error(kUsage) in training mode or for bad temperatures.
ExitOutputs exit_outputs(MultiExitNetImpl& net, const torch::Tensor& images, std::int64_t last_exit,
                         const std::vector<double>& temperatures = {}, bool keep_logits = false);

}  // namespace isplitee::model
