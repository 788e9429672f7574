#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/train/train_config.hpp"

using namespace isplitee;

namespace {
train::TrainConfig parse(const std::string& text) {
  const auto doc = config::Document::parse(text, "t.json");
  return train::parse_train_config(config::Node(doc));
}
std::string error_of(const std::string& text) {
  try {
    parse(text);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUsage);
    return e.what();
  }
  return "";
}
}  // namespace

TEST(TrainConfig, DefaultsAreThePaperRecipe) {
  const auto c = parse("{}");
  EXPECT_EQ(c.optimizer, "adam");
  EXPECT_DOUBLE_EQ(c.lr_backbone, 1.5e-4);
  EXPECT_DOUBLE_EQ(c.lr_exit_heads, 1e-2);
  EXPECT_DOUBLE_EQ(c.lr_final_head, 1.5e-4);
  EXPECT_DOUBLE_EQ(c.weight_decay, 5e-4);
  EXPECT_EQ(c.schedule, "cosine");
  EXPECT_EQ(c.t_max, 10);
  EXPECT_EQ(c.batch_size, 64);
  EXPECT_EQ(c.patience, 50);
}

TEST(TrainConfig, ToJsonReparsesToTheSameValues) {
  const auto c = parse(R"({"optimizer":"sgd","lr_backbone":0.1,"schedule":"step","step_size":3,
      "gamma":0.5,"exit_weights":[1,0.5,0.25],"augment":{"kind":"caltech-jitter","jitter":0.2},
      "max_train_samples":100,"init_checkpoint":"a.pt"})");
  const auto j = train::to_json(c);
  const auto c2 = parse(j.dump());
  EXPECT_EQ(train::to_json(c2), j);
  EXPECT_EQ(c2.optimizer, "sgd");
  EXPECT_EQ(c2.exit_weights, (std::vector<double>{1, 0.5, 0.25}));
  EXPECT_EQ(c2.augment.kind, "caltech-jitter");
  EXPECT_DOUBLE_EQ(c2.augment.jitter, 0.2);
  EXPECT_EQ(c2.init_checkpoint, "a.pt");
}

TEST(TrainConfig, BadValuesNameTheKeyAndRange) {
  EXPECT_NE(error_of(R"({"epochs": 0})").find("epochs"), std::string::npos);
  EXPECT_NE(error_of(R"({"optimizer": "adamw"})").find("optimizer"), std::string::npos);
  const auto typo = error_of(R"({"batchsize": 3})");
  EXPECT_NE(typo.find("batch_size"), std::string::npos) << typo;  // did you mean
  EXPECT_NE(error_of(R"({"augment": {"kind": "mixup"}})").find("augment.kind"), std::string::npos);
  EXPECT_NE(error_of(R"({"exit_weights": [0, 0]})").find("exit_weights"), std::string::npos);
}

TEST(TrainConfig, ExitWeightsDefaultToMethodSection6ForSevenExits) {
  EXPECT_EQ(train::resolve_exit_weights({}, 7), (std::vector<double>{1, 1, 1, 0.7, 0.7, 0.7, 0.5}));
  EXPECT_EQ(train::resolve_exit_weights({}, 3), (std::vector<double>{1, 1, 1}));
  EXPECT_EQ(train::resolve_exit_weights({2, 1}, 2), (std::vector<double>{2, 1}));
  EXPECT_THROW(train::resolve_exit_weights({1, 1}, 3), Error);
}

TEST(TrainConfig, CosineScheduleMatchesPyTorchClosedForm) {
  auto c = parse(R"({"schedule":"cosine","t_max":10})");
  EXPECT_DOUBLE_EQ(train::lr_factor(c, 0), 1.0);
  EXPECT_NEAR(train::lr_factor(c, 5), 0.5, 1e-12);
  EXPECT_NEAR(train::lr_factor(c, 10), 0.0, 1e-12);
  EXPECT_NEAR(train::lr_factor(c, 20), 1.0, 1e-12);  // periodic, as PyTorch's closed form
  // torch: 0.5 * (1 + cos(pi * 3 / 10)) = 0.7938926261462366
  EXPECT_NEAR(train::lr_factor(c, 3), 0.7938926261462366, 1e-12);
  c.eta_min = 0.1;
  EXPECT_NEAR(train::lr_factor(c, 10), 0.1, 1e-12);
}

TEST(TrainConfig, StepAndWarmupSchedules) {
  auto c = parse(R"({"schedule":"step","step_size":2,"gamma":0.5,"warmup_epochs":1})");
  EXPECT_DOUBLE_EQ(train::lr_factor(c, 0), 0.5);  // warm-up: (0+1)/(1+1)
  EXPECT_DOUBLE_EQ(train::lr_factor(c, 1), 1.0);
  EXPECT_DOUBLE_EQ(train::lr_factor(c, 2), 1.0);
  EXPECT_DOUBLE_EQ(train::lr_factor(c, 3), 0.5);
  EXPECT_DOUBLE_EQ(train::lr_factor(c, 5), 0.25);
  c = parse(R"({"schedule":"constant"})");
  EXPECT_DOUBLE_EQ(train::lr_factor(c, 7), 1.0);
}
