#pragma once
/// \file Summary statistics over repeats: mean, sample std and the 95% Student-t interval
/// (docs/method.md §6).

#include <cstddef>
#include <vector>

namespace isplitee::sim {

/// A metric over repeats.
struct Stat {
  double mean = 0;
  double std = 0;     ///< sample standard deviation (n − 1); 0 for one repeat
  double ci_low = 0;  ///< mean − t_{0.975, n−1}·std/√n (= mean for one repeat)
  double ci_high = 0;
  std::vector<double> values;  ///< one per repeat
};

/// Two-sided 95% Student-t quantile t_{0.975, df} (df ≥ 1), from Boost.Math.
double student_t95(std::size_t df);

/// Summarises `values` (at least one).
Stat summarize(std::vector<double> values);

}  // namespace isplitee::sim
