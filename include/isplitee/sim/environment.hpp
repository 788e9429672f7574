#pragma once
/// \file Where observations come from (DESIGN.md §3): a stored trace (TraceEnvironment) or, later,
/// a live network in isplitee::vision. Policies never hold an Environment: the simulator hands them
/// rewards only.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "isplitee/policy/policy.hpp"
#include "isplitee/trace/trace.hpp"

namespace isplitee::sim {

using policy::Arm;

/// What acting with `arm` on one sample revealed (METHOD.md §1).
struct Observation {
  Arm arm = 0;                  ///< the action played (an arm or kCloudArm / kCascadeArm)
  bool exited = false;          ///< predicted on the edge at a non-final exit
  bool offloaded = false;       ///< the cloud finished the inference (split offload or cloud-only)
  std::size_t exit_used = 0;    ///< 0-based exit whose prediction was used
  std::int32_t prediction = 0;  ///< predicted class
  std::size_t num_seen = 0;     ///< edge confidences observed: exits 0..num_seen-1
  const float* seen = nullptr;  ///< those confidences (valid until the next observe)
  bool final_known = false;     ///< whether C_K was computed (offload, arm K, cloud-only)
  float final_conf = 0.0f;      ///< C_K when final_known
};

/// A source of observations. `observe` performs the action on sample `sample`.
class Environment {
 public:
  virtual ~Environment() = default;
  /// Number of exits K.
  virtual std::size_t num_exits() const = 0;
  /// Number of addressable samples.
  virtual std::size_t num_samples() const = 0;
  /// Acts with `arm` on `sample` (the environment applies the exit threshold α it was built with).
  virtual Observation observe(std::size_t sample, Arm arm) = 0;
  /// Ground truth, used by the simulator only to score accuracy (never passed to a policy).
  virtual std::int32_t label(std::size_t sample) const = 0;
  /// The full confidence row (K values) when known without acting (trace replay), else nullptr.
  /// Needed for regret, oracle policies and side_info=oracle.
  virtual const float* oracle_confidences(std::size_t sample) const { return nullptr; }
};

/// Replays one or more traces (same K); global sample index = trace offset + row. observe() has no
/// side effects, so one TraceEnvironment serves every replay thread of an experiment.
class TraceEnvironment final : public Environment {
 public:
  /// `traces` must share K; `alpha` is the exit threshold.
  TraceEnvironment(std::vector<std::shared_ptr<const trace::Trace>> traces, double alpha);
  std::size_t num_exits() const override { return k_; }
  std::size_t num_samples() const override { return label_.size(); }
  Observation observe(std::size_t sample, Arm arm) override;
  std::int32_t label(std::size_t sample) const override { return label_[sample]; }
  const float* oracle_confidences(std::size_t sample) const override { return &conf_[sample * k_]; }
  /// First global index of each trace.
  const std::vector<std::size_t>& offsets() const noexcept { return offsets_; }
  /// A copy holding only `samples`, in that order (sample i of the copy is samples[i] here):
  /// replaying a permuted stream over the copy reads memory sequentially.
  TraceEnvironment gather(const std::vector<std::uint32_t>& samples) const;

 private:
  TraceEnvironment() = default;
  std::size_t k_ = 0;
  double alpha_ = 0.5;
  std::vector<float> conf_;
  std::vector<std::int32_t> pred_, label_;
  std::vector<std::size_t> offsets_;
};

}  // namespace isplitee::sim
