#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "isplitee/common/rng.hpp"
#include "isplitee/cost/calibration.hpp"
#include "isplitee/cost/exit_rule.hpp"
#include "isplitee/trace/trace.hpp"

using namespace isplitee;
using cost::ExitCriterion;
using cost::ExitRule;
using cost::ExitRuleConfig;

namespace {

ExitRule rule(ExitCriterion kind, double alpha = 0.5, bool calibrate = false) {
  return ExitRule(ExitRuleConfig{kind, calibrate}, alpha);
}

}  // namespace

// Logits [2, 1, 0]: p = e^{2,1,0} / (e^2 + e + 1) = [0.665241, 0.244728, 0.090031].
TEST(ExitRule, SoftmaxStatsByHand) {
  const float z[3] = {2.0f, 1.0f, 0.0f};
  const auto s = cost::softmax_stats(z, 3);
  const double zsum = std::exp(2.0) + std::exp(1.0) + 1.0;
  const double p0 = std::exp(2.0) / zsum, p1 = std::exp(1.0) / zsum, p2 = 1.0 / zsum;
  EXPECT_NEAR(s.max_prob, p0, 1e-6);
  EXPECT_NEAR(s.margin, p0 - p1, 1e-6);
  EXPECT_NEAR(s.entropy, -(p0 * std::log(p0) + p1 * std::log(p1) + p2 * std::log(p2)), 1e-6);
  EXPECT_EQ(s.pred, 0);
  // Temperature 2 halves the logits: [1, 0.5, 0].
  const auto t = cost::softmax_stats(z, 3, 2.0);
  const double w = std::exp(1.0) + std::exp(0.5) + 1.0;
  EXPECT_NEAR(t.max_prob, std::exp(1.0) / w, 1e-6);
  // Extreme logits neither overflow nor lose the top-2 gap.
  const float big[2] = {1000.0f, 999.0f};
  const auto b = cost::softmax_stats(big, 2);
  EXPECT_NEAR(b.max_prob, 1.0 / (1.0 + std::exp(-1.0)), 1e-6);
  EXPECT_TRUE(std::isfinite(b.entropy));
}

TEST(ExitRule, ScoresOfEachCriterion) {
  cost::ExitStats s;
  s.max_prob = 0.7f;
  s.entropy = 0.5f;
  s.margin = 0.45f;
  EXPECT_NEAR(rule(ExitCriterion::kMaxProb).score(s, 10), 0.7, 1e-7);
  EXPECT_NEAR(rule(ExitCriterion::kEntropy).score(s, 10), 1.0 - 0.5 / std::log(10.0), 1e-7);
  EXPECT_NEAR(rule(ExitCriterion::kMargin).score(s, 10), 0.45, 1e-7);
  // A uniform softmax has entropy ln C: score 0; a one-hot has entropy 0: score 1.
  s.entropy = static_cast<float>(std::log(10.0));
  EXPECT_NEAR(rule(ExitCriterion::kEntropy).score(s, 10), 0.0, 1e-6);
  s.entropy = 0.0f;
  EXPECT_NEAR(rule(ExitCriterion::kEntropy).score(s, 10), 1.0, 1e-12);
}

TEST(ExitRule, TraceScoresReadTheRightColumn) {
  trace::Trace t;
  t.num_samples = 2;
  t.num_exits = 2;
  t.manifest.num_classes = 4;
  t.conf = {0.9f, 0.6f, 0.3f, 0.8f};
  t.entropy = {0.1f, 0.7f, 1.2f, 0.2f};
  t.margin = {0.85f, 0.3f, 0.05f, 0.7f};
  EXPECT_EQ(rule(ExitCriterion::kMaxProb).trace_scores(t, "t"), t.conf);
  EXPECT_EQ(rule(ExitCriterion::kMargin).trace_scores(t, "t"), t.margin);
  const auto h = rule(ExitCriterion::kEntropy).trace_scores(t, "t");
  ASSERT_EQ(h.size(), 4u);
  EXPECT_NEAR(h[2], 1.0 - 1.2 / std::log(4.0), 1e-6);
  // A CSV-like trace (conf only) refuses entropy and margin with a clear message.
  t.entropy.clear();
  t.margin.clear();
  try {
    rule(ExitCriterion::kEntropy).trace_scores(t, "exits.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kData);
    const std::string m = e.what();
    EXPECT_NE(m.find("exits.csv"), std::string::npos) << m;
    EXPECT_NE(m.find("entropy"), std::string::npos) << m;
    EXPECT_NE(m.find("max_prob"), std::string::npos) << m;
  }
  EXPECT_THROW(rule(ExitCriterion::kMargin).trace_scores(t, "exits.csv"), Error);
  // Calibrated scores need the calibrated columns.
  EXPECT_THROW(rule(ExitCriterion::kMaxProb, 0.5, true).trace_scores(t, "old-trace"), Error);
  t.conf_cal = {0.8f, 0.5f, 0.35f, 0.7f};
  EXPECT_EQ(rule(ExitCriterion::kMaxProb, 0.5, true).trace_scores(t, "t"), t.conf_cal);
}

TEST(Calibration, EceByHand) {
  // Bins of width 1/15: 0.95 and 0.97 share the last bin (mean conf 0.96, accuracy 1/2);
  // 0.30 sits alone (accuracy 1). ECE = 2/3·|0.5 − 0.96| + 1/3·|1 − 0.30|.
  const float conf[3] = {0.95f, 0.97f, 0.30f};
  const std::uint8_t ok[3] = {1, 0, 1};
  EXPECT_NEAR(cost::expected_calibration_error(conf, ok, 3),
              2.0 / 3.0 * std::abs(0.5 - 0.96) + 1.0 / 3.0 * 0.70, 1e-6);
  EXPECT_EQ(cost::expected_calibration_error(conf, ok, 0), 0.0);
}

// Labels drawn from softmax(z / 2.5): the NLL-optimal temperature is close to 2.5, and calibrating
// lowers the ECE of the over-confident logits.
TEST(Calibration, RecoversTheTemperatureThatGeneratedTheLabels) {
  const std::size_t n = 20000, c = 5;
  Rng rng(7);
  std::vector<float> z(n * c);
  std::vector<std::int32_t> y(n);
  for (std::size_t i = 0; i < n; ++i) {
    double p[5], sum = 0;
    for (std::size_t j = 0; j < c; ++j) {
      z[i * c + j] = static_cast<float>(3.0 * rng.normal());
      sum += p[j] = std::exp(z[i * c + j] / 2.5);
    }
    double u = rng.uniform() * sum;
    std::size_t j = 0;
    while (j + 1 < c && (u -= p[j]) > 0) ++j;
    y[i] = static_cast<std::int32_t>(j);
  }
  const double t = cost::fit_temperature(z.data(), y.data(), n, c);
  EXPECT_NEAR(t, 2.5, 0.15);
  EXPECT_LT(cost::mean_nll(z.data(), y.data(), n, c, t),
            cost::mean_nll(z.data(), y.data(), n, c, 1.0));
  const auto s = cost::calibrate_exits(z.data(), y.data(), n, 1, c);
  ASSERT_EQ(s.temperature.size(), 1u);
  EXPECT_NEAR(s.temperature[0], t, 1e-9);
  EXPECT_LT(s.ece_after[0], s.ece_before[0]);
  EXPECT_LT(s.ece_after[0], 0.02);
}
