#pragma once
/// \file The CPU inference engine behind MultiExitNetImpl::optimize_for_inference(): the backbone
/// as a chain of oneDNN primitives built once per input shape, with BatchNorm folded into the
/// weights, the activation and the residual addition fused into each convolution, weights packed
/// once, and activations kept in oneDNN's blocked layouts from the first block to the last; they
/// are converted to plain NCHW tensors only where someone reads them (split points, exit heads).
/// Private to src/model (oneDNN stays out of every header).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "layers.hpp"

namespace isplitee::model::detail {

/// Runs ranges of a lowered backbone. Not thread-safe (plans own their activation buffers).
class FastPath {
 public:
  /// Takes the lowered blocks 1..B (block b is blocks[b-1]). Throws Error(kUsage) when this build
  /// has no engine (available() is false).
  explicit FastPath(std::vector<LoweredBlock> blocks);
  ~FastPath();
  FastPath(const FastPath&) = delete;
  FastPath& operator=(const FastPath&) = delete;

  /// Whether this build has the engine (oneDNN was found when it was configured).
  static bool available() noexcept;

  /// Runs blocks from+1..to on x (N × C × H × W, float32, CPU; the activation after block
  /// `from`) and returns the outputs of the blocks listed in `taps` (increasing, each in
  /// from+1..to) as new contiguous NCHW tensors. Requires from < to.
  std::vector<torch::Tensor> run(const torch::Tensor& x, std::int64_t from, std::int64_t to,
                                 const std::vector<std::int64_t>& taps);

  /// Number of input shapes / ranges prepared so far (cached plans).
  std::size_t cached_plans() const noexcept;

  /// "oneDNN v2.6.3 (<primitive implementations used>)" for logs and profiles.
  std::string describe() const;

  struct Impl;  ///< the oneDNN state (opaque)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace isplitee::model::detail
