#pragma once
/// \file Temperature scaling and expected calibration error (docs/method.md, "Calibration"):
/// T_k > 0 per exit minimises the mean negative log-likelihood of softmax(z/T_k) on the validation
/// split; ECE uses 15 equal-width bins of the max-prob confidence.

#include <cstddef>
#include <cstdint>
#include <vector>

namespace isplitee::cost {

/// Mean negative log-likelihood (nats) of softmax(logits/T) against `labels` (n rows of
/// `num_classes` logits).
double mean_nll(const float* logits, const std::int32_t* labels, std::size_t n,
                std::size_t num_classes, double temperature);

/// The temperature in [0.05, 20] that minimises mean_nll: golden-section search on log T (the NLL
/// is convex in 1/T, so unimodal in log T), to a relative precision of 1e-6. n ≥ 1.
double fit_temperature(const float* logits, const std::int32_t* labels, std::size_t n,
                       std::size_t num_classes);

/// Expected calibration error Σ_b (n_b/N)·|acc_b − conf_b| over `bins` equal-width bins of the
/// confidence (bin b holds (b/B, (b+1)/B], a confidence of 0 goes to the first bin). 0 when n = 0.
double expected_calibration_error(const float* confidence, const std::uint8_t* correct,
                                  std::size_t n, std::size_t bins = 15);

/// What calibrating one network found: per exit, the temperature and the validation ECE before
/// and after (stored in trace manifests).
struct CalibrationSummary {
  std::vector<double> temperature, ece_before, ece_after;
  std::size_t samples = 0;  ///< validation samples the temperatures were fitted on
};

/// Fits one temperature per exit on validation logits (n × K × C, row-major: sample, exit, class)
/// and labels, and measures ECE before and after.
CalibrationSummary calibrate_exits(const float* logits, const std::int32_t* labels, std::size_t n,
                                   std::size_t num_exits, std::size_t num_classes);

}  // namespace isplitee::cost
