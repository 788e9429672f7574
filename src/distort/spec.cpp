// Distortion specs, labels and the registry of names and parameters (no image code).
#include "isplitee/distort/spec.hpp"

#include "isplitee/common/error.hpp"
#include "isplitee/common/text.hpp"

namespace isplitee::distort {
namespace {

ParamInfo num(std::string name, std::string units, double lo, double hi, std::string desc) {
  ParamInfo p;
  p.name = std::move(name);
  p.units = std::move(units);
  p.lo = lo;
  p.hi = hi;
  p.description = std::move(desc);
  return p;
}

ParamInfo opt(ParamInfo p) {
  p.required = false;
  return p;
}

ParamInfo choice(std::string name, std::vector<std::string> choices, std::string desc,
                 bool required) {
  ParamInfo p;
  p.name = std::move(name);
  p.choices = std::move(choices);
  p.description = std::move(desc);
  p.required = required;
  return p;
}

// The corruptions with a severity table, in display order. Their constant tables and kernels live
// with the image code (distortion.cpp), keyed by these names.
std::vector<DistortionInfo> make_infos() {
  std::vector<DistortionInfo> d;
  auto add = [&](std::string name, std::string group, std::string desc,
                 std::vector<ParamInfo> params) {
    DistortionInfo info;
    info.name = std::move(name);
    info.group = std::move(group);
    info.description = std::move(desc);
    info.has_severity = true;
    info.params = std::move(params);
    d.push_back(std::move(info));
  };
  add("gaussian_noise", "noise",
      "additive Gaussian noise x + N(0, sigma), clipped; severities use sigma on [0,1]; explicit "
      "params take sigma with units px (0-255, AdaEE levels 5..40) or unit ([0,1])",
      {num("sigma", "px or [0,1] (see units)", 0, 255, "noise standard deviation"),
       choice("units", {"px", "unit"}, "px: sigma on 0-255 pixels; unit: sigma on [0,1]", true)});
  add("shot_noise", "noise", "Poisson photon noise Poisson(x*photons)/photons",
      {num("photons", "photons at white", 0.1, 1e6, "photon count of a white pixel")});
  add("impulse_noise", "noise", "salt-and-pepper noise, each channel element independently",
      {num("amount", "fraction", 0, 1, "probability that an element flips to 0 or 1")});
  // --- blur ---
  add("defocus_blur", "blur", "anti-aliased disk (defocus) blur",
      {num("radius", "pixels", 0, 64, "disk radius"),
       num("alias_sigma", "pixels", 0, 10, "anti-alias Gaussian sigma")});
  add("glass_blur", "blur", "Gaussian blur, local pixel shuffling, Gaussian blur again",
      {num("sigma", "pixels", 0, 20, "blur sigma"),
       num("max_delta", "pixels", 1, 16, "shuffle distance"),
       num("iterations", "count", 1, 10, "shuffle sweeps")});
  add("motion_blur", "blur",
      "one-sided Gaussian motion blur at a random angle in [-45, 45) degrees",
      {num("radius", "pixels", 0, 64, "kernel radius (width 2r+1)"),
       num("sigma", "pixels", 0.01, 64, "Gaussian sigma")});
  add("zoom_blur", "blur", "mean of the image zoomed by arange(1, end, step)",
      {num("end", "zoom factor", 1, 3, "largest zoom (exclusive)"),
       num("step", "zoom factor", 0.001, 1, "zoom step")});
  // --- weather ---
  add("snow", "weather",
      "zoomed Gaussian snow layer, motion-blurred (own kernel), over a brightened image",
      {num("mean", "[0,1]", 0, 1, "snow layer mean"), num("std", "[0,1]", 0, 1, "snow layer std"),
       num("zoom", "factor", 1, 10, "layer zoom"),
       num("threshold", "[0,1]", 0, 1, "flake threshold"),
       num("blur_radius", "pixels", 0, 64, "motion blur radius"),
       num("blur_sigma", "pixels", 0.01, 64, "motion blur sigma"),
       num("blend", "fraction", 0, 1, "weight of the original image")});
  add("frost", "weather", "blend with a procedurally generated frost texture (see docs)",
      {num("image_weight", "fraction", 0, 2, "weight of the image"),
       num("frost_weight", "fraction", 0, 2, "weight of the frost"),
       opt(num("texture_scale", "factor", 0.05, 4,
               "frost feature scale (0.2 at 32 px, 0.3 at 64 px, 1 at 224 px)"))});
  add("fog", "weather", "diamond-square plasma fog",
      {num("amplitude", "[0,1]", 0, 10, "fog amplitude"),
       num("decay", "factor", 1, 10, "wibble decay per octave")});
  add("brightness", "weather", "adds delta to the HSV value channel",
      {num("delta", "[0,1]", -1, 1, "value shift")});
  // --- digital ---
  add("contrast", "digital", "scales the distance from the per-channel mean",
      {num("factor", "factor", 0, 10, "contrast factor")});
  add("elastic_transform", "digital",
      "random affine jitter plus a smooth random displacement field",
      {num("alpha", "pixels", 0, 10000, "displacement scale"),
       num("sigma", "pixels", 0, 1000, "field smoothness"),
       num("jitter", "pixels", 0, 1000, "affine corner jitter")});
  add("pixelate", "digital", "BOX down-scale by factor and BOX up-scale (PIL conventions)",
      {num("factor", "fraction", 0.01, 1, "down-scale factor")});
  add("jpeg_compression", "digital", "JPEG round trip at a quality (libjpeg via OpenCV)",
      {num("quality", "JPEG quality", 1, 100, "encoder quality")});
  // --- extra (validation) corruptions ---
  add("speckle_noise", "extra", "multiplicative noise x + x*N(0, sigma)",
      {num("sigma", "[0,1]", 0, 10, "noise standard deviation")});
  add("gaussian_blur", "extra",
      "Gaussian blur, sigma in pixels; kernel skimage (radius floor(4 sigma + 0.5), replicate "
      "borders) "
      "or adaee (size 4 sigma + 1 for sigma >= 1, else 5; reflect-101 borders)",
      {num("sigma", "pixels", 0.01, 100, "blur sigma"),
       choice("kernel", {"skimage", "adaee"}, "kernel size rule (default skimage)", false)});
  add("spatter", "extra", "water drops (mode 0) or mud (mode 1) spattered on the lens",
      {num("mean", "[0,1]", 0, 1, "liquid layer mean"),
       num("std", "[0,1]", 0, 1, "liquid layer std"),
       num("blur_sigma", "pixels", 0, 50, "liquid blur sigma"),
       num("threshold", "[0,1]", 0, 1, "liquid threshold"),
       num("intensity", "factor", 0, 50, "water tint strength / mud blur sigma"),
       num("mode", "0 water, 1 mud", 0, 1, "mode")});
  add("saturate", "extra", "scales and shifts the HSV saturation channel",
      {num("mul", "factor", 0, 100, "saturation factor"),
       num("add", "[0,1]", -1, 1, "saturation shift")});
  return d;
}

std::vector<std::string> all_names() {
  std::vector<std::string> names;
  for (const auto& i : builtin_distortions()) names.push_back(i.name);
  return names;
}

// Validates explicit params of `def` and returns them with optional defaults filled.
nlohmann::json check_params(const DistortionInfo& def, const nlohmann::json& params,
                            const config::Node& spec_node) {
  const config::Node p(params, spec_node.source(), spec_node.path_of("params"));
  nlohmann::json out = nlohmann::json::object();
  for (const auto& info : def.params) p.has(info.name);  // record every known name first, so that
  p.finish();                                            // a misspelt key is reported as such
  for (const auto& info : def.params) {
    if (!p.has(info.name)) {
      if (info.required)
        p.fail(info.name, "missing; " + def.name + " explicit params need " + info.name + " (" +
                              info.description + ")");
      continue;
    }
    if (!info.choices.empty())
      out[info.name] = p.choice(info.name, info.choices.front(), info.choices);
    else
      out[info.name] = p.number(info.name, /*def=*/info.lo, info.lo, info.hi);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& common_corruptions() {
  static const std::vector<std::string> n{"gaussian_noise",
                                          "shot_noise",
                                          "impulse_noise",
                                          "defocus_blur",
                                          "glass_blur",
                                          "motion_blur",
                                          "zoom_blur",
                                          "snow",
                                          "frost",
                                          "fog",
                                          "brightness",
                                          "contrast",
                                          "elastic_transform",
                                          "pixelate",
                                          "jpeg_compression"};
  return n;
}

const std::vector<std::string>& extra_corruptions() {
  static const std::vector<std::string> n{"speckle_noise", "gaussian_blur", "spatter", "saturate"};
  return n;
}

const std::vector<DistortionInfo>& builtin_distortions() {
  static const std::vector<DistortionInfo> list = [] {
    std::vector<DistortionInfo> l;
    DistortionInfo none;
    none.name = "none";
    none.group = "meta";
    none.description = "identity (the clean stream)";
    l.push_back(none);
    for (auto& i : make_infos()) l.push_back(std::move(i));
    DistortionInfo chain;
    chain.name = "chain";
    chain.group = "meta";
    chain.description = "applies params.steps (a list of distortion specs) in order with one rng";
    l.push_back(chain);
    return l;
  }();
  return list;
}

const DistortionInfo* find_distortion(const std::string& name) {
  for (const auto& i : builtin_distortions())
    if (i.name == name) return &i;
  return nullptr;
}

int resolve_preset(const std::string& preset, int image_size) {
  if (preset == "32") return 32;
  if (preset == "64") return 64;
  if (preset == "224") return 224;
  ISPLITEE_CHECK(preset == "auto", "distortion preset '", preset,
                 "' is not one of auto, 32, 64, 224");
  if (image_size <= 48) return 32;
  if (image_size <= 144) return 64;
  return 224;
}

DistortionSpec parse_distortion_spec(const config::Node& node) {
  DistortionSpec s;
  s.name = node.string("name", "none");
  const auto names = all_names();
  bool known = false;
  for (const auto& n : names) known = known || n == s.name;
  if (!known) {
    const std::string near = nearest_word(s.name, names);
    node.fail("name", "unknown distortion '" + s.name + "'" +
                          (near.empty() ? std::string() : "; did you mean '" + near + "'?") +
                          " (see `isplitee list`)");
  }
  s.severity = static_cast<int>(node.integer("severity", 0, 0, 5));
  s.preset = node.choice("preset", "auto", {"auto", "32", "64", "224"});
  const nlohmann::json& params = node.raw("params");
  if (!params.is_null() && !params.is_object())
    node.fail("params", "must be an object (got " + config::type_name(params) + ")");
  const bool has_params = params.is_object() && !params.empty();
  if (s.name == "none") {
    if (s.severity != 0 || has_params) node.fail("severity", "'none' takes no severity or params");
  } else if (s.name == "chain") {
    if (s.severity != 0) node.fail("severity", "'chain' takes no severity; give each step its own");
    const nlohmann::json chain_params =
        params.is_null() ? nlohmann::json::object() : params;  // Node keeps a pointer
    const config::Node p(chain_params, node.source(), node.path_of("params"));
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& step : p.objects("steps"))
      steps.push_back(to_json(parse_distortion_spec(step)));
    p.finish();
    if (steps.empty())
      node.fail("params", "'chain' needs params.steps, a non-empty list of distortion specs");
    s.params = nlohmann::json{{"steps", steps}};
  } else if (has_params) {
    if (s.severity != 0)
      node.fail("severity", "give either a severity (1-5) or explicit params, not both");
    s.params = check_params(*find_distortion(s.name), params, node);
  }
  node.finish();
  return s;
}

nlohmann::json to_json(const DistortionSpec& spec) {
  return nlohmann::json{{"name", spec.name},
                        {"severity", spec.severity},
                        {"preset", spec.preset},
                        {"params", spec.params.is_null() ? nlohmann::json::object() : spec.params}};
}

std::string label(const DistortionSpec& spec) {
  if (spec.name == "none") return "none";
  if (spec.name == "chain") {
    std::vector<std::string> parts;
    for (const auto& step : spec.params.at("steps")) {
      DistortionSpec s;
      s.name = step.value("name", "none");
      s.severity = step.value("severity", 0);
      s.preset = step.value("preset", "auto");
      s.params = step.value("params", nlohmann::json::object());
      parts.push_back(label(s));
    }
    return "chain(" + join(parts, "+") + ")";
  }
  const std::string preset = spec.preset == "auto" ? "" : "/" + spec.preset;
  if (spec.params.is_object() && !spec.params.empty()) {
    const DistortionInfo* def = find_distortion(spec.name);
    ISPLITEE_CHECK(def != nullptr, "unknown distortion '", spec.name, "'");
    if (spec.name == "gaussian_noise") {
      const bool px = spec.params.value("units", "px") == "px";
      return "gaussian_noise(sigma=" + format_number(spec.params.at("sigma").get<double>()) +
             (px ? "px" : "") + ")";
    }
    std::vector<std::string> parts;
    for (const auto& p : def->params) {
      if (!spec.params.contains(p.name)) continue;
      const auto& v = spec.params.at(p.name);
      parts.push_back(p.name + "=" +
                      (v.is_string() ? v.get<std::string>() : format_number(v.get<double>())));
    }
    return spec.name + "(" + join(parts, ",") + ")";
  }
  return spec.name + "@" + std::to_string(spec.severity) + preset;
}

}  // namespace isplitee::distort
