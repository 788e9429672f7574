#pragma once
/// \file Per-sample statistics of one exit's logits, as recorded in a trace (docs/method.md §1,
/// docs/architecture.md, "Files a run reads and writes").

#include <torch/torch.h>

namespace isplitee::tracegen {

/// The columns a trace stores for one exit, each of length N.
struct ExitStats {
  torch::Tensor conf;     ///< float32 max softmax probability C_k, in [0, 1]
  torch::Tensor pred;     ///< int32 argmax class (ties: the lowest class index, as torch.argmax)
  torch::Tensor entropy;  ///< float32 softmax entropy in nats
  torch::Tensor margin;   ///< float32 top-1 minus top-2 probability (0 when there is one class)
};

/// Statistics of `logits` (N × C, any floating type), computed in float64 and stored as float32 so
/// that confidences stay in [0, 1] exactly and large logits never overflow.
ExitStats exit_statistics(const torch::Tensor& logits);

}  // namespace isplitee::tracegen
