#include <gtest/gtest.h>

#include <cmath>

#include <torch/torch.h>

#include "isplitee/common/error.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/tracegen/exit_stats.hpp"
#include "isplitee/tracegen/trace_config.hpp"

using namespace isplitee;

TEST(ExitStats, MatchesHandComputedSoftmaxStatistics) {
  const auto logits =
      torch::tensor({{0.0, 0.0, 0.0}, {2.0, 1.0, 0.0}, {0.0, 0.0, 5.0}}, torch::kFloat32);
  const auto s = tracegen::exit_statistics(logits);
  // Row 1: uniform over 3 classes.
  EXPECT_NEAR(s.conf[0].item<float>(), 1.0 / 3, 1e-6);
  EXPECT_NEAR(s.entropy[0].item<float>(), std::log(3.0), 1e-6);
  EXPECT_NEAR(s.margin[0].item<float>(), 0.0, 1e-6);
  EXPECT_EQ(s.pred[0].item<int>(), 0);  // ties go to the lowest class
  // Row 2: softmax(2,1,0) = e^2, e, 1 over their sum.
  const double z = std::exp(2.0) + std::exp(1.0) + 1.0;
  const double p0 = std::exp(2.0) / z, p1 = std::exp(1.0) / z, p2 = 1.0 / z;
  EXPECT_NEAR(s.conf[1].item<float>(), p0, 1e-6);
  EXPECT_NEAR(s.margin[1].item<float>(), p0 - p1, 1e-6);
  EXPECT_NEAR(s.entropy[1].item<float>(),
              -(p0 * std::log(p0) + p1 * std::log(p1) + p2 * std::log(p2)), 1e-6);
  EXPECT_EQ(s.pred[1].item<int>(), 0);
  EXPECT_EQ(s.pred[2].item<int>(), 2);
  EXPECT_EQ(s.conf.scalar_type(), torch::kFloat32);
  EXPECT_EQ(s.pred.scalar_type(), torch::kInt32);
}

TEST(ExitStats, HugeLogitsStayFiniteAndInRange) {
  const auto logits = torch::tensor({{1e30f, -1e30f}, {-3e4f, 3e4f}}, torch::kFloat32);
  const auto s = tracegen::exit_statistics(logits);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(s.conf[i].item<float>(), 1.0f);
    EXPECT_EQ(s.margin[i].item<float>(), 1.0f);
    EXPECT_TRUE(std::isfinite(s.entropy[i].item<float>()));
    EXPECT_GE(s.entropy[i].item<float>(), 0.0f);
  }
  EXPECT_EQ(s.pred[1].item<int>(), 1);
}

namespace {
tracegen::TraceConfig parse(const std::string& text) {
  const auto doc = config::Document::parse(text, "t.json");
  return tracegen::parse_trace_config(config::Node(doc));
}
}  // namespace

TEST(TraceConfig, DefaultIsOnePristineTraceOfTheTestSplit) {
  const auto c = parse("{}");
  EXPECT_EQ(c.split, "test");
  ASSERT_EQ(c.distortions.size(), 1u);
  EXPECT_EQ(tracegen::planned_trace_names(c), std::vector<std::string>{"none"});
}

TEST(TraceConfig, RoundTripsAndNamesTraces) {
  const auto c = parse(R"({"split":"val","max_samples":100,"save_logits":true,
     "distortions":[{"name":"none"},{"name":"gaussian_noise","severity":3},{"name":"gaussian_blur","severity":1}]})");
  const auto names = tracegen::planned_trace_names(c);
  EXPECT_EQ(names, (std::vector<std::string>{"none", "gaussian_noise@3", "gaussian_blur@1"}));
  const auto j = tracegen::to_json(c);
  EXPECT_EQ(tracegen::to_json(parse(j.dump())), j);
}

TEST(TraceConfig, DuplicateAndUnknownEntriesAreErrors) {
  try {
    parse(
        R"({"distortions":[{"name":"gaussian_noise","severity":2},{"name":"gaussian_noise","severity":2}]})");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("distortions[1]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(parse(R"({"split":"dev"})"), Error);
  EXPECT_THROW(parse(R"({"batchsize":3})"), Error);
  EXPECT_THROW(parse(R"({"distortions":[{"name":"gaussian_noize","severity":2}]})"), Error);
}
