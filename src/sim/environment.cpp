#include "isplitee/sim/environment.hpp"

#include <algorithm>

#include "isplitee/common/error.hpp"

namespace isplitee::sim {

TraceEnvironment::TraceEnvironment(std::vector<std::shared_ptr<const trace::Trace>> traces,
                                   double alpha)
    : alpha_(alpha) {
  ISPLITEE_CHECK(!traces.empty(), "trace environment: no trace given");
  k_ = traces.front()->num_exits;
  // Concatenated copies keep the replay loop on one contiguous array (cache friendly, no
  // indirection).
  for (const auto& t : traces) {
    ISPLITEE_CHECK_CODE(t->num_exits == k_, ErrorCode::kData,
                        "traces of one stream must share K: got ", t->num_exits, " and ", k_,
                        " exits");
    offsets_.push_back(label_.size());
    conf_.insert(conf_.end(), t->conf.begin(), t->conf.end());
    pred_.insert(pred_.end(), t->pred.begin(), t->pred.end());
    label_.insert(label_.end(), t->label.begin(), t->label.end());
  }
}

TraceEnvironment TraceEnvironment::gather(const std::vector<std::uint32_t>& samples) const {
  TraceEnvironment g;
  g.k_ = k_;
  g.alpha_ = alpha_;
  g.offsets_ = {0};
  g.conf_.resize(samples.size() * k_);
  g.pred_.resize(samples.size() * k_);
  g.label_.resize(samples.size());
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const std::size_t s = samples[i];
    ISPLITEE_ASSERT(s < label_.size(), "gather: sample out of range");
    std::copy_n(&conf_[s * k_], k_, &g.conf_[i * k_]);
    std::copy_n(&pred_[s * k_], k_, &g.pred_[i * k_]);
    g.label_[i] = label_[s];
  }
  return g;
}

Observation TraceEnvironment::observe(std::size_t sample, Arm arm) {
  const float* row = &conf_[sample * k_];
  const std::int32_t* pr = &pred_[sample * k_];
  Observation o;
  o.arm = arm;
  o.seen = row;
  const std::size_t last = k_ - 1;
  if (arm == policy::kCloudArm) {  // raw input to the cloud: nothing computed on the edge
    o.offloaded = true;
    o.exit_used = last;
    o.final_known = true;
  } else if (arm == policy::kCascadeArm) {  // early exit without offloading
    std::size_t e = 0;
    while (e < last && !(row[e] >= alpha_)) ++e;
    o.exit_used = e;
    o.exited = e < last;
    o.num_seen = e + 1;
    o.final_known = e == last;
  } else {
    o.num_seen = arm + 1;
    if (arm < last && row[arm] >= alpha_) {
      o.exited = true;
      o.exit_used = arm;
    } else {
      o.offloaded = arm < last;
      o.exit_used = last;
      o.final_known = true;
    }
  }
  o.prediction = pr[o.exit_used];
  if (o.final_known) o.final_conf = row[last];
  return o;
}

}  // namespace isplitee::sim
