#pragma once
/// \file Image distortions: the paper's noise and blur with explicit units, the 15 + 4 ImageNet-C
/// corruptions at severities 1–5 (docs/method.md §9; constants from the public ImageNet-C scripts),
/// chains and `none`. OpenCV only (no LibTorch). Every distortion is a pure function of (image,
/// parameters, rng).

#include <cstdint>
#include <memory>
#include <string>

#include <opencv2/core.hpp>

#include "isplitee/common/rng.hpp"
#include "isplitee/distort/spec.hpp"

namespace isplitee::distort {

/// A configured distortion. apply() never mutates its input and returns an image of the same size
/// and type (uint8, 1 or 3 channels; 3-channel images are RGB). Any size from 8×8 up.
class Distortion {
 public:
  virtual ~Distortion() = default;
  /// The distorted image; all randomness comes from `rng`.
  virtual cv::Mat apply(const cv::Mat& src, Rng& rng) const = 0;
  /// Full description with units, e.g. "gaussian_noise(sigma=0.08 [0,1])".
  virtual std::string describe() const = 0;
};

/// Builds the distortion. `image_size` (shorter side of the images it will see) picks the constant
/// table when preset is "auto": ≤ 48 → 32 px (CIFAR-10-C), ≤ 144 → 64 px (Tiny-ImageNet-C), else
/// 224 px.
std::unique_ptr<Distortion> make_distortion(const DistortionSpec& spec, int image_size);

/// The seeded entry point: output depends only on (image, distortion, seed, sample id), never on
/// call order or threads (the rng is Rng(seed, {sample_id})).
cv::Mat apply_seeded(const Distortion& d, const cv::Mat& img, std::uint64_t seed,
                     std::int64_t sample_id);

}  // namespace isplitee::distort
