#pragma once
/// \file The exit rule: the only place that turns an exit's softmax output into a score s_k in
/// [0, 1] and decides whether a sample exits at the played split (docs/method.md, "Exit rules").
///
///   max_prob (default)  s_k = max_c p_c
///   entropy             s_k = 1 − H(p) / ln(C)        (H in nats, C classes)
///   margin              s_k = p_(1) − p_(2)           (top-1 minus top-2)
///
/// p is the softmax of exit k's logits divided by a temperature T_k (1 unless `calibrate`, when
/// T_k was fitted on the validation split and stored with the trace). A sample exits at split
/// arm i < K when s_i ≥ α; the last arm never tests the threshold. Rewards use s in place of the
/// max-prob confidence, so the paper's reward is the max_prob case.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"

namespace isplitee::trace {
struct Trace;
}

namespace isplitee::cost {

/// Which statistic of the softmax output is the exit score.
enum class ExitCriterion { kMaxProb, kEntropy, kMargin };

/// The "cost.exit_rule" section: {"kind": "max_prob"|"entropy"|"margin", "calibrate": false}.
struct ExitRuleConfig {
  ExitCriterion kind = ExitCriterion::kMaxProb;
  bool calibrate = false;  ///< use per-exit temperatures fitted on the validation split
  bool operator==(const ExitRuleConfig& o) const noexcept {
    return kind == o.kind && calibrate == o.calibrate;
  }
  bool operator!=(const ExitRuleConfig& o) const noexcept { return !(*this == o); }
};

/// Parses "exit_rule" (keys kind, calibrate) and calls finish().
ExitRuleConfig parse_exit_rule_config(const config::Node& node);
/// Every field with defaults filled; re-parses to the same values.
nlohmann::json to_json(const ExitRuleConfig& c);
/// "max_prob" / "entropy" / "margin".
std::string to_string(ExitCriterion c);

/// One registry entry of an exit criterion (for `isplitee list exit-rules`).
struct ExitCriterionInfo {
  ExitCriterion kind;
  std::string name;
  std::string formula;      ///< the score, in words and symbols
  std::string trace_needs;  ///< trace columns the rule reads
};
/// Every exit criterion, in a fixed order.
const std::vector<ExitCriterionInfo>& exit_criteria();

/// What an exit's softmax output says about one sample (after any temperature).
struct ExitStats {
  float max_prob = 0;  ///< top-1 probability
  float entropy = 0;   ///< softmax entropy in nats
  float margin = 0;    ///< top-1 minus top-2 probability
  std::int32_t pred = 0;
};

/// Softmax statistics of `num_classes` logits divided by `temperature` (> 0). Computed in double
/// with the max subtracted, so extreme logits neither overflow nor lose the top-2 gap.
ExitStats softmax_stats(const float* logits, std::size_t num_classes, double temperature = 1.0);

/// Scores and the exit decision, with the threshold α of the cost section.
class ExitRule {
 public:
  /// A rule of `config` with threshold `alpha` ∈ [0, 1].
  ExitRule(ExitRuleConfig config, double alpha);
  /// The paper's rule: max_prob, no calibration.
  explicit ExitRule(double alpha) : ExitRule(ExitRuleConfig{}, alpha) {}

  /// The configuration.
  const ExitRuleConfig& config() const noexcept { return config_; }
  /// The threshold α.
  double alpha() const noexcept { return alpha_; }
  /// The score of one exit's statistics; `num_classes` normalises the entropy.
  double score(const ExitStats& s, std::size_t num_classes) const noexcept;
  /// Whether a sample with score `s` at arm `arm` of `num_arms` exits on the edge (never at the
  /// last arm, where the whole network already ran).
  bool exits(std::size_t arm, std::size_t num_arms, double s) const noexcept {
    return arm + 1 < num_arms && s >= alpha_;
  }

  /// The N×K score matrix of a trace (row-major, float like the trace's columns). Reads the
  /// calibrated columns when `calibrate`; throws Error(kData) naming `source` when the trace lacks
  /// the columns the rule needs (a CSV trace without entropy/margin, a trace recorded without
  /// calibration).
  std::vector<float> trace_scores(const trace::Trace& t, const std::string& source) const;
  /// Only the column check of trace_scores(): throws the same Error(kData) naming `source`.
  void check_trace(const trace::Trace& t, const std::string& source) const;

  /// One line for reports: "max_prob (alpha 0.5)", "entropy, calibrated (alpha 0.6)".
  std::string describe() const;

 private:
  ExitRuleConfig config_;
  double alpha_;
};

}  // namespace isplitee::cost
