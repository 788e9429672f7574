#include "isplitee/sim/environment.hpp"

#include <algorithm>
#include <cmath>

#include "isplitee/common/error.hpp"

namespace isplitee::sim {

TraceEnvironment::TraceEnvironment(std::vector<std::shared_ptr<const trace::Trace>> traces,
                                   const cost::ExitRule& rule,
                                   const std::vector<std::string>& names)
    : rule_(rule.config()) {
  ISPLITEE_CHECK(!traces.empty(), "trace environment: no trace given");
  k_ = traces.front()->num_exits;
  // Exit 1's context for contextual policies, when every trace has the columns.
  const bool ctx = std::all_of(traces.begin(), traces.end(), [&](const auto& t) {
    return t->entropy.size() == t->num_samples * k_ && t->margin.size() == t->num_samples * k_ &&
           t->manifest.num_classes >= 2;
  });
  const bool cal = rule.config().calibrate;
  // Concatenated copies keep the replay loop on one contiguous array (cache friendly, no
  // indirection).
  for (std::size_t i = 0; i < traces.size(); ++i) {
    const auto& t = *traces[i];
    const std::string name = i < names.size() ? names[i] : "trace " + std::to_string(i + 1);
    ISPLITEE_CHECK_CODE(t.num_exits == k_, ErrorCode::kData,
                        "traces of one stream must share K: got ", t.num_exits, " and ", k_,
                        " exits");
    offsets_.push_back(label_.size());
    const auto scores = rule.trace_scores(t, name);
    score_.insert(score_.end(), scores.begin(), scores.end());
    pred_.insert(pred_.end(), t.pred.begin(), t.pred.end());
    label_.insert(label_.end(), t.label.begin(), t.label.end());
    if (!ctx) continue;
    const auto& h = cal && !t.entropy_cal.empty() ? t.entropy_cal : t.entropy;
    const auto& m = cal && !t.margin_cal.empty() ? t.margin_cal : t.margin;
    const double norm = std::log(static_cast<double>(t.manifest.num_classes));
    for (std::size_t r = 0; r < t.num_samples; ++r) {
      ctx_entropy_.push_back(static_cast<float>(h[r * k_] / norm));
      ctx_margin_.push_back(m[r * k_]);
    }
  }
}

TraceEnvironment TraceEnvironment::gather(const std::vector<std::uint32_t>& samples) const {
  TraceEnvironment g;
  g.k_ = k_;
  g.rule_ = rule_;
  g.offsets_ = {0};
  g.score_.resize(samples.size() * k_);
  g.pred_.resize(samples.size() * k_);
  g.label_.resize(samples.size());
  const bool ctx = !ctx_entropy_.empty();
  if (ctx) g.ctx_entropy_.resize(samples.size()), g.ctx_margin_.resize(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::size_t s = samples[i];
    ISPLITEE_ASSERT(s < label_.size(), "gather: sample out of range");
    std::copy_n(&score_[s * k_], k_, &g.score_[i * k_]);
    std::copy_n(&pred_[s * k_], k_, &g.pred_[i * k_]);
    g.label_[i] = label_[s];
    if (ctx) g.ctx_entropy_[i] = ctx_entropy_[s], g.ctx_margin_[i] = ctx_margin_[s];
  }
  return g;
}

bool TraceEnvironment::exit_context(std::size_t sample, policy::ExitContext* out) {
  if (ctx_entropy_.empty()) return false;
  out->score = score_[sample * k_];
  out->entropy_norm = ctx_entropy_[sample];
  out->margin = ctx_margin_[sample];
  return true;
}

Outcome TraceEnvironment::act(std::size_t sample, const Action& action,
                              const cost::ExitRule& rule) {
  ISPLITEE_ASSERT(rule.config() == rule_,
                  "trace environment: scores were computed for another exit rule");
  const float* row = &score_[sample * k_];
  const std::int32_t* pr = &pred_[sample * k_];
  Outcome o;
  o.action = action;
  o.scores = row;
  const std::size_t last = k_ - 1;
  switch (action.kind()) {
    case Action::Kind::kCloud:  // raw input to the cloud: nothing computed on the edge
      o.offloaded = true;
      o.exit_used = last;
      o.final_known = true;
      break;
    case Action::Kind::kCascade: {  // early exit without offloading
      std::size_t e = 0;
      while (e < last && !rule.exits(e, k_, row[e])) ++e;
      o.exit_used = e;
      o.exited = e < last;
      o.num_seen = e + 1;
      o.final_known = e == last;
      break;
    }
    case Action::Kind::kSplit: {
      const std::size_t arm = action.arm();
      o.num_seen = arm + 1;
      if (rule.exits(arm, k_, row[arm])) {
        o.exited = true;
        o.exit_used = arm;
      } else {
        o.offloaded = arm < last;
        o.exit_used = last;
        o.final_known = true;
      }
      break;
    }
  }
  o.prediction = pr[o.exit_used];
  if (o.final_known) o.final_score = row[last];
  return o;
}

// ---- TraceProvider ----------------------------------------------------------------------------

TraceProvider::TraceProvider(std::vector<std::shared_ptr<const trace::Trace>> traces,
                             std::vector<std::string> names, const cost::ExitRule& rule)
    : traces_(std::move(traces)), names_(std::move(names)), env_(traces_, rule, names_) {
  ISPLITEE_CHECK(traces_.size() == names_.size(), "trace provider: ", traces_.size(),
                 " traces but ", names_.size(), " names");
  for (const auto& t : traces_) sizes_.push_back(t->num_samples);
}

std::vector<double> TraceProvider::depth_blocks() const {
  std::vector<double> d;
  for (const auto& e : traces_.front()->manifest.exits) d.push_back(e.depth_blocks);
  return d;
}

std::vector<double> TraceProvider::depth_macs() const {
  std::vector<double> d;
  for (const auto& e : traces_.front()->manifest.exits) d.push_back(e.macs_millions);
  return d;
}

std::vector<double> TraceProvider::activation_bytes() const {
  std::vector<double> b;
  for (const auto& e : traces_.front()->manifest.exits)
    b.push_back(static_cast<double>(e.activation_bytes));
  if (std::any_of(b.begin(), b.end(), [](double v) { return v <= 0; })) b.clear();
  return b;
}

std::vector<std::vector<double>> TraceProvider::exit_accuracy() const {
  std::vector<std::vector<double>> a;
  for (const auto& t : traces_) a.push_back(trace::exit_accuracy(*t));
  return a;
}

std::unique_ptr<Environment> TraceProvider::open(const std::vector<std::uint32_t>& samples,
                                                 const cost::ExitRule& rule) const {
  (void)rule;  // the gathered copy keeps the rule its scores were made with; act() checks it
  return std::make_unique<TraceEnvironment>(env_.gather(samples));
}

}  // namespace isplitee::sim
