#pragma once
/// \file What a config says about distortions, without any image code: the spec of one
/// distortion, its parsing and label, and the registry of names and parameters. Needs no OpenCV,
/// so every config can be parsed and listed in a build without vision.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"

namespace isplitee::distort {

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

/// Every built-in distortion, in display order (an explicit list: one entry per distortion).
const std::vector<DistortionInfo>& builtin_distortions();

/// The registry entry named `name`, or nullptr when there is none.
const DistortionInfo* find_distortion(const std::string& name);

/// The 15 common ImageNet-C corruption names, in the standard order.
const std::vector<std::string>& common_corruptions();
/// The 4 extra ("validation") corruptions: speckle_noise, gaussian_blur, spatter, saturate.
const std::vector<std::string>& extra_corruptions();

/// The preset (32, 64 or 224) used for `preset` ("auto" picks by image_size as in make_distortion).
int resolve_preset(const std::string& preset, int image_size);

}  // namespace isplitee::distort
