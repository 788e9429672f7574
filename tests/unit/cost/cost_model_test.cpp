#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "isplitee/cost/cost_model.hpp"

using namespace isplitee;
using cost::CostConfig;
using cost::CostModel;

namespace {
const std::vector<double> kPaperDepths = {3, 6, 9, 12, 15, 18, 19};

CostConfig parse(const std::string& text) {
  const auto doc = config::Document::parse(text, "cfg.json");
  return cost::parse_cost_config(config::Node(doc));
}
}  // namespace

// The paper's reward table (α=0.5, λ=0.1, μ=1, o=0.5, l = 3,6,…,18,19): whether a sample exits is
// the exit rule's decision; the cost model prices it.
TEST(CostModel, PaperRewardTable) {
  const CostModel cm(CostConfig{}, kPaperDepths);
  const cost::ExitRule rule(0.5);
  ASSERT_EQ(cm.num_arms(), 7u);
  auto r = [&](std::size_t arm, double s, double s_final) {
    return cm.reward(arm, rule.exits(arm, 7, s), s, s_final);
  };
  // arm 1 exit -> C_1 - 0.3; arm 1 offload -> C_7 - 0.8; arm 7 -> C_7 - 1.9.
  EXPECT_NEAR(r(0, 0.8, 0.95), 0.8 - 0.3, 1e-12);
  EXPECT_NEAR(r(0, 0.4, 0.95), 0.95 - 0.8, 1e-12);
  EXPECT_NEAR(r(6, 0.95, 0.95), 0.95 - 1.9, 1e-12);
  EXPECT_NEAR(r(6, 0.2, 0.2), 0.2 - 1.9, 1e-12);  // arm K: no threshold test
  // arm 4 (l=12): exit C_4 - 1.2, offload C_7 - 1.7.
  EXPECT_NEAR(r(3, 0.7, 0.9), 0.7 - 1.2, 1e-12);
  EXPECT_NEAR(r(3, 0.3, 0.9), 0.9 - 1.7, 1e-12);
  EXPECT_NEAR(cm.exit_reward(3, 0.7), 0.7 - 1.2, 1e-12);
  EXPECT_NEAR(cm.offload_reward(3, 0.9), 0.9 - 1.7, 1e-12);
  EXPECT_NEAR(cm.final_reward(0.9), 0.9 - 1.9, 1e-12);
  // Per-sample cost: 1.9 under final-exit; 0.3–0.8 when split at arm 1.
  EXPECT_NEAR(cm.cost(6, false), 1.9, 1e-12);
  EXPECT_NEAR(cm.cost(0, false), 0.3, 1e-12);
  EXPECT_NEAR(cm.cost(0, true), 0.8, 1e-12);
  EXPECT_NEAR(cm.cloud_cost(), 0.5, 1e-12);
  EXPECT_NEAR(cm.cloud_reward(0.9), 0.4, 1e-12);
}

TEST(ExitRule, ThresholdIsInclusiveAndNeverAppliesToLastArm) {
  const cost::ExitRule rule(0.5);
  EXPECT_TRUE(rule.exits(0, 7, 0.5));
  EXPECT_FALSE(rule.exits(0, 7, 0.4999));
  EXPECT_FALSE(rule.exits(6, 7, 1.0));
  const CostModel cm(CostConfig{}, kPaperDepths);
  EXPECT_NEAR(cm.reward(0, rule.exits(0, 7, 0.5), 0.5, 0.0), 0.5 - 0.3, 1e-12);
}

TEST(CostModel, MuAndOffloadScaleTheCost) {
  CostConfig c;
  c.mu = 2.0;
  c.offload = 0.25;
  c.lambda = 0.05;
  const CostModel cm(c, {2, 4});
  // exit: C - μ·λ·l ; offload: C_K - μ(λ·l + o)
  EXPECT_NEAR(cm.reward(0, true, 0.9, 0.7), 0.9 - 2 * 0.1, 1e-12);
  EXPECT_NEAR(cm.reward(0, false, 0.2, 0.7), 0.7 - 2 * (0.1 + 0.25), 1e-12);
  EXPECT_NEAR(cm.cost(0, true), 0.35, 1e-12);
  EXPECT_NEAR(cm.reward(1, false, 0.7, 0.7), 0.7 - 2 * 0.2, 1e-12);
}

TEST(CostModel, OracleRewardsFillEveryArm) {
  const CostModel cm(CostConfig{}, kPaperDepths);
  const float conf[7] = {0.4f, 0.6f, 0.2f, 0.9f, 0.1f, 0.55f, 0.8f};
  double out[7];
  cm.oracle_rewards(conf, cost::ExitRule(0.5), out);
  const double ck = 0.8f;
  EXPECT_NEAR(out[0], ck - 0.8, 1e-7);
  EXPECT_NEAR(out[1], 0.6f - 0.6, 1e-7);
  EXPECT_NEAR(out[2], ck - 1.4, 1e-7);
  EXPECT_NEAR(out[3], 0.9f - 1.2, 1e-7);
  EXPECT_NEAR(out[4], ck - 2.0, 1e-7);
  EXPECT_NEAR(out[5], 0.55f - 1.8, 1e-7);
  EXPECT_NEAR(out[6], ck - 1.9, 1e-7);
  // A stricter threshold turns arm 2's exit (0.6) into an offload.
  cm.oracle_rewards(conf, cost::ExitRule(0.7), out);
  EXPECT_NEAR(out[1], ck - 1.1, 1e-7);
}

TEST(CostConfig, DefaultsAndRoundTrip) {
  const auto c = parse(
      R"({"alpha": 0.7, "side_info": "proxy", "depth_units": "macs",
          "exit_rule": {"kind": "margin", "calibrate": true}})");
  EXPECT_EQ(c.exit_rule.kind, cost::ExitCriterion::kMargin);
  EXPECT_TRUE(c.exit_rule.calibrate);
  EXPECT_DOUBLE_EQ(c.alpha, 0.7);
  EXPECT_DOUBLE_EQ(c.lambda, 0.1);
  EXPECT_DOUBLE_EQ(c.mu, 1.0);
  EXPECT_DOUBLE_EQ(c.offload, 0.5);
  EXPECT_EQ(c.side_info, cost::SideInfo::kProxy);
  EXPECT_EQ(c.depth_units, cost::DepthUnits::kMacs);
  const auto again = parse(cost::to_json(c).dump());
  EXPECT_EQ(cost::to_json(again), cost::to_json(c));
}

TEST(CostConfig, ErrorsNameKeyAndRange) {
  try {
    parse(R"({"alpah": 0.7})");
    FAIL() << "unknown key accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("alpha"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cfg.json"), std::string::npos) << e.what();
  }
  try {
    parse(R"({"alpha": 1.5})");
    FAIL() << "alpha out of range accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("alpha"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("1.5"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse(R"({"side_info": "maybe"})"), Error);
  try {
    parse(R"({"exit_rule": {"kind": "entropie"}})");
    FAIL() << "unknown exit rule accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exit_rule.kind"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("entropy"), std::string::npos) << e.what();
  }
}

TEST(CostModel, ExitDepthsInTheChosenUnits) {
  const std::vector<double> blocks = {2, 3, 4}, macs = {0, 0, 0};
  EXPECT_EQ(cost::exit_depths(blocks, macs, cost::DepthUnits::kBlocks, "t"),
            (std::vector<double>{2, 3, 4}));
  EXPECT_EQ(cost::exit_depths(blocks, {5, 9, 12}, cost::DepthUnits::kMacs, "t"),
            (std::vector<double>{5, 9, 12}));
  try {
    cost::exit_depths(blocks, macs, cost::DepthUnits::kMacs, "t/manifest.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kData);
    EXPECT_NE(std::string(e.what()).find("macs_millions"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("t/manifest.json"), std::string::npos) << e.what();
  }
  EXPECT_THROW(cost::exit_depths({2, 3, 1}, macs, cost::DepthUnits::kBlocks, "t"), Error);
  EXPECT_THROW(cost::exit_depths(blocks, {}, cost::DepthUnits::kMacs, "t"), Error);
}
