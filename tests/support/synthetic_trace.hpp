#pragma once
// Synthetic traces for core tests: per-exit confidences drawn around given means (fixed seed),
// predictions correct with probability equal to the confidence.
#include <algorithm>
#include <memory>
#include <vector>

#include "isplitee/common/rng.hpp"
#include "isplitee/trace/trace.hpp"

namespace isplitee::synth {

inline std::shared_ptr<trace::Trace> synthetic_trace(std::size_t n,
                                                     const std::vector<double>& mean_conf,
                                                     std::uint64_t seed, double noise = 0.1,
                                                     std::vector<double> depths = {}) {
  auto t = std::make_shared<trace::Trace>();
  const std::size_t k = mean_conf.size();
  t->num_samples = n;
  t->num_exits = k;
  t->manifest.num_classes = 10;
  t->manifest.arch = "synthetic";
  for (std::size_t e = 0; e < k; ++e) {
    trace::ExitInfo x;
    x.depth_blocks = depths.empty() ? static_cast<double>(e + 1) : depths[e];
    x.macs_millions = 10.0 * x.depth_blocks;
    x.activation_bytes = 1000 * static_cast<std::int64_t>(k - e);
    t->manifest.exits.push_back(x);
  }
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const auto y = static_cast<std::int32_t>(rng.uniform_int(10));
    t->label.push_back(y);
    for (std::size_t e = 0; e < k; ++e) {
      const double c = std::clamp(mean_conf[e] + noise * rng.normal(), 0.0, 1.0);
      t->conf.push_back(static_cast<float>(c));
      const bool ok = rng.uniform() < c;
      t->pred.push_back(ok ? y : (y + 1 + static_cast<std::int32_t>(rng.uniform_int(9))) % 10);
    }
  }
  return t;
}

/// A trace from explicit rows (conf K values, pred K values, label).
inline std::shared_ptr<trace::Trace> explicit_trace(
    const std::vector<std::vector<float>>& conf, const std::vector<std::vector<std::int32_t>>& pred,
    const std::vector<std::int32_t>& label, const std::vector<double>& depths) {
  auto t = std::make_shared<trace::Trace>();
  t->num_samples = conf.size();
  t->num_exits = depths.size();
  for (double d : depths) {
    trace::ExitInfo x;
    x.depth_blocks = d;
    t->manifest.exits.push_back(x);
  }
  for (std::size_t i = 0; i < conf.size(); ++i) {
    t->conf.insert(t->conf.end(), conf[i].begin(), conf[i].end());
    t->pred.insert(t->pred.end(), pred[i].begin(), pred[i].end());
  }
  t->label = label;
  return t;
}

}  // namespace isplitee::synth
