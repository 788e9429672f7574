#pragma once
/// \file One replay loop for every policy: an OnlineSession decides on a stream through an
/// Environment; the loop scores accuracy (labels never reach the policy) and regret against the
/// best fixed arm in hindsight, and records curves (docs/method.md, "Metrics").

#include <cstddef>
#include <cstdint>
#include <vector>

#include "isplitee/cost/cost_model.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/sim/environment.hpp"
#include "isplitee/sim/session.hpp"
#include "isplitee/stream/stream.hpp"

namespace isplitee::sim {

/// One step of a run (optional, for steps.csv).
struct StepRecord {
  std::uint64_t t = 0;
  std::uint32_t segment = 0;
  Action action;  ///< what the policy decided
  bool exited = false, offloaded = false;
  std::uint32_t exit_used = 0;  ///< 0-based exit that produced the prediction
  std::int32_t prediction = 0;
  bool correct = false;
  double cost = 0, reward = 0, regret = 0;  ///< regret vs the best fixed arm in hindsight
};

/// The best fixed arm in hindsight over a stream and over each of its segments (docs/method.md §6),
/// from the oracle rewards. Depends only on the stream: computed once and shared by every policy's
/// run.
struct Hindsight {
  std::size_t best_arm = 0;
  std::vector<std::size_t> segment_best_arm;
  std::vector<double> mean_reward;  ///< per arm, over the whole stream
};

/// Options of one run.
struct RunOptions {
  bool record_steps = false;
  std::size_t curve_points = 100;  ///< points of the regret curve and bins of arm-over-time
  /// Oracle reward of every arm per sample (N×K, row-major, from reward_table(env, cm) with this
  /// run's environment and cost model), shared between runs; computed per step from
  /// Environment::oracle_confidences when null.
  const std::vector<double>* reward_table = nullptr;
  /// Precomputed hindsight for this stream (computed by the run when null).
  const Hindsight* hindsight = nullptr;
  /// Activation bytes sent when split after each exit (K values); empty when unknown.
  std::vector<double> activation_bytes;
  /// Decisions taken before their outcomes are observed (1 = decide, act, observe per sample; a
  /// live edge working on batches decides a whole batch first).
  std::size_t decision_batch = 1;
};

/// Metrics of one run (one policy on one stream for one repeat), docs/method.md §6.
struct RunMetrics {
  std::size_t steps = 0;
  double accuracy = 0;  ///< % correct
  double cost_total = 0, cost_per_sample = 0;
  double offload_fraction = 0;  ///< fraction of samples whose inference the cloud finished
  double mean_reward = 0;
  double regret = 0;            ///< Σ r_t(i*) − r_t(i_t), i* best fixed arm in hindsight
  double dynamic_regret = 0;    ///< Σ r_t(i*_seg(t)) − r_t(i_t), best arm of each segment
  double bytes_per_sample = 0;  ///< activation bytes sent per sample (when known)
  bool bytes_known = false;
  double fallback_fraction = 0;  ///< samples whose cloud did not answer (live runs)
  // Measured in a live run (measured = false in a trace replay):
  bool measured = false;
  double edge_ms_per_sample = 0;     ///< edge compute per sample
  double bytes_sent_per_sample = 0;  ///< encoded bytes on the wire per sample (all samples)
  double latency_p50_ms = 0, latency_p95_ms = 0, latency_p99_ms = 0;  ///< end-to-end latency
  double throughput_per_s = 0;         ///< samples per second of the run's wall time
  std::vector<float> latency_samples;  ///< every sample's latency (ms), sorted (for the CDF)
  std::vector<double> arm_histogram;   ///< K+1 fractions: arms 1..K, then cloud-only
  std::vector<double> exit_histogram;  ///< K fractions: exit that produced the prediction
  std::size_t best_arm = 0;            ///< i* (0-based)
  std::vector<std::size_t> segment_best_arm;
  std::vector<std::size_t>
      curve_t;  ///< steps at which the regret curve is sampled (1-based counts)
  std::vector<double> regret_curve;    ///< cumulative regret after curve_t[i] steps
  std::vector<std::size_t> bin_edges;  ///< curve_points+1 step boundaries of arm-over-time bins
  std::vector<std::vector<double>> arm_over_time;  ///< per bin, K+1 arm fractions
  std::vector<StepRecord> steps_record;
  policy::PolicyEvents events;  ///< the policy's change alarms and cost target, after the run
};

/// Runs `policy` over `stream` (sample indices of `env`) through an OnlineSession: policies see
/// only the round, exit 1's context (contextual policies) and the rewards of observed arms; labels
/// are read here, for scoring only. Side observations follow cm.config().side_info.
RunMetrics run_policy(policy::Policy& policy, Environment& env, const cost::CostModel& cm,
                      const stream::Stream& stream, const RunOptions& options);

/// Hindsight of `stream` from the oracle rewards (`table` as from reward_table, N×K).
Hindsight compute_hindsight(const stream::Stream& stream, const std::vector<double>& table,
                            std::size_t num_arms);

/// Oracle reward table (N×K) of every sample of `env` (which must provide oracle scores), under
/// the cost model's exit rule.
std::vector<double> reward_table(const Environment& env, const cost::CostModel& cm);

}  // namespace isplitee::sim
