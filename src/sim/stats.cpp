#include "isplitee/sim/stats.hpp"

#include <cmath>

#include <boost/math/distributions/students_t.hpp>

#include "isplitee/common/error.hpp"

namespace isplitee::sim {

double student_t95(std::size_t df) {
  ISPLITEE_CHECK(df >= 1, "Student t quantile needs df >= 1");
  // Boost.Math's quantile replaces a 30-row table + Cornish–Fisher expansion: the bounds moved by
  // at most 2.2e-8 relative for df ≤ 30 and 8.6e-7 at df = 31 (measured; docs/method.md §6).
  const boost::math::students_t dist(static_cast<double>(df));
  return boost::math::quantile(boost::math::complement(dist, 0.025));
}

Stat summarize(std::vector<double> values) {
  ISPLITEE_ASSERT(!values.empty(), "summarize needs values");
  Stat s;
  const double n = static_cast<double>(values.size());
  double sum = 0;
  for (double v : values) sum += v;
  s.mean = sum / n;
  if (values.size() > 1) {
    double ss = 0;
    for (double v : values) ss += (v - s.mean) * (v - s.mean);
    s.std = std::sqrt(ss / (n - 1));
    const double h = student_t95(values.size() - 1) * s.std / std::sqrt(n);
    s.ci_low = s.mean - h;
    s.ci_high = s.mean + h;
  } else {
    s.ci_low = s.ci_high = s.mean;
  }
  s.values = std::move(values);
  return s;
}

}  // namespace isplitee::sim
