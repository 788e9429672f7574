// A separate project linking the installed isplitee package: it builds a small multi-exit network
// (isplitee::vision), runs its edge part and cloud part, and scores the split arms with the cost
// model (isplitee::core). Prints "consumer ok" when everything agrees.
#include <cmath>
#include <cstdio>

#include <torch/torch.h>

#include "isplitee/cost/cost_model.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/version.hpp"

int main() {
  isplitee::model::ModelConfig cfg;
  cfg.arch = "resnet_cifar";
  cfg.depth = 8;
  cfg.width = 4;
  cfg.in_channels = 1;
  cfg.num_classes = 10;
  cfg.input_size = 28;
  auto net = isplitee::model::build_model(cfg);
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = torch::randn({2, 1, 28, 28});
  const auto full = net->forward(x);
  const int64_t k = net->num_exits();
  const auto edge = net->run_stages(x, 0, 1);
  const auto cloud = net->run_stages(edge, 1, k);
  const double diff = (net->exit_logits(k, cloud) - full.back()).abs().max().item<double>();

  std::vector<double> depths;
  for (auto b : net->exit_blocks()) depths.push_back(static_cast<double>(b));
  isplitee::cost::CostModel cm(isplitee::cost::CostConfig{}, depths);
  const double r = cm.reward(0, /*c_arm=*/0.9, /*c_final=*/0.95);
  const bool ok = diff < 1e-5 && std::fabs(r - (0.9 - 0.1 * depths[0])) < 1e-12 &&
                  isplitee::policy::builtin_policies().find("i-splitee") != nullptr;
  std::printf("isplitee %s: %lld exits, split parity %.2e, reward(arm 1) %.3f\n",
              isplitee::kVersion, static_cast<long long>(k), diff, r);
  if (!ok) return 1;
  std::printf("consumer ok\n");
  return 0;
}
