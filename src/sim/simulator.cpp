#include "isplitee/sim/simulator.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "isplitee/common/error.hpp"

namespace isplitee::sim {
namespace {

using Clock = std::chrono::steady_clock;

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
  const cost::ExitRule rule = cost::exit_rule_of(cm.config());
  std::vector<double> table(n * k);
  for (std::size_t i = 0; i < n; ++i) {
    const float* row = env.oracle_scores(i);
    ISPLITEE_CHECK(row != nullptr,
                   "regret and oracle policies need an environment with stored scores");
    cm.oracle_rewards(row, rule, &table[i * k]);
  }
  return table;
}

namespace {

/// Sample points of the regret curve and bins of arm-over-time (RunMetrics fields).
void init_curves(RunMetrics& m, std::size_t T, std::size_t k, std::size_t curve_points) {
  const std::size_t points =
      std::max<std::size_t>(1, std::min(curve_points, std::max<std::size_t>(T, 1)));
  for (std::size_t p = 1; p <= points; ++p) {
    const std::size_t tp = (T * p + points - 1) / points;
    if (tp > 0 && (m.curve_t.empty() || m.curve_t.back() != tp)) m.curve_t.push_back(tp);
  }
  for (std::size_t b = 0; b <= points; ++b) m.bin_edges.push_back(T * b / points);
  m.arm_over_time.assign(points, std::vector<double>(k + 1, 0.0));
}

/// Labels, regret and curves: everything about a run that is not the session's business.
struct Scorer {
  RunMetrics& m;
  const RunOptions& options;
  double correct = 0, regret = 0, dyn = 0, bytes = 0;
  std::size_t next_curve = 0, bin = 0;
  bool used_cloud = false;
  // Measurements of a live environment (none in a trace replay).
  double edge_ms = 0, bytes_sent = 0, wall_ms = 0;
  std::vector<float> latency_ms{};

  void measure(const Outcome& o) {
    if (o.edge_ms <= 0 && o.latency_ms <= 0 && o.bytes_sent == 0) return;
    edge_ms += o.edge_ms;
    bytes_sent += static_cast<double>(o.bytes_sent);
    latency_ms.push_back(static_cast<float>(o.latency_ms));
  }

  void add(std::size_t t, std::uint32_t seg, const StepResult& r, bool ok, const double* orow) {
    correct += ok;
    if (r.action.kind() == Action::Kind::kCloud) used_cloud = true;
    if (r.offloaded && r.action.is_split() && options.activation_bytes.size() > r.action.arm())
      bytes += options.activation_bytes[r.action.arm()];
    double inst = 0;
    if (orow) {
      inst = orow[m.best_arm] - r.reward;
      regret += inst;
      dyn += orow[m.segment_best_arm[seg]] - r.reward;
    }
    while (bin + 1 < m.arm_over_time.size() && t >= m.bin_edges[bin + 1]) ++bin;
    m.arm_over_time[bin][r.arm_bin] += 1;
    if (next_curve < m.curve_t.size() && t + 1 == m.curve_t[next_curve])
      m.regret_curve.push_back(regret), ++next_curve;
    if (options.record_steps)
      m.steps_record.push_back({t, seg, r.action, r.exited, r.offloaded,
                                static_cast<std::uint32_t>(r.exit_used), r.prediction, ok, r.cost,
                                r.reward, inst});
  }
};

/// Edge time, bytes, latency percentiles and throughput of a measured (live) run.
void finish_live_metrics(RunMetrics& m, Scorer& sc, double n) {
  auto& lat = sc.latency_ms;
  m.measured = !lat.empty();
  if (!m.measured) return;
  m.edge_ms_per_sample = sc.edge_ms / n;
  m.bytes_sent_per_sample = sc.bytes_sent / n;
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) {  // nearest rank
    const auto r = static_cast<std::size_t>(std::ceil(q * static_cast<double>(lat.size())));
    return static_cast<double>(lat[std::min(lat.size(), std::max<std::size_t>(r, 1)) - 1]);
  };
  m.latency_p50_ms = pct(0.50);
  m.latency_p95_ms = pct(0.95);
  m.latency_p99_ms = pct(0.99);
  m.throughput_per_s = sc.wall_ms > 0 ? 1000.0 * n / sc.wall_ms : 0.0;
  m.latency_samples = std::move(lat);
}

/// Totals of the session and the scorer into the run's metrics.
void finish_metrics(RunMetrics& m, Scorer& sc, const SessionTotals& tot, std::size_t T,
                    bool has_oracle, bool bytes_known) {
  const double n = T ? static_cast<double>(T) : 1.0;
  m.steps = T;
  m.accuracy = 100.0 * sc.correct / n;
  m.cost_total = tot.cost;
  m.cost_per_sample = tot.cost / n;
  m.offload_fraction = static_cast<double>(tot.offloaded) / n;
  m.fallback_fraction = static_cast<double>(tot.fallbacks) / n;
  m.mean_reward = tot.reward / n;
  m.regret = has_oracle ? sc.regret : std::nan("");
  m.dynamic_regret = has_oracle ? sc.dyn : std::nan("");
  m.bytes_known = bytes_known && !sc.used_cloud;
  m.bytes_per_sample = m.bytes_known ? sc.bytes / n : 0.0;
  finish_live_metrics(m, sc, n);
  for (auto c : tot.arm_count) m.arm_histogram.push_back(static_cast<double>(c) / n);
  for (auto c : tot.exit_count) m.exit_histogram.push_back(static_cast<double>(c) / n);
  for (std::size_t b = 0; b < m.arm_over_time.size(); ++b) {
    const double w = static_cast<double>(m.bin_edges[b + 1] - m.bin_edges[b]);
    for (auto& v : m.arm_over_time[b]) v = w > 0 ? v / w : 0.0;
  }
}

}  // namespace

RunMetrics run_policy(policy::Policy& policy, Environment& env, const cost::CostModel& cm,
                      const stream::Stream& stream, const RunOptions& options) {
  const std::size_t k = env.num_exits(), T = stream.size();
  ISPLITEE_CHECK(cm.num_arms() == k, "cost model has ", cm.num_arms(), " depths, environment has ",
                 k, " exits");
  const bool has_oracle = T == 0 || env.oracle_scores(stream.samples[0]) != nullptr;
  std::vector<double> row_buf(k);
  const cost::ExitRule rule = cost::exit_rule_of(cm.config());
  auto oracle_of = [&](std::size_t sample) -> OracleView {
    if (!has_oracle) return {};
    if (options.reward_table)
      return {env.oracle_scores(sample), &(*options.reward_table)[sample * k]};
    cm.oracle_rewards(env.oracle_scores(sample), rule, row_buf.data());
    return {env.oracle_scores(sample), row_buf.data()};
  };

  // Hindsight: i* over the whole stream and per segment, before the run.
  RunMetrics m;
  Hindsight own;
  const Hindsight* hs = options.hindsight;
  if (!hs && has_oracle) {
    own = options.reward_table ? compute_hindsight(stream, *options.reward_table, k)
                               : compute_hindsight(stream, reward_table(env, cm), k);
    hs = &own;
  }
  if (hs) m.best_arm = hs->best_arm, m.segment_best_arm = hs->segment_best_arm;
  ISPLITEE_CHECK(!policy.needs_oracle() || has_oracle, "policy '", policy.name(),
                 "' is an oracle and needs stored scores (a trace environment)");
  OnlineSession session(policy, cm, {T, hs && policy.needs_oracle() ? &hs->mean_reward : nullptr});
  init_curves(m, T, k, options.curve_points);
  if (options.record_steps) m.steps_record.reserve(T);
  Scorer sc{m, options};
  const auto started = Clock::now();

  const bool use_ctx = policy.needs_context(), use_oracle = policy.needs_oracle();
  policy::ExitContext ctx;
  auto decide = [&](std::size_t sample) {
    ISPLITEE_CHECK(!use_ctx || env.exit_context(sample, &ctx), "policy '", policy.name(),
                   "' needs exit 1's entropy and margin, which this environment lacks (plain "
                   "CSV traces carry only conf)");
    return session.decide(use_ctx ? &ctx : nullptr, use_oracle ? oracle_of(sample) : OracleView{});
  };
  auto observe = [&](std::size_t t, const Outcome& o) {
    const std::size_t sample = stream.samples[t];
    const OracleView ov = oracle_of(sample);
    const StepResult r = session.observe(o, ov);
    const std::uint32_t seg = stream.segment.empty() ? 0 : stream.segment[t];
    sc.add(t, seg, r, o.prediction == env.label(sample), ov.rewards);
    sc.measure(o);
  };
  const std::size_t batch = std::max<std::size_t>(1, options.decision_batch);
  // Rows of a permuted stream are read at random: ask for the ones a few steps ahead early.
  constexpr std::size_t kAhead = 8;
  auto prefetch = [&](std::size_t t) {
    if (t >= T) return;
    const std::size_t sample = stream.samples[t];
    env.prefetch(sample);
    if (options.reward_table) __builtin_prefetch(&(*options.reward_table)[sample * k]);
  };
  if (batch == 1) {
    for (std::size_t t = 0; t < T; ++t) {
      prefetch(t + kAhead);
      const std::size_t sample = stream.samples[t];
      observe(t, env.act(sample, decide(sample), session.exit_rule()));
    }
  } else {  // decide a whole batch first: the learner sees the batch's outcomes only afterwards
    std::vector<Action> decided(batch);
    std::vector<std::size_t> samples(batch);
    std::vector<Outcome> outcomes(batch);
    for (std::size_t t0 = 0; t0 < T; t0 += batch) {
      const std::size_t t1 = std::min(T, t0 + batch);
      for (std::size_t t = t0; t < t1; ++t)
        samples[t - t0] = stream.samples[t], decided[t - t0] = decide(stream.samples[t]);
      env.act_batch(samples.data(), decided.data(), t1 - t0, session.exit_rule(), outcomes.data());
      for (std::size_t t = t0; t < t1; ++t) observe(t, outcomes[t - t0]);
    }
  }
  sc.wall_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  finish_metrics(m, sc, session.totals(), T, has_oracle, options.activation_bytes.size() == k);
  m.events = policy.events();
  return m;
}

}  // namespace isplitee::sim
