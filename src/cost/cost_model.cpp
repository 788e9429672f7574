#include "isplitee/cost/cost_model.hpp"

#include <algorithm>
#include <cmath>

#include "isplitee/common/error.hpp"

namespace isplitee::cost {

CostConfig parse_cost_config(const config::Node& node) {
  CostConfig c;
  c.alpha = node.number("alpha", c.alpha, 0.0, 1.0);
  c.lambda = node.number("lambda", c.lambda, 0.0, 1e6);
  c.mu = node.number("mu", c.mu, 0.0, 1e6);
  c.offload = node.number("offload", c.offload, 0.0, 1e6);
  const auto units = node.choice("depth_units", "blocks", {"blocks", "macs"});
  c.depth_units = units == "macs" ? DepthUnits::kMacs : DepthUnits::kBlocks;
  const auto side = node.choice("side_info", "oracle", {"oracle", "strict", "proxy"});
  c.side_info = side == "strict"  ? SideInfo::kStrict
                : side == "proxy" ? SideInfo::kProxy
                                  : SideInfo::kOracle;
  c.exit_rule = parse_exit_rule_config(node.object("exit_rule"));
  c.mode = node.choice("mode", "paper", {"paper", "measured"}) == "measured" ? CostMode::kMeasured
                                                                            : CostMode::kPaper;
  c.lambda_time = node.number("lambda_time", c.lambda_time, 0.0, 1e6);
  c.lambda_bytes = node.number("lambda_bytes", c.lambda_bytes, 0.0, 1e6);
  c.lambda_latency = node.number("lambda_latency", c.lambda_latency, 0.0, 1e6);
  c.slo_ms = node.number("slo_ms", c.slo_ms, 1e-3, 1e7);
  node.finish();
  return c;
}

nlohmann::json to_json(const CostConfig& c) {
  return {{"alpha", c.alpha},
          {"lambda", c.lambda},
          {"mu", c.mu},
          {"offload", c.offload},
          {"depth_units", to_string(c.depth_units)},
          {"side_info", to_string(c.side_info)},
          {"exit_rule", to_json(c.exit_rule)},
          {"mode", to_string(c.mode)},
          {"lambda_time", c.lambda_time},
          {"lambda_bytes", c.lambda_bytes},
          {"lambda_latency", c.lambda_latency},
          {"slo_ms", c.slo_ms}};
}

std::string to_string(CostMode m) { return m == CostMode::kMeasured ? "measured" : "paper"; }

std::string to_string(DepthUnits u) { return u == DepthUnits::kMacs ? "macs" : "blocks"; }

std::string to_string(SideInfo s) {
  switch (s) {
    case SideInfo::kStrict:
      return "strict";
    case SideInfo::kProxy:
      return "proxy";
    default:
      return "oracle";
  }
}

std::vector<double> exit_depths(const std::vector<double>& blocks,
                                const std::vector<double>& macs_millions, DepthUnits units,
                                const std::string& source) {
  const bool macs = units == DepthUnits::kMacs;
  const auto& src = macs ? macs_millions : blocks;
  const char* what = macs ? "macs_millions" : "depth_blocks";
  ISPLITEE_CHECK_CODE(!blocks.empty(), ErrorCode::kData, source, ": no exits are listed");
  ISPLITEE_CHECK_CODE(src.size() == blocks.size(), ErrorCode::kData, source, ": ", what,
                      " is not known for every exit (MACs unknown: use cost.depth_units=blocks)");
  std::vector<double> d;
  d.reserve(src.size());
  for (std::size_t k = 0; k < src.size(); ++k) {
    const double v = src[k];
    ISPLITEE_CHECK_CODE(std::isfinite(v) && v > 0, ErrorCode::kData, source, ": exits[", k, "].",
                        what, " = ", v, " must be > 0",
                        macs ? " (MACs unknown: use cost.depth_units=blocks)" : "");
    ISPLITEE_CHECK_CODE(k == 0 || v >= d.back(), ErrorCode::kData, source, ": exits[", k, "].",
                        what, " = ", v, " is smaller than the previous exit's ", d.back(),
                        " (depths must not decrease)");
    d.push_back(v);
  }
  return d;
}

CostModel::CostModel(const CostConfig& config, std::vector<double> depths)
    : config_(config), depths_(std::move(depths)) {
  ISPLITEE_CHECK(!depths_.empty(), "cost model: at least one exit is needed");
  gamma_.reserve(depths_.size());
  for (double l : depths_) gamma_.push_back(config_.lambda * l);
}

void CostModel::set_measured_units(MeasuredUnits u) {
  ISPLITEE_CHECK_CODE(u.full_ms > 0 && u.input_bytes > 0 && u.split_bytes.size() == gamma_.size(),
                      ErrorCode::kData, "measured cost: the edge time of the whole network (",
                      u.full_ms, " ms), the input bytes (", u.input_bytes,
                      ") and one activation size per exit (", u.split_bytes.size(), " of ",
                      gamma_.size(), ") must be known and positive");
  units_ = std::move(u);
}

double CostModel::measured_cost(std::size_t arm, bool offloaded, const Measurement& m,
                                bool played) const noexcept {
  const auto& c = config_;
  double cost = c.lambda_time * m.edge_ms_at[arm] / units_.full_ms;
  if (!offloaded) return cost;
  const double bytes = played ? m.bytes_sent : units_.split_bytes[arm];
  cost += c.lambda_bytes * bytes / units_.input_bytes;
  if (played) cost += c.lambda_latency * std::max(0.0, m.latency_ms - c.slo_ms) / c.slo_ms;
  return cost;
}

double CostModel::measured_cloud_cost(const Measurement& m) const noexcept {
  const auto& c = config_;
  return c.lambda_bytes * m.bytes_sent / units_.input_bytes +
         c.lambda_latency * std::max(0.0, m.latency_ms - c.slo_ms) / c.slo_ms;
}

void CostModel::oracle_rewards(const float* scores, const ExitRule& rule,
                               double* out) const noexcept {
  const std::size_t k = gamma_.size();
  const double s_final = scores[k - 1];
  for (std::size_t i = 0; i < k; ++i)
    out[i] = reward(i, rule.exits(i, k, scores[i]), scores[i], s_final);
}

}  // namespace isplitee::cost
