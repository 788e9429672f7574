#pragma once
/// \file Where outcomes come from: a stored trace (TraceEnvironment, here) or a live edge/cloud
/// network (isplitee::vision). An environment carries out an Action on one sample and reports what
/// the edge (and the cloud, when consulted) computed; the OnlineSession turns that into rewards.
/// Policies never hold an environment.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "isplitee/cost/cost_model.hpp"
#include "isplitee/cost/exit_rule.hpp"
#include "isplitee/policy/action.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/trace/trace.hpp"

namespace isplitee::sim {

using policy::Action;
using policy::Arm;

/// What carrying out an Action on one sample revealed.
struct Outcome {
  Action action;                  ///< what was done
  std::size_t num_seen = 0;       ///< exits 1..num_seen ran on the edge
  const float* scores = nullptr;  ///< their scores under the exit rule (valid until the next act)
  bool exited = false;            ///< answered on the edge before the last exit (the rule said so)
  bool offloaded = false;       ///< the cloud finished the inference (split offload or cloud-only)
  bool fallback = false;        ///< the cloud was asked but did not answer in time: the edge
                                ///< answered from its deepest exit, s_K stays unknown
  std::size_t exit_used = 0;    ///< 0-based exit whose prediction was used
  std::int32_t prediction = 0;  ///< predicted class
  bool final_known = false;     ///< whether s_K was computed (offload, last arm, cloud-only)
  float final_score = 0;        ///< s_K when final_known
  // Measurements of a live run (0 in a trace replay):
  double edge_ms = 0;          ///< edge compute spent on this sample (its share of a batch)
  double latency_ms = 0;       ///< from the sample's input tensor to its answer
  std::size_t bytes_sent = 0;  ///< bytes of the encoded tensor sent for this sample
  const double* edge_ms_at = nullptr;  ///< cumulative edge ms through exit j, j < num_seen
};

/// A source of outcomes. Implementations: TraceEnvironment (replay) and, in isplitee::vision, the
/// live edge/cloud environment.
class Environment {
 public:
  virtual ~Environment() = default;
  /// Number of exits K.
  virtual std::size_t num_exits() const = 0;
  /// Number of addressable samples.
  virtual std::size_t num_samples() const = 0;
  /// Carries out `action` on `sample`; `rule` decides whether a sample exits at its split (the
  /// environment applies it, the session prices the result).
  virtual Outcome act(std::size_t sample, const Action& action, const cost::ExitRule& rule) = 0;
  /// Carries out `n` decisions together (a batch): out[i] is the outcome of actions[i] on
  /// samples[i], each decided on its own. Scores stay valid until the next act or act_batch. By
  /// default one act() per sample; a live network runs the batch at once, dropping the samples
  /// that exit before the next stage.
  virtual void act_batch(const std::size_t* samples, const Action* actions, std::size_t n,
                         const cost::ExitRule& rule, Outcome* out) {
    for (std::size_t i = 0; i < n; ++i) out[i] = act(samples[i], actions[i], rule);
  }
  /// Ground truth, used only to score accuracy (never passed to a policy).
  virtual std::int32_t label(std::size_t sample) const = 0;
  /// The full score row (K values) when known without acting (trace replay), else nullptr. Needed
  /// for regret, oracle policies and side_info=oracle.
  virtual const float* oracle_scores(std::size_t sample) const {
    (void)sample;
    return nullptr;
  }
  /// A hint that `sample` will be acted on soon (a replay loop calls it a few steps ahead so that
  /// a stored trace's rows are in cache when needed). Does nothing by default.
  virtual void prefetch(std::size_t sample) const { (void)sample; }
  /// Exit 1's context for a contextual policy (runs exit 1 when it has not run yet); false when
  /// this environment cannot provide it.
  virtual bool exit_context(std::size_t sample, policy::ExitContext* out) {
    (void)sample;
    (void)out;
    return false;
  }
};

/// Replays one or more traces (same K); global sample index = trace offset + row. Scores are
/// computed once, at construction, with the exit rule's criterion; act() has no side effects.
class TraceEnvironment final : public Environment {
 public:
  /// `traces` must share K and the class count; `rule` chooses the score column(s). Throws
  /// Error(kData) naming the trace when a needed column is missing.
  TraceEnvironment(std::vector<std::shared_ptr<const trace::Trace>> traces,
                   const cost::ExitRule& rule, const std::vector<std::string>& names = {});
  std::size_t num_exits() const override { return k_; }
  std::size_t num_samples() const override { return label_.size(); }
  Outcome act(std::size_t sample, const Action& action, const cost::ExitRule& rule) override;
  std::int32_t label(std::size_t sample) const override { return label_[sample]; }
  const float* oracle_scores(std::size_t sample) const override { return &score_[sample * k_]; }
  void prefetch(std::size_t sample) const override {
    __builtin_prefetch(&score_[sample * k_]);
    __builtin_prefetch(&pred_[sample * k_]);
    __builtin_prefetch(&label_[sample]);
  }
  bool exit_context(std::size_t sample, policy::ExitContext* out) override;
  /// First global index of each trace.
  const std::vector<std::size_t>& offsets() const noexcept { return offsets_; }
  /// A copy holding only `samples`, in that order (sample i of the copy is samples[i] here):
  /// replaying a permuted stream over the copy reads memory sequentially.
  TraceEnvironment gather(const std::vector<std::uint32_t>& samples) const;

 private:
  TraceEnvironment() = default;
  std::size_t k_ = 0;
  cost::ExitRuleConfig rule_;
  std::vector<float> score_;
  std::vector<std::int32_t> pred_, label_;
  std::vector<float> ctx_entropy_, ctx_margin_;  ///< exit 1's normalised entropy and margin
  std::vector<std::size_t> offsets_;
};

/// Makes the environment of each (stream, repeat) of an experiment: trace replay here, the live
/// network in isplitee::vision. The sample space is a list of named sources (a trace, or a dataset
/// split under one distortion) concatenated in order.
class EnvironmentProvider {
 public:
  virtual ~EnvironmentProvider() = default;
  /// "replay", "live", …
  virtual std::string mode() const = 0;
  /// Number of exits K.
  virtual std::size_t num_exits() const = 0;
  /// Source names (stream schedules refer to them) and their sizes.
  virtual const std::vector<std::string>& names() const = 0;
  virtual const std::vector<std::size_t>& sizes() const = 0;
  /// Per-exit backbone blocks and cumulative edge MACs (millions; empty when unknown).
  virtual std::vector<double> depth_blocks() const = 0;
  virtual std::vector<double> depth_macs() const = 0;
  /// Activation bytes sent when split after each exit (K values), empty when unknown.
  virtual std::vector<double> activation_bytes() const = 0;
  /// Per source, the accuracy (%) of each exit on all its samples (empty when not known upfront).
  virtual std::vector<std::vector<double>> exit_accuracy() const = 0;
  /// How many environments may act at once (1 for a live network).
  virtual std::size_t max_parallel() const { return 0; }  // 0 = no limit
  /// The units of measured cost (cost.mode = measured); empty when nothing is measured.
  virtual cost::MeasuredUnits measured_units() const { return {}; }
  /// The environment of one stream: sample t of the result is global sample `samples[t]`.
  virtual std::unique_ptr<Environment> open(const std::vector<std::uint32_t>& samples,
                                            const cost::ExitRule& rule) const = 0;
};

/// Trace replay: one source per trace.
class TraceProvider final : public EnvironmentProvider {
 public:
  /// `traces` share K and depths; `names` one per trace; the exit rule's columns are checked now.
  TraceProvider(std::vector<std::shared_ptr<const trace::Trace>> traces,
                std::vector<std::string> names, const cost::ExitRule& rule);
  std::string mode() const override { return "replay"; }
  std::size_t num_exits() const override { return env_.num_exits(); }
  const std::vector<std::string>& names() const override { return names_; }
  const std::vector<std::size_t>& sizes() const override { return sizes_; }
  std::vector<double> depth_blocks() const override;
  std::vector<double> depth_macs() const override;
  std::vector<double> activation_bytes() const override;
  std::vector<std::vector<double>> exit_accuracy() const override;
  std::unique_ptr<Environment> open(const std::vector<std::uint32_t>& samples,
                                    const cost::ExitRule& rule) const override;

 private:
  std::vector<std::shared_ptr<const trace::Trace>> traces_;
  std::vector<std::string> names_;
  std::vector<std::size_t> sizes_;
  TraceEnvironment env_;
};

}  // namespace isplitee::sim
