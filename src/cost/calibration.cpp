#include "isplitee/cost/calibration.hpp"

#include <algorithm>
#include <cmath>

#include "isplitee/common/error.hpp"
#include "isplitee/cost/exit_rule.hpp"

namespace isplitee::cost {

double mean_nll(const float* logits, const std::int32_t* labels, std::size_t n,
                std::size_t num_classes, double temperature) {
  ISPLITEE_CHECK(temperature > 0, "mean_nll: temperature must be > 0, got ", temperature);
  if (n == 0) return 0.0;
  const double inv_t = 1.0 / temperature;
  double total = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const float* z = logits + i * num_classes;
    const auto y = static_cast<std::size_t>(labels[i]);
    ISPLITEE_CHECK(labels[i] >= 0 && y < num_classes, "mean_nll: label ", labels[i], " of row ", i,
                   " is outside [0, ", num_classes, ")");
    const double mx = *std::max_element(z, z + num_classes) * inv_t;
    double sum = 0;
    for (std::size_t c = 0; c < num_classes; ++c) sum += std::exp(z[c] * inv_t - mx);
    total += mx + std::log(sum) - z[y] * inv_t;  // log-sum-exp minus the true class's logit
  }
  return total / static_cast<double>(n);
}

double fit_temperature(const float* logits, const std::int32_t* labels, std::size_t n,
                       std::size_t num_classes) {
  ISPLITEE_CHECK(n >= 1 && num_classes >= 2,
                 "fit_temperature: needs at least one sample and two classes");
  auto f = [&](double log_t) { return mean_nll(logits, labels, n, num_classes, std::exp(log_t)); };
  const double inv_phi = (std::sqrt(5.0) - 1.0) / 2.0;
  double a = std::log(0.05), b = std::log(20.0);
  double c = b - inv_phi * (b - a), d = a + inv_phi * (b - a);
  double fc = f(c), fd = f(d);
  while (b - a > 1e-6) {
    if (fc <= fd) {
      b = d, d = c, fd = fc;
      c = b - inv_phi * (b - a);
      fc = f(c);
    } else {
      a = c, c = d, fc = fd;
      d = a + inv_phi * (b - a);
      fd = f(d);
    }
  }
  return std::exp((a + b) / 2);
}

double expected_calibration_error(const float* confidence, const std::uint8_t* correct,
                                  std::size_t n, std::size_t bins) {
  ISPLITEE_CHECK(bins >= 1, "expected_calibration_error: needs at least one bin");
  if (n == 0) return 0.0;
  std::vector<double> count(bins, 0.0), conf_sum(bins, 0.0), acc_sum(bins, 0.0);
  for (std::size_t i = 0; i < n; ++i) {
    const double c = std::clamp(static_cast<double>(confidence[i]), 0.0, 1.0);
    // (b/B, (b+1)/B] → b; 0 joins the first bin.
    std::size_t b = c <= 0 ? 0 : static_cast<std::size_t>(std::ceil(c * bins)) - 1;
    b = std::min(b, bins - 1);
    count[b] += 1;
    conf_sum[b] += c;
    acc_sum[b] += correct[i] ? 1.0 : 0.0;
  }
  double ece = 0;
  for (std::size_t b = 0; b < bins; ++b)
    if (count[b] > 0)
      ece += count[b] / static_cast<double>(n) * std::abs(acc_sum[b] - conf_sum[b]) / count[b];
  return ece;
}

CalibrationSummary calibrate_exits(const float* logits, const std::int32_t* labels, std::size_t n,
                                   std::size_t num_exits, std::size_t num_classes) {
  CalibrationSummary s;
  s.samples = n;
  std::vector<float> z(n * num_classes), conf(n);
  std::vector<std::uint8_t> ok(n);
  for (std::size_t k = 0; k < num_exits; ++k) {
    for (std::size_t i = 0; i < n; ++i)
      std::copy_n(logits + (i * num_exits + k) * num_classes, num_classes, &z[i * num_classes]);
    auto ece_at = [&](double t) {
      for (std::size_t i = 0; i < n; ++i) {
        const auto st = softmax_stats(&z[i * num_classes], num_classes, t);
        conf[i] = st.max_prob;
        ok[i] = st.pred == labels[i];
      }
      return expected_calibration_error(conf.data(), ok.data(), n);
    };
    const double t = fit_temperature(z.data(), labels, n, num_classes);
    s.temperature.push_back(t);
    s.ece_before.push_back(ece_at(1.0));
    s.ece_after.push_back(ece_at(t));
  }
  return s;
}

}  // namespace isplitee::cost
