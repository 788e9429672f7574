#include "isplitee/sim/simulator.hpp"

#include <algorithm>
#include <cmath>

#include "isplitee/common/error.hpp"

namespace isplitee::sim {
namespace {

std::size_t argmax_lowest(const double* v, std::size_t n) {
  std::size_t b = 0;
  for (std::size_t j = 1; j < n; ++j)
    if (v[j] > v[b]) b = j;
  return b;
}

}  // namespace

Hindsight compute_hindsight(const stream::Stream& stream, const std::vector<double>& table,
                            std::size_t k) {
  const std::size_t T = stream.size();
  const std::size_t nseg = std::max<std::size_t>(1, stream.segment_start.size());
  std::vector<double> seg_sum(nseg * k, 0.0), total(k, 0.0);
  for (std::size_t t = 0; t < T; ++t) {
    const double* r = &table[static_cast<std::size_t>(stream.samples[t]) * k];
    double* s = &seg_sum[stream.segment.empty() ? 0 : stream.segment[t] * k];
    for (std::size_t j = 0; j < k; ++j) s[j] += r[j];
  }
  Hindsight h;
  h.segment_best_arm.assign(nseg, 0);
  for (std::size_t g = 0; g < nseg; ++g) {
    for (std::size_t j = 0; j < k; ++j) total[j] += seg_sum[g * k + j];
    h.segment_best_arm[g] = argmax_lowest(&seg_sum[g * k], k);
  }
  h.best_arm = argmax_lowest(total.data(), k);
  h.mean_reward.resize(k);
  for (std::size_t j = 0; j < k; ++j)
    h.mean_reward[j] = T ? total[j] / static_cast<double>(T) : 0.0;
  return h;
}

std::vector<double> reward_table(const Environment& env, const cost::CostModel& cm) {
  const std::size_t n = env.num_samples(), k = env.num_exits();
  ISPLITEE_ASSERT(k == cm.num_arms(), "cost model and environment disagree on K");
  std::vector<double> table(n * k);
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = env.oracle_confidences(i);
    ISPLITEE_CHECK(row != nullptr,
                   "regret and oracle policies need an environment with stored confidences");
    cm.oracle_rewards(row, &table[i * k]);
  }
  return table;
}

RunMetrics run_policy(policy::Policy& policy, Environment& env, const cost::CostModel& cm,
                      const stream::Stream& stream, const RunOptions& options) {
  const std::size_t k = env.num_exits(), last = k - 1, T = stream.size();
  ISPLITEE_CHECK(policy.num_arms() == k, "policy '", policy.name(), "' built for ",
                 policy.num_arms(), " arms, environment has ", k, " exits");
  ISPLITEE_CHECK(cm.num_arms() == k, "cost model has ", cm.num_arms(), " depths, environment has ",
                 k, " exits");
  const auto& cfg = cm.config();
  const bool has_oracle = T == 0 || env.oracle_confidences(stream.samples[0]) != nullptr;
  std::vector<double> row_buf(k);
  auto oracle_row = [&](std::size_t sample) -> const double* {
    if (options.reward_table) return &(*options.reward_table)[sample * k];
    cm.oracle_rewards(env.oracle_confidences(sample), row_buf.data());
    return row_buf.data();
  };

  // Hindsight: i* over the whole stream and per segment (METHOD.md §5), before the run.
  RunMetrics m;
  Hindsight own;
  const Hindsight* hs = options.hindsight;
  if (!hs && has_oracle) {
    if (options.reward_table) {
      own = compute_hindsight(stream, *options.reward_table, k);
    } else {
      const auto table = reward_table(env, cm);
      own = compute_hindsight(stream, table, k);
    }
    hs = &own;
  }
  if (hs) {
    m.best_arm = hs->best_arm;
    m.segment_best_arm = hs->segment_best_arm;
  }
  const std::vector<double> no_means(k, 0.0);
  const std::vector<double>& means = hs ? hs->mean_reward : no_means;
  const bool oracle_policy = policy.needs_oracle();
  ISPLITEE_CHECK(!oracle_policy || has_oracle, "policy '", policy.name(),
                 "' is an oracle and needs stored confidences (a trace environment)");
  policy.begin_run({T, oracle_policy ? &means : nullptr});

  // Curve grid and arm-over-time bins.
  const std::size_t points =
      std::max<std::size_t>(1, std::min(options.curve_points, std::max<std::size_t>(T, 1)));
  for (std::size_t p = 1; p <= points; ++p) {
    const std::size_t tp = (T * p + points - 1) / points;
    if (tp > 0 && (m.curve_t.empty() || m.curve_t.back() != tp)) m.curve_t.push_back(tp);
  }
  for (std::size_t b = 0; b <= points; ++b) m.bin_edges.push_back(T * b / points);
  m.arm_over_time.assign(points, std::vector<double>(k + 1, 0.0));
  std::size_t next_curve = 0, bin = 0;

  std::vector<double> arm_count(k + 1, 0.0), exit_count(k, 0.0), fb_reward(k, 0.0);
  std::vector<std::uint8_t> fb_valid(k, 0);
  const bool bytes_known = options.activation_bytes.size() == k;
  double correct = 0, offloaded = 0, cost_sum = 0, reward_sum = 0, regret = 0, dyn = 0, bytes = 0;
  bool used_cloud = false;
  if (options.record_steps) m.steps_record.reserve(T);

  for (std::size_t t = 0; t < T; ++t) {
    const std::size_t sample = stream.samples[t];
    const std::uint32_t seg = stream.segment.empty() ? 0 : stream.segment[t];
    const double* orow = has_oracle ? oracle_row(sample) : nullptr;
    const Arm a = policy.select({t, oracle_policy ? orow : nullptr});
    const Observation obs = env.observe(sample, a);
    double reward, cost;
    std::size_t arm_bin;
    if (a == policy::kCloudArm) {
      reward = cm.cloud_reward(obs.final_conf);
      cost = cm.cloud_cost();
      arm_bin = k;
      used_cloud = true;
      policy.update({a, 0, fb_reward.data(), fb_valid.data()});
    } else if (a == policy::kCascadeArm) {
      const std::size_t e = obs.exit_used;
      reward = e < last ? obs.seen[e] - cfg.mu * cm.edge_cost(e)
                        : obs.final_conf - cfg.mu * cm.edge_cost(last);
      cost = cm.edge_cost(e);
      arm_bin = e;
      policy.update({a, 0, fb_reward.data(), fb_valid.data()});
    } else {
      const double c_final = obs.final_known ? obs.final_conf : 0.0;
      reward = cm.reward(a, obs.seen[a], c_final);
      cost = cm.cost(a, obs.seen[a]);
      arm_bin = a;
      if (bytes_known && obs.offloaded) bytes += options.activation_bytes[a];
      // Side observations (METHOD.md §3): every arm j ≤ a, exactly once this round. With
      // side_info=oracle every shallower arm's reward is its oracle reward (same formula, same
      // inputs), read from the row.
      if (cfg.side_info == cost::SideInfo::kOracle && orow) {
        for (std::size_t j = 0; j < a; ++j) {
          fb_reward[j] = orow[j];
          fb_valid[j] = 1;
        }
      } else {
        for (std::size_t j = 0; j < a; ++j) {
          const double cj = obs.seen[j];
          fb_valid[j] = 1;
          if (cm.exits(j, cj) || obs.final_known) {
            fb_reward[j] = cm.reward(j, cj, c_final);
          } else if (cfg.side_info == cost::SideInfo::kOracle) {
            const float* full = env.oracle_confidences(sample);
            ISPLITEE_CHECK(full != nullptr,
                           "side_info=oracle needs stored confidences; use strict or proxy");
            fb_reward[j] = cm.reward(j, cj, full[last]);
          } else if (cfg.side_info == cost::SideInfo::kStrict) {
            fb_valid[j] = 0;
          } else {  // proxy: the deepest confidence the edge saw stands in for C_K
            fb_reward[j] = cm.reward(j, cj, obs.seen[a]);
          }
        }
      }
      fb_reward[a] = reward;
      fb_valid[a] = 1;
      policy.update({a, a + 1, fb_reward.data(), fb_valid.data()});
    }
    const bool ok = obs.prediction == env.label(sample);
    correct += ok;
    offloaded += obs.offloaded;
    cost_sum += cost;
    reward_sum += reward;
    arm_count[arm_bin] += 1;
    exit_count[obs.exit_used] += 1;
    double inst = 0;
    if (orow) {
      inst = orow[m.best_arm] - reward;
      regret += inst;
      dyn += orow[m.segment_best_arm[seg]] - reward;
    }
    while (bin + 1 < points && t >= m.bin_edges[bin + 1]) ++bin;
    m.arm_over_time[bin][arm_bin] += 1;
    if (next_curve < m.curve_t.size() && t + 1 == m.curve_t[next_curve])
      m.regret_curve.push_back(regret), ++next_curve;
    if (options.record_steps)
      m.steps_record.push_back({t, seg, a, obs.exited, obs.offloaded,
                                static_cast<std::uint32_t>(obs.exit_used), obs.prediction, ok, cost,
                                reward, inst});
  }
  const double n = T ? static_cast<double>(T) : 1.0;
  m.steps = T;
  m.accuracy = 100.0 * correct / n;
  m.cost_total = cost_sum;
  m.cost_per_sample = cost_sum / n;
  m.offload_fraction = offloaded / n;
  m.mean_reward = reward_sum / n;
  m.regret = has_oracle ? regret : std::nan("");
  m.dynamic_regret = has_oracle ? dyn : std::nan("");
  m.bytes_known = bytes_known && !used_cloud;
  m.bytes_per_sample = m.bytes_known ? bytes / n : 0.0;
  for (auto& c : arm_count) m.arm_histogram.push_back(c / n);
  for (auto& c : exit_count) m.exit_histogram.push_back(c / n);
  for (std::size_t b = 0; b < points; ++b) {
    const double w = static_cast<double>(m.bin_edges[b + 1] - m.bin_edges[b]);
    for (auto& v : m.arm_over_time[b]) v = w > 0 ? v / w : 0.0;
  }
  return m;
}

}  // namespace isplitee::sim
