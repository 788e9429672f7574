// The backbone registry (names, descriptions, config keys; isplitee::core) and the builders that
// construct each architecture (isplitee::vision) list the same names, in the same order.
#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "isplitee/model/backbones.hpp"
#include "isplitee/model/multi_exit_net.hpp"

namespace isplitee::model {
namespace {

TEST(Backbones, EveryRegistryNameHasABuilderAndViceVersa) {
  std::vector<std::string> registry;
  for (const auto& b : builtin_backbones()) registry.push_back(b.name);
  EXPECT_EQ(builder_architectures(), registry);
}

TEST(Backbones, EachBuilderBuildsItsArchitecture) {
  for (const auto& b : builtin_backbones()) {
    ModelConfig cfg;
    cfg.arch = b.name;
    cfg.in_channels = 1;
    cfg.input_size = 32;
    cfg.small_input = true;
    cfg.depth = 8;
    cfg.width = 4;
    cfg.width_mult = 0.25;
    const MultiExitNet net(cfg);
    EXPECT_EQ(net->profile().arch, b.name);
    EXPECT_GE(net->num_exits(), 2) << b.name;
  }
}

TEST(Backbones, UnknownArchitectureIsAConfigErrorNotAResNet) {
  ModelConfig cfg;
  cfg.arch = "resnet19";  // a ModelConfig made in code, past the config parser's check
  try {
    const MultiExitNet net(cfg);
    ADD_FAILURE() << "built an unknown architecture";
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(ErrorCode::kUsage));
    EXPECT_NE(std::string(e.what()).find("model.arch: unknown architecture 'resnet19'"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace isplitee::model
