// cost.mode = measured: what a sample is charged from the edge's measurements, and how the session
// prices the played arm and its side observations with it (hand-computed values).

#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "isplitee/cost/cost_model.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/sim/session.hpp"

using namespace isplitee;

namespace {

cost::CostConfig measured_config() {
  const auto doc = config::Document::parse(
      R"({"mode": "measured", "lambda_time": 0.8, "lambda_bytes": 0.5, "lambda_latency": 0.2,
          "slo_ms": 10, "side_info": "strict"})",
      "cfg.json");
  return cost::parse_cost_config(config::Node(doc));
}

cost::CostModel measured_model() {
  cost::CostModel cm(measured_config(), {2, 3, 4});
  cm.set_measured_units({4.0, 784.0, {392.0, 196.0, 98.0}});
  return cm;
}

}  // namespace

TEST(MeasuredCost, ParsesAndRoundTrips) {
  const auto c = measured_config();
  EXPECT_EQ(c.mode, cost::CostMode::kMeasured);
  EXPECT_EQ(cost::to_json(c)["mode"], "measured");
  EXPECT_EQ(cost::to_json(c)["slo_ms"], 10.0);
  EXPECT_EQ(cost::to_json(cost::CostConfig{})["mode"], "paper");
  const auto doc = config::Document::parse(R"({"mode": "guessed"})", "cfg.json");
  EXPECT_THROW(cost::parse_cost_config(config::Node(doc)), Error);
}

TEST(MeasuredCost, ChargesEdgeTimeBytesAndLatency) {
  const auto cm = measured_model();
  const double edge_at[3] = {1.0, 2.0, 4.0};
  const cost::Measurement m{edge_at, 196.0, 16.0};
  // On the edge: λ_t · edge_ms / full_ms.
  EXPECT_NEAR(cm.measured_cost(0, false, m, true), 0.8 * 1.0 / 4.0, 1e-12);
  EXPECT_NEAR(cm.measured_cost(2, false, m, true), 0.8, 1e-12);
  // Offloaded at arm 2 (played): + λ_b · 196/784 + λ_l · (16 − 10)/10.
  EXPECT_NEAR(cm.measured_cost(1, true, m, true), 0.8 * 0.5 + 0.5 * 0.25 + 0.2 * 0.6, 1e-12);
  // A shallower arm's offload: its split's bytes, no latency term (not observed).
  EXPECT_NEAR(cm.measured_cost(0, true, m, false), 0.8 * 0.25 + 0.5 * 0.5, 1e-12);
  // Cloud-only: bytes and latency only.
  EXPECT_NEAR(cm.measured_cloud_cost({nullptr, 784.0, 5.0}), 0.5, 1e-12);
}

TEST(MeasuredCost, UnitsMustBeKnown) {
  cost::CostModel cm(measured_config(), {2, 3, 4});
  EXPECT_THROW(cm.set_measured_units({0.0, 784.0, {1, 2, 3}}), Error);
  EXPECT_THROW(cm.set_measured_units({4.0, 784.0, {1, 2}}), Error);
}

// The session charges the played arm and prices side observations with the measured prefix times.
TEST(MeasuredCost, SessionPricesPlayedArmAndSideObservations) {
  auto policy = policy::make_policy({"fixed", "fixed", {{"arm", 3}}}, 3, 1);
  sim::OnlineSession s(std::move(policy), measured_model());
  const auto a = s.decide();
  ASSERT_EQ(a, policy::Action::split(2));
  const float scores[3] = {0.9f, 0.3f, 0.7f};  // exit 1 would exit (α 0.5), exit 2 would not
  const double edge_at[3] = {1.0, 2.0, 4.0};
  sim::Outcome o;
  o.action = a;
  o.num_seen = 3;
  o.scores = scores;
  o.exit_used = 2;
  o.final_known = true;
  o.final_score = 0.7f;
  o.edge_ms_at = edge_at;
  o.latency_ms = 4.5;
  const auto r = s.observe(o);
  EXPECT_NEAR(r.cost, 0.8, 1e-12);
  EXPECT_NEAR(r.reward, 0.7 - 0.8, 1e-6);
  EXPECT_NEAR(s.totals().cost, 0.8, 1e-12);
}
