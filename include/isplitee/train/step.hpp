#pragma once
/// \file One joint multi-exit training step (docs/method.md), as train_model() runs it; public so
/// that benchmarks time exactly the trainer's code.

#include <vector>

#include <torch/torch.h>

#include "isplitee/model/multi_exit_net.hpp"

namespace isplitee::train {

/// Losses of one step, detached.
struct StepLosses {
  torch::Tensor loss;                   ///< Σ_k w_k CE_k (scalar)
  std::vector<torch::Tensor> per_exit;  ///< CE_k of every exit (scalars)
};

/// Forward of all exits, Σ_k w_k CE(z_k, y) with label smoothing, backward, optimizer step.
/// Gradients are reset to "none" rather than to zeros, which saves a pass over every gradient
/// and gives the same values (0 + g = g). `opt` must hold the parameters of `net`.
StepLosses joint_step(model::MultiExitNetImpl& net, torch::optim::Optimizer& opt,
                      const torch::Tensor& x, const torch::Tensor& y,
                      const std::vector<double>& weights, double label_smoothing);

}  // namespace isplitee::train
