#pragma once
/// \file Label-free reward and per-sample cost of a split arm (METHOD.md §2) and the
/// side-information modes for shallower arms (METHOD.md §3).

#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"
#include "isplitee/trace/trace.hpp"

namespace isplitee::cost {

/// What l_k counts: backbone blocks (the paper) or cumulative edge MACs in millions.
enum class DepthUnits { kBlocks, kMacs };
/// How a shallower arm's offload reward is scored when C_K was never seen (METHOD.md §3 Decision).
enum class SideInfo { kOracle, kStrict, kProxy };

/// The "cost" section of a config.
struct CostConfig {
  double alpha = 0.5;    ///< exit threshold α on max-prob confidence
  double lambda = 0.1;   ///< cost per depth unit λ
  double mu = 1.0;       ///< cost → confidence trade-off μ
  double offload = 0.5;  ///< offload cost o
  DepthUnits depth_units = DepthUnits::kBlocks;
  SideInfo side_info = SideInfo::kOracle;
};

/// Parses the "cost" section (keys alpha, lambda, mu, offload, depth_units, side_info) and calls
/// finish().
CostConfig parse_cost_config(const config::Node& node);
/// Every field with defaults filled; re-parses to the same values.
nlohmann::json to_json(const CostConfig& c);
/// "blocks" / "macs".
std::string to_string(DepthUnits u);
/// "oracle" / "strict" / "proxy".
std::string to_string(SideInfo s);

/// The depths l_1..l_K of a trace's exits in the chosen units; throws Error(kData) when the
/// manifest lacks them (e.g. MACs unknown) or they are not positive and non-decreasing.
std::vector<double> exit_depths(const trace::Manifest& m, DepthUnits units,
                                const std::string& source);

/// Reward and cost of every arm given a sample's confidences (arms are 0-based; arm K-1 is the
/// final exit). All functions are branch-light and allocation-free: they run in the replay loop.
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
  /// Whether a sample with confidence `c` at arm `arm` exits on the edge (never for the last arm).
  bool exits(std::size_t arm, double c) const noexcept {
    return arm + 1 < gamma_.size() && c >= config_.alpha;
  }
  /// r(i) given C_i and C_K (METHOD.md §2).
  double reward(std::size_t arm, double c_arm, double c_final) const noexcept {
    if (arm + 1 == gamma_.size()) return c_final - config_.mu * gamma_[arm];
    if (c_arm >= config_.alpha) return c_arm - config_.mu * gamma_[arm];
    return c_final - config_.mu * (gamma_[arm] + config_.offload);
  }
  /// cost(i) = γ_i + o·[offloaded] (cloud compute not charged: the paper's convention).
  double cost(std::size_t arm, double c_arm) const noexcept {
    return exits(arm, c_arm) || arm + 1 == gamma_.size() ? gamma_[arm]
                                                         : gamma_[arm] + config_.offload;
  }
  /// Reward of every arm for one sample's full confidence row `conf` (K values): `out` gets K
  /// values.
  void oracle_rewards(const float* conf, double* out) const noexcept;
  /// `cloud-only`: the raw input is sent; reward C_K − μ·o, cost o.
  double cloud_reward(double c_final) const noexcept {
    return c_final - config_.mu * config_.offload;
  }
  /// `cloud-only` cost o.
  double cloud_cost() const noexcept { return config_.offload; }

 private:
  CostConfig config_;
  std::vector<double> depths_, gamma_;
};

}  // namespace isplitee::cost
