#pragma once
// Private to src/distort: the corruption kernels. Every function takes a float image on [0,1]
// (CV_32FC1 or CV_32FC3, RGB), never modifies it, and returns a float image of the same size
// (the caller clips and converts back to uint8). Parameters follow the public ImageNet-C
// generation scripts (docs/method.md §9).

#include <vector>

#include <opencv2/core.hpp>

#include "isplitee/common/rng.hpp"

namespace isplitee::distort::detail {

/// uint8 (1 or 3 channels) → float on [0,1].
cv::Mat to_float(const cv::Mat& u8);
/// float → uint8 with clipping to [0,1] and rounding to the nearest level.
cv::Mat to_u8(const cv::Mat& f);
/// skimage.filters.gaussian: per channel, radius ⌊truncate·σ + 0.5⌋, the given OpenCV border.
cv::Mat gaussian_sk(const cv::Mat& f, double sigma, int border, double truncate = 4.0);
/// scipy-style clipped zoom: zoom the center 1/z crop by z (bilinear) back to the image size.
cv::Mat clipped_zoom(const cv::Mat& f, double z);
/// The one-sided Gaussian-weighted motion-blur kernel (ImageMagick -motion-blur semantics), applied
/// with replicated borders.
cv::Mat motion_blur_kernel_apply(const cv::Mat& f, double radius, double sigma, double angle_deg);
/// Diamond-square plasma fractal (mapsize a power of two), normalised to [0,1].
cv::Mat plasma_fractal(int mapsize, double wibble_decay, Rng& rng);
/// PIL-compatible BOX resampling (separable, PIL's support and centre conventions).
cv::Mat pil_box_resize(const cv::Mat& f, int out_w, int out_h);
/// Procedural frost texture in 0–255 (float, 3 channels, RGB), `h`×`w` at feature scale `scale`.
cv::Mat frost_texture(int h, int w, double scale, Rng& rng);

cv::Mat gaussian_noise(const cv::Mat& x, double sigma, Rng& rng);
cv::Mat shot_noise(const cv::Mat& x, double photons, Rng& rng);
cv::Mat impulse_noise(const cv::Mat& x, double amount, Rng& rng);
cv::Mat speckle_noise(const cv::Mat& x, double sigma, Rng& rng);
cv::Mat gaussian_blur(const cv::Mat& x, double sigma);
cv::Mat gaussian_blur_adaee(const cv::Mat& x, double sigma);
cv::Mat glass_blur(const cv::Mat& x, double sigma, int max_delta, int iterations, Rng& rng);
cv::Mat defocus_blur(const cv::Mat& x, double radius, double alias_sigma);
cv::Mat motion_blur(const cv::Mat& x, double radius, double sigma, Rng& rng);
cv::Mat zoom_blur(const cv::Mat& x, double end, double step);
cv::Mat snow(const cv::Mat& x, const std::vector<double>& c, Rng& rng);
cv::Mat frost(const cv::Mat& x, double img_w, double frost_w, double texture_scale, Rng& rng);
cv::Mat fog(const cv::Mat& x, double amplitude, double decay, int mapsize, Rng& rng);
cv::Mat brightness(const cv::Mat& x, double delta);
cv::Mat contrast(const cv::Mat& x, double factor);
cv::Mat saturate(const cv::Mat& x, double mul, double add);
cv::Mat jpeg_compression(const cv::Mat& x, int quality);
cv::Mat pixelate(const cv::Mat& x, double factor, bool nearest_up);
cv::Mat elastic_transform(const cv::Mat& x, double alpha, double sigma, double jitter, Rng& rng);
cv::Mat spatter(const cv::Mat& x, const std::vector<double>& c, Rng& rng);

}  // namespace isplitee::distort::detail
