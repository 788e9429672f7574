#pragma once
/// \file Label-free reward and per-sample cost of a split arm (docs/method.md, "Reward and cost")
/// and the side-information modes for shallower arms. The exit decision itself belongs to the
/// ExitRule (exit_rule.hpp); this model only prices what happened.

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"
#include "isplitee/cost/exit_rule.hpp"

namespace isplitee::cost {

/// What l_k counts: backbone blocks (the paper) or cumulative edge MACs in millions.
enum class DepthUnits { kBlocks, kMacs };
/// How a shallower arm's offload reward is scored when C_K was never seen (docs/method.md §4,
/// side_info).
enum class SideInfo { kOracle, kStrict, kProxy };
/// What a sample is charged: the paper's constants, or what it measurably used (live runs).
enum class CostMode { kPaper, kMeasured };

/// The "cost" section of a config.
struct CostConfig {
  double alpha = 0.5;    ///< exit threshold α on the exit score (see exit_rule)
  double lambda = 0.1;   ///< cost per depth unit λ
  double mu = 1.0;       ///< cost → confidence trade-off μ
  double offload = 0.5;  ///< offload cost o
  DepthUnits depth_units = DepthUnits::kBlocks;
  SideInfo side_info = SideInfo::kOracle;
  ExitRuleConfig exit_rule;  ///< how an exit's output becomes a score
  CostMode mode = CostMode::kPaper;
  // Measured mode (docs/method.md "Measured cost"): the whole network on the edge costs
  // lambda_time; an offload adds lambda_bytes per raw-input-size sent and lambda_latency per SLO
  // of latency beyond slo_ms.
  double lambda_time = 1.0;
  double lambda_bytes = 0.5;
  double lambda_latency = 0.1;
  double slo_ms = 50.0;
};

/// The units of measured cost, known once the live edge has started.
struct MeasuredUnits {
  double full_ms = 0;                ///< median edge time of the whole network at batch 1
  double input_bytes = 0;            ///< raw input bytes of one sample (8-bit pixels)
  std::vector<double> split_bytes;   ///< encoded activation bytes per split (K values)
};

/// What the edge measured for one sample (measured mode).
struct Measurement {
  const double* edge_ms_at = nullptr;  ///< cumulative edge ms through exit j (j < num_seen)
  double bytes_sent = 0;               ///< bytes sent for this sample
  double latency_ms = 0;               ///< end-to-end latency of the sample
};

/// Parses the "cost" section (keys alpha, lambda, mu, offload, depth_units, side_info, exit_rule)
/// and calls finish().
CostConfig parse_cost_config(const config::Node& node);
/// Every field with defaults filled; re-parses to the same values.
nlohmann::json to_json(const CostConfig& c);
/// "blocks" / "macs".
std::string to_string(DepthUnits u);
/// "oracle" / "strict" / "proxy".
std::string to_string(SideInfo s);
/// "paper" / "measured".
std::string to_string(CostMode m);
/// The exit rule of a cost section (its criterion and threshold α).
inline ExitRule exit_rule_of(const CostConfig& c) { return ExitRule(c.exit_rule, c.alpha); }

/// The depths l_1..l_K in the chosen units from per-exit backbone blocks and cumulative edge MACs
/// (millions; may be empty when unknown). Throws Error(kData) naming `source` when the chosen
/// depths are missing, not positive or decreasing.
std::vector<double> exit_depths(const std::vector<double>& blocks,
                                const std::vector<double>& macs_millions, DepthUnits units,
                                const std::string& source);

/// Reward and cost of every arm given what happened to a sample (arms are 0-based; arm K-1 is the
/// whole network on the edge). All functions are branch-light and allocation-free: they run in the
/// replay loop.
class CostModel {
 public:
  /// A model over exits at `depths` (K ≥ 1 values, in the units of `config.depth_units`).
  CostModel(const CostConfig& config, std::vector<double> depths);

  /// Number of arms K.
  std::size_t num_arms() const noexcept { return gamma_.size(); }
  /// The configuration.
  const CostConfig& config() const noexcept { return config_; }
  /// The depths l_k.
  const std::vector<double>& depths() const noexcept { return depths_; }
  /// γ_i = λ·l_i.
  double edge_cost(std::size_t arm) const noexcept { return gamma_[arm]; }
  /// Reward of arm `arm` (< K−1) when the sample exited there with score s_arm: s − μ·γ_i.
  double exit_reward(std::size_t arm, double s_arm) const noexcept {
    return s_arm - config_.mu * gamma_[arm];
  }
  /// Reward of arm `arm` (< K−1) when the sample was offloaded and the final score is s_final:
  /// s_K − μ·(γ_i + o).
  double offload_reward(std::size_t arm, double s_final) const noexcept {
    return s_final - config_.mu * (gamma_[arm] + config_.offload);
  }
  /// Reward of the last arm (whole network on the edge): s_K − μ·γ_K.
  double final_reward(double s_final) const noexcept {
    return s_final - config_.mu * gamma_.back();
  }
  /// r(i) given whether the sample exited at arm i (the exit rule decides), s_i and s_K.
  double reward(std::size_t arm, bool exited, double s_arm, double s_final) const noexcept {
    if (arm + 1 == gamma_.size()) return final_reward(s_final);
    return exited ? exit_reward(arm, s_arm) : offload_reward(arm, s_final);
  }
  /// cost(i) = γ_i + o·[offloaded] (cloud compute is not charged: the paper's convention).
  double cost(std::size_t arm, bool offloaded) const noexcept {
    return offloaded ? gamma_[arm] + config_.offload : gamma_[arm];
  }
  /// Reward of every arm for one sample's full score row `scores` (K values) under `rule`: `out`
  /// gets K values.
  void oracle_rewards(const float* scores, const ExitRule& rule, double* out) const noexcept;
  /// `cloud-only`: the raw input is sent; reward s_K − μ·o.
  double cloud_reward(double s_final) const noexcept {
    return s_final - config_.mu * config_.offload;
  }
  /// `cloud-only` cost o.
  double cloud_cost() const noexcept { return config_.offload; }

  /// Whether costs are measured (cost.mode = measured).
  bool measured() const noexcept { return config_.mode == CostMode::kMeasured; }
  /// Sets the units of measured cost; Error(kData) when one is not positive.
  void set_measured_units(MeasuredUnits u);
  /// The units of measured cost.
  const MeasuredUnits& measured_units() const noexcept { return units_; }
  /// Measured cost of arm `arm` for one sample: λ_t·edge_ms(arm)/full_ms, plus when offloaded
  /// λ_b·bytes/input_bytes and, for the played arm (`played`), λ_l·max(0, latency − SLO)/SLO.
  /// A shallower arm's bytes are the split's activation bytes (it was not sent).
  double measured_cost(std::size_t arm, bool offloaded, const Measurement& m,
                       bool played) const noexcept;
  /// Measured cost of a cloud-only sample: its bytes and latency terms (no edge compute).
  double measured_cloud_cost(const Measurement& m) const noexcept;

 private:
  CostConfig config_;
  std::vector<double> depths_, gamma_;
  MeasuredUnits units_;
};

}  // namespace isplitee::cost
