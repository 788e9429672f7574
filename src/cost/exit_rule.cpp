#include "isplitee/cost/exit_rule.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "isplitee/common/error.hpp"
#include "isplitee/trace/trace.hpp"

namespace isplitee::cost {

const std::vector<ExitCriterionInfo>& exit_criteria() {
  static const std::vector<ExitCriterionInfo> kInfo = {
      {ExitCriterion::kMaxProb, "max_prob", "s = max_c p_c (top-1 softmax probability)",
       "conf (every trace format)"},
      {ExitCriterion::kEntropy, "entropy", "s = 1 - H(p)/ln(C), H the softmax entropy in nats",
       "entropy and the class count (trace directories; not plain CSV)"},
      {ExitCriterion::kMargin, "margin", "s = p_(1) - p_(2) (top-1 minus top-2 probability)",
       "margin (trace directories; not plain CSV)"},
  };
  return kInfo;
}

std::string to_string(ExitCriterion c) {
  for (const auto& i : exit_criteria())
    if (i.kind == c) return i.name;
  return "max_prob";
}

ExitRuleConfig parse_exit_rule_config(const config::Node& node) {
  std::vector<std::string> names;
  for (const auto& i : exit_criteria()) names.push_back(i.name);
  ExitRuleConfig c;
  const auto kind = node.choice("kind", "max_prob", names);
  for (const auto& i : exit_criteria())
    if (i.name == kind) c.kind = i.kind;
  c.calibrate = node.boolean("calibrate", false);
  node.finish();
  return c;
}

nlohmann::json to_json(const ExitRuleConfig& c) {
  return {{"kind", to_string(c.kind)}, {"calibrate", c.calibrate}};
}

ExitStats softmax_stats(const float* logits, std::size_t num_classes, double temperature) {
  ISPLITEE_CHECK(num_classes >= 1, "softmax_stats: no classes");
  ISPLITEE_CHECK(temperature > 0 && std::isfinite(temperature),
                 "softmax_stats: temperature must be a positive number, got ", temperature);
  std::size_t top = 0;
  for (std::size_t c = 1; c < num_classes; ++c)
    if (logits[c] > logits[top]) top = c;
  const double inv_t = 1.0 / temperature, mx = logits[top];
  double z = 0, first = 0, second = 0, weighted = 0;
  for (std::size_t c = 0; c < num_classes; ++c) {
    const double a = (logits[c] - mx) * inv_t;  // ≤ 0
    const double e = std::exp(a);
    z += e;
    weighted += e * a;
    if (c == top) {
      first = e;
    } else if (e > second) {
      second = e;
    }
  }
  // H = −Σ p log p = log z − Σ e·a / z with p = e/z.
  ExitStats s;
  s.max_prob = static_cast<float>(first / z);
  s.margin = static_cast<float>((first - second) / z);
  s.entropy = static_cast<float>(std::max(0.0, std::log(z) - weighted / z));
  s.pred = static_cast<std::int32_t>(top);
  return s;
}

ExitRule::ExitRule(ExitRuleConfig config, double alpha) : config_(config), alpha_(alpha) {
  ISPLITEE_CHECK(alpha >= 0 && alpha <= 1, "exit rule: alpha ", alpha, " is out of range [0, 1]");
}

double ExitRule::score(const ExitStats& s, std::size_t num_classes) const noexcept {
  switch (config_.kind) {
    case ExitCriterion::kEntropy: {
      const double norm = num_classes > 1 ? std::log(static_cast<double>(num_classes)) : 1.0;
      return std::clamp(1.0 - static_cast<double>(s.entropy) / norm, 0.0, 1.0);
    }
    case ExitCriterion::kMargin:
      return static_cast<double>(s.margin);
    default:
      return static_cast<double>(s.max_prob);
  }
}

void ExitRule::check_trace(const trace::Trace& t, const std::string& source) const {
  const std::size_t n = t.num_samples * t.num_exits;
  const bool cal = config_.calibrate;
  const char* what = config_.kind == ExitCriterion::kEntropy  ? "entropy"
                     : config_.kind == ExitCriterion::kMargin ? "margin"
                                                              : "conf";
  const auto& col = config_.kind == ExitCriterion::kEntropy ? (cal ? t.entropy_cal : t.entropy)
                    : config_.kind == ExitCriterion::kMargin ? (cal ? t.margin_cal : t.margin)
                                                             : (cal ? t.conf_cal : t.conf);
  if (col.size() != n)
    fail(ErrorCode::kData, source, ": the exit rule '", describe(), "' needs the ",
         cal ? "calibrated " : "", what, " column, which this trace does not have (",
         cal ? "it was recorded without calibration; re-record it with `isplitee trace`"
             : "plain CSV traces carry only conf; use cost.exit_rule.kind=max_prob or a trace "
               "directory written by `isplitee trace`",
         ")");
  ISPLITEE_CHECK_CODE(config_.kind != ExitCriterion::kEntropy || t.manifest.num_classes >= 2,
                      ErrorCode::kData, source,
                      ": the entropy exit rule needs the class count (manifest num_classes ",
                      t.manifest.num_classes, " must be >= 2)");
}

std::vector<float> ExitRule::trace_scores(const trace::Trace& t, const std::string& source) const {
  check_trace(t, source);
  const bool cal = config_.calibrate;
  switch (config_.kind) {
    case ExitCriterion::kEntropy: {
      const auto& h = cal ? t.entropy_cal : t.entropy;
      const std::size_t classes = static_cast<std::size_t>(t.manifest.num_classes);
      std::vector<float> out(h.size());
      ExitStats st;
      for (std::size_t i = 0; i < h.size(); ++i) {
        st.entropy = h[i];
        out[i] = static_cast<float>(score(st, classes));
      }
      return out;
    }
    case ExitCriterion::kMargin:
      return cal ? t.margin_cal : t.margin;
    default:
      return cal ? t.conf_cal : t.conf;
  }
}

std::string ExitRule::describe() const {
  char buf[96];
  std::snprintf(buf, sizeof buf, "%s%s (alpha %g)", to_string(config_.kind).c_str(),
                config_.calibrate ? ", calibrated" : "", alpha_);
  return buf;
}

}  // namespace isplitee::cost
