#include "isplitee/sim/stats.hpp"

#include <cmath>

#include "isplitee/common/error.hpp"

namespace isplitee::sim {

double student_t95(std::size_t df) {
  ISPLITEE_CHECK(df >= 1, "Student t quantile needs df >= 1");
  // t_{0.975, df} for df = 1..30 (standard tables; checked against scipy in the tests).
  static const double kTable[30] = {
      12.7062047, 4.3026527, 3.1824463, 2.7764451, 2.5705818, 2.4469118, 2.3646243, 2.3060041,
      2.2621572,  2.2281389, 2.2009852, 2.1788128, 2.1603687, 2.1447867, 2.1314495, 2.1199053,
      2.1098156,  2.1009220, 2.0930241, 2.0859634, 2.0796138, 2.0738731, 2.0686576, 2.0638986,
      2.0595386,  2.0555294, 2.0518305, 2.0484071, 2.0452296, 2.0422725};
  if (df <= 30) return kTable[df - 1];
  // Cornish–Fisher expansion around the normal quantile; error < 1e-5 for df > 30.
  const double z = 1.959963984540054, v = static_cast<double>(df);
  const double z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z;
  return z + (z3 + z) / (4 * v) + (5 * z5 + 16 * z3 + 3 * z) / (96 * v * v) +
         (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * v * v * v);
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
