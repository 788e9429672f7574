#pragma once
/// \file Image distortions: the paper's noise and blur with explicit units, the 15 + 4 ImageNet-C
/// corruptions at severities 1–5 (METHOD.md §7, corruption-constants.md), chains and `none`.
/// OpenCV only (no LibTorch). Every distortion is a pure function of (image, parameters, rng).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include "isplitee/common/rng.hpp"
#include "isplitee/config/node.hpp"

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

/// What a config asks for: a registry name, an ImageNet-C severity (0 = identity, 1–5) with its
/// constant table (`preset`), or explicit parameters (`params`, checked strictly per distortion).
struct DistortionSpec {
  std::string name = "none";    ///< a name from builtin_distortions()
  int severity = 0;             ///< 0..5 (ImageNet-C tables); 0 with params = explicit
  std::string preset = "auto";  ///< auto | 32 | 64 | 224 (auto: by image size)
  nlohmann::json params =
      nlohmann::json::object();  ///< explicit parameters (see builtin_distortions())
};

/// Parses {"name", "severity", "preset", "params"} strictly; params are validated against the
/// distortion's parameter list (unknown names and out-of-range values are errors naming the key).
DistortionSpec parse_distortion_spec(const config::Node& node);
/// Every field with defaults filled; re-parses to the same values.
nlohmann::json to_json(const DistortionSpec& spec);
/// A stable short name for traces and streams: "none", "gaussian_noise@3", "gaussian_noise@3/32",
/// "gaussian_noise(sigma=20px)", "chain(a@1+b@2)". The preset appears only when not "auto".
std::string label(const DistortionSpec& spec);

/// Builds the distortion. `image_size` (shorter side of the images it will see) picks the constant
/// table when preset is "auto": ≤ 48 → 32 px (CIFAR-10-C), ≤ 144 → 64 px (Tiny-ImageNet-C), else
/// 224 px.
std::unique_ptr<Distortion> make_distortion(const DistortionSpec& spec, int image_size);

/// The seeded entry point: output depends only on (image, distortion, seed, sample id), never on
/// call order or threads (the rng is Rng(seed, {sample_id})).
cv::Mat apply_seeded(const Distortion& d, const cv::Mat& img, std::uint64_t seed,
                     std::int64_t sample_id);

/// One parameter of a distortion, for `isplitee list` and validation.
struct ParamInfo {
  std::string name;                  ///< key in "params"
  std::string units;                 ///< e.g. "px (0-255)", "[0,1]", "pixels"
  double lo = 0, hi = 0;             ///< valid range (inclusive) of a numeric parameter
  std::string description;           ///< one line
  std::vector<std::string> choices;  ///< non-empty: a string parameter taking one of these
  bool required = true;              ///< must be given whenever explicit params are used
};

/// One registry entry.
struct DistortionInfo {
  std::string name;               ///< e.g. "glass_blur"
  std::string group;              ///< noise | blur | weather | digital | extra | paper | meta
  std::string description;        ///< one line
  bool has_severity = false;      ///< accepts severity 1–5 (ImageNet-C tables)
  std::vector<ParamInfo> params;  ///< explicit parameters (may be empty)
};

/// Every built-in distortion, in display order (an explicit list: DESIGN.md style rule 2).
const std::vector<DistortionInfo>& builtin_distortions();

/// The 15 common ImageNet-C corruption names, in the standard order.
const std::vector<std::string>& common_corruptions();
/// The 4 extra ("validation") corruptions: speckle_noise, gaussian_blur, spatter, saturate.
const std::vector<std::string>& extra_corruptions();

/// The preset (32, 64 or 224) used for `preset` ("auto" picks by image_size as in make_distortion).
int resolve_preset(const std::string& preset, int image_size);

}  // namespace isplitee::distort
