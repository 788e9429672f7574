// A separate project linking the installed isplitee package. With isplitee::vision it builds a
// small multi-exit network, runs its edge part and cloud part and checks that they compose to the
// full network; in every build it scores the split arms with the cost model and parses a config
// (isplitee::core). Prints "consumer ok" when everything agrees.
#include <cmath>
#include <cstdio>
#include <vector>

#include "isplitee/config/node.hpp"
#include "isplitee/cost/cost_model.hpp"
#include "isplitee/pipeline/experiment_config.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/version.hpp"

#ifdef CONSUMER_WITH_VISION
#include <torch/torch.h>

#include "isplitee/model/multi_exit_net.hpp"

namespace {
// Split parity of a tiny network: cloud(edge(x)) equals the full forward pass. Returns the exit
// depths.
std::vector<double> check_split(double& diff) {
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
  diff = (net->exit_logits(k, cloud) - full.back()).abs().max().item<double>();
  std::vector<double> depths;
  for (auto b : net->exit_blocks()) depths.push_back(static_cast<double>(b));
  return depths;
}
}  // namespace
#endif

int main() {
  double diff = 0.0;
#ifdef CONSUMER_WITH_VISION
  const std::vector<double> depths = check_split(diff);
  const char* libs = "core + vision";
#else
  const std::vector<double> depths = {3, 6, 9, 12, 15, 18, 19};  // the paper's MobileNetV2 exits
  const char* libs = "core";
#endif
  isplitee::cost::CostModel cm(isplitee::cost::CostConfig{}, depths);
  // One sample whose first exit is 0.9 confident: the exit rule (max_prob, α = 0.5 by default)
  // lets it exit at split 1, so its reward is s_1 − μ·λ·l_1.
  const isplitee::cost::ExitRule rule = isplitee::cost::exit_rule_of(cm.config());
  const bool exited = rule.exits(0, depths.size(), 0.9);
  const double r = cm.reward(0, exited, /*s_arm=*/0.9, /*s_final=*/0.95);
  const auto doc = isplitee::config::Document::parse(
      R"({"name": "consumer", "cost": {"alpha": 0.7}, "model": {"arch": "resnet_cifar"}})",
      "consumer.json");
  const auto cfg = isplitee::pipeline::parse_experiment(doc);
  const bool ok = diff < 1e-5 && exited && std::fabs(r - (0.9 - 0.1 * depths[0])) < 1e-12 &&
                  isplitee::policy::builtin_policies().find("i-splitee") != nullptr &&
                  cfg.cost.alpha == 0.7 && cfg.model.input_size == 32;
  std::printf("isplitee %s (%s): %zu exits, split parity %.2e, reward(arm 1) %.3f\n",
              isplitee::kVersion, libs, depths.size(), diff, r);
  if (!ok) return 1;
  std::printf("consumer ok\n");
  return 0;
}
