// The backbone registry (names, descriptions, config keys). Builders: multi_exit_net.cpp.
#include "isplitee/model/backbones.hpp"

namespace isplitee::model {

const std::vector<std::string>& common_model_keys() {
  static const std::vector<std::string> keys{"in_channels", "num_classes", "input_size", "exits",
                                             "head",        "dropout",     "pretrained"};
  return keys;
}

const std::vector<BackboneInfo>& builtin_backbones() {
  static const std::vector<BackboneInfo> list{
      {"mobilenet_v2",
       "torchvision MobileNetV2 (19 blocks: stem, 17 inverted residuals, 1x1 conv), the paper's "
       "backbone",
       {"width_mult", "small_input"},
       "after blocks 3, 6, 9, 12, 15, 18 (+ final exit)"},
      {"resnet18",
       "torchvision ResNet-18 (stem + 8 basic blocks)",
       {"small_input"},
       "after every residual block (the last one feeds the final exit)"},
      {"resnet34",
       "torchvision ResNet-34 (stem + 16 basic blocks)",
       {"small_input"},
       "after every residual block (the last one feeds the final exit)"},
      {"resnet50",
       "torchvision ResNet-50 (stem + 16 bottleneck blocks)",
       {"small_input"},
       "after every residual block (the last one feeds the final exit)"},
      {"resnet_cifar",
       "He et al. CIFAR ResNet, depth 6n+2, three stages of width w, 2w, 4w (32 px inputs)",
       {"depth", "width"},
       "after every residual block up to depth 20, else ~9 evenly spaced (+ final exit)"},
  };
  return list;
}

const BackboneInfo* find_backbone(const std::string& name) {
  for (const auto& b : builtin_backbones())
    if (b.name == name) return &b;
  return nullptr;
}

}  // namespace isplitee::model
