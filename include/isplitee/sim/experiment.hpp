#pragma once
/// \file An experiment: every policy on every stream for every repeat, in parallel threads, with
/// results bit-identical for any thread count; metrics summarised over repeats. Where outcomes come
/// from is the spec's EnvironmentProvider (trace replay by default).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/cost/cost_model.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/sim/environment.hpp"
#include "isplitee/sim/simulator.hpp"
#include "isplitee/sim/stats.hpp"
#include "isplitee/stream/stream.hpp"
#include "isplitee/trace/trace.hpp"

namespace isplitee::sim {

/// What to run.
struct ExperimentSpec {
  /// Where outcomes come from; when null, trace replay over `traces` named `trace_names`.
  std::shared_ptr<const EnvironmentProvider> environment;
  std::vector<std::string> trace_names;                     ///< e.g. "none", "gaussian_noise@3"
  std::vector<std::shared_ptr<const trace::Trace>> traces;  ///< same order; all share K and depths
  stream::StreamsConfig streams;
  std::vector<policy::PolicySpec> policies;
  cost::CostConfig cost;
  std::size_t repeats = 5;
  std::uint64_t seed = 0;
  std::size_t threads = 0;  ///< 0 = all cores
  bool record_steps = false;
  std::size_t curve_points = 100;
  std::size_t decision_batch = 1;  ///< decisions taken before their outcomes are observed
  /// Only these streams (indices into the resolved streams, increasing); empty = every stream.
  /// Results of disjoint subsets merge back with merge_partial_results (runs spread over
  /// processes).
  std::vector<std::size_t> stream_subset;
};

/// How a policy's change detector did on one change of a scheduled stream: an alarm counts for
/// the change when it comes within kDetectionWindow steps after it (and before the next change).
struct ChangeDetection {
  std::size_t step = 0;      ///< first step (0-based) of the segment that starts the change
  std::size_t detected = 0;  ///< repeats with an alarm in the change's window
  Stat delay;  ///< steps from the change to its first alarm, over the detecting repeats (NaN: none)
};

/// Steps after a change within which an alarm counts as its detection, not a false alarm.
constexpr std::size_t kDetectionWindow = 1000;

/// Results of one (stream, policy) over all repeats.
struct CellResult {
  std::string stream, policy, policy_name;  ///< policy = label, policy_name = registry name
  std::size_t steps = 0;
  /// Named metrics in a fixed order: accuracy, cost_per_sample, cost_total, cost_reduction,
  /// accuracy_drop, offload_pct (percent of samples), mean_reward, regret, dynamic_regret,
  /// best_fixed_arm, [bytes_per_sample]; for policies with a change detector alarms, false_alarms,
  /// detected_changes; for policies with a cost target cost_target, budget_gap_pct,
  /// budget_ref_arm, budget_ref_accuracy, budget_ref_cost_per_sample (the best fixed arm, by
  /// accuracy, whose hindsight mean cost per sample on the stream is within the target);
  /// in live runs edge_ms_per_sample, bytes_sent_per_sample, latency_p50_ms, latency_p95_ms,
  /// latency_p99_ms, throughput_per_s, fallback_fraction.
  std::vector<std::pair<std::string, Stat>> metrics;
  std::vector<double> arm_histogram;   ///< mean over repeats, K+1 (last: cloud-only)
  std::vector<double> exit_histogram;  ///< mean over repeats, K
  std::vector<std::size_t> curve_t;
  std::vector<double> regret_mean, regret_low,
      regret_high;  ///< cumulative regret curve with 95% band
  std::vector<std::size_t> bin_edges;
  std::vector<std::vector<double>> arm_over_time;  ///< per bin, mean K+1 arm fractions
  std::vector<std::size_t> segment_starts;
  std::vector<std::string> segment_traces;
  std::vector<ChangeDetection> changes;  ///< per change, for policies with a change detector
  std::vector<std::vector<StepRecord>> steps_per_repeat;  ///< only with record_steps (not in JSON)
  /// Live runs: percentiles 0, 1, …, 100 of the end-to-end latency (ms) over all repeats.
  std::vector<double> latency_cdf_ms;

  /// The metric `name`; throws Error(kUsage) when absent.
  const Stat& metric(const std::string& name) const;
  /// Whether the metric is present.
  bool has_metric(const std::string& name) const noexcept;
};

/// Everything a report needs.
struct ExperimentResult {
  cost::CostConfig cost;
  std::string mode = "replay";  ///< the environment provider's mode
  cost::MeasuredUnits units;  ///< live runs: edge time of the whole network, input and split bytes
  std::vector<double> depths;
  std::size_t num_arms = 0, repeats = 0, threads = 0;
  std::uint64_t seed = 0;
  std::vector<std::string> trace_names, streams, policies;
  /// Per trace, the accuracy (%) of each exit on all its samples (docs/method.md §6: the trace
  /// itself).
  std::vector<std::vector<double>> trace_exit_accuracy;
  std::vector<CellResult> cells;  ///< stream-major: cells[s * policies + p]
  double wall_seconds = 0;

  /// The cell for (stream, policy label); throws Error(kUsage) when absent.
  const CellResult& cell(const std::string& stream, const std::string& policy) const;
};

/// Called after each finished run (serialised: never concurrently), with done and total runs.
using ProgressCallback = std::function<void(std::size_t done, std::size_t total)>;

/// Runs the experiment. Seeds derive from (seed, stream name, policy label, repeat), so a result
/// never depends on thread count or on the order of lists.
ExperimentResult run_experiment(const ExperimentSpec& spec, const ProgressCallback& progress = {});

/// One result from the results of parts of one experiment that cover every (stream, policy) cell
/// once, given in cell order (stream-major, then policy): each part ran a stream subset
/// (stream_subset) and any slice of the policy list, e.g. one stream × one policy. Streams and
/// policies are listed in order of first appearance, cells concatenated, wall_seconds the
/// largest. Equal to the result of the whole experiment but for wall_seconds: a cell depends only
/// on its stream's and its policy's seeds. Error(kInternal) when the parts do not tile the grid.
ExperimentResult merge_partial_results(std::vector<ExperimentResult> parts);

}  // namespace isplitee::sim
