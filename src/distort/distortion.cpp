// Distortion registry, specs and labels (METHOD.md §7; constants: corruption-constants.md).
#include "isplitee/distort/distortion.hpp"

#include <array>
#include <cmath>
#include <functional>
#include <map>
#include <sstream>

#include "corruptions.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/text.hpp"

namespace isplitee::distort {
namespace {

using Values = std::vector<double>;
using Table = std::vector<Values>;  // index = severity − 1

/// Everything a corruption kernel may need besides its numeric values.
struct Context {
  int preset = 224;
  std::map<std::string, std::string> choices;  // string parameters (units, kernel)
};

using Kernel =
    std::function<cv::Mat(const cv::Mat& x, const Values& v, const Context& ctx, Rng& rng)>;

/// One registry entry: metadata, the three constant tables (32, 64, 224 px) and the kernel.
struct Def {
  DistortionInfo info;
  std::array<Table, 3> tables;  // 32, 64, 224
  Kernel kernel;
};

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

int preset_index(int preset) { return preset == 32 ? 0 : preset == 64 ? 1 : 2; }

Table rows(std::initializer_list<Values> v) { return Table(v); }
Table scalars(std::initializer_list<double> v) {
  Table t;
  for (double x : v) t.push_back({x});
  return t;
}

std::vector<Def> make_defs() {
  using namespace detail;
  std::vector<Def> d;
  auto add = [&](std::string name, std::string group, std::string desc,
                 std::vector<ParamInfo> params, std::array<Table, 3> tables, Kernel k) {
    Def def;
    def.info.name = std::move(name);
    def.info.group = std::move(group);
    def.info.description = std::move(desc);
    def.info.has_severity = true;
    def.info.params = std::move(params);
    def.tables = std::move(tables);
    def.kernel = std::move(k);
    d.push_back(std::move(def));
  };
  // --- noise ---
  add("gaussian_noise", "noise",
      "additive Gaussian noise x + N(0, sigma), clipped; severities use sigma on [0,1]; explicit "
      "params take sigma with units px (0-255, AdaEE levels 5..40) or unit ([0,1])",
      {num("sigma", "px or [0,1] (see units)", 0, 255, "noise standard deviation"),
       choice("units", {"px", "unit"}, "px: sigma on 0-255 pixels; unit: sigma on [0,1]", true)},
      {scalars({.04, .06, .08, .09, .10}), scalars({.04, .08, .12, .15, .18}),
       scalars({.08, .12, .18, .26, .38})},
      [](const cv::Mat& x, const Values& v, const Context& c, Rng& rng) {
        const auto it = c.choices.find("units");
        const double sigma = (it != c.choices.end() && it->second == "px") ? v[0] / 255.0 : v[0];
        return gaussian_noise(x, sigma, rng);
      });
  add("shot_noise", "noise", "Poisson photon noise Poisson(x*photons)/photons",
      {num("photons", "photons at white", 0.1, 1e6, "photon count of a white pixel")},
      {scalars({500, 250, 100, 75, 50}), scalars({250, 100, 50, 30, 15}),
       scalars({60, 25, 12, 5, 3})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return shot_noise(x, v[0], rng);
      });
  add("impulse_noise", "noise", "salt-and-pepper noise, each channel element independently",
      {num("amount", "fraction", 0, 1, "probability that an element flips to 0 or 1")},
      {scalars({.01, .02, .03, .05, .07}), scalars({.01, .02, .05, .08, .14}),
       scalars({.03, .06, .09, .17, .27})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return impulse_noise(x, v[0], rng);
      });
  // --- blur ---
  add("defocus_blur", "blur", "anti-aliased disk (defocus) blur",
      {num("radius", "pixels", 0, 64, "disk radius"),
       num("alias_sigma", "pixels", 0, 10, "anti-alias Gaussian sigma")},
      {rows({{.3, .4}, {.4, .5}, {.5, .6}, {1, .2}, {1.5, .1}}),
       rows({{.5, .6}, {1, .1}, {1.5, .1}, {2.5, .01}, {3, .1}}),
       rows({{3, .1}, {4, .5}, {6, .5}, {8, .5}, {10, .5}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) {
        return defocus_blur(x, v[0], v[1]);
      });
  add("glass_blur", "blur", "Gaussian blur, local pixel shuffling, Gaussian blur again",
      {num("sigma", "pixels", 0, 20, "blur sigma"),
       num("max_delta", "pixels", 1, 16, "shuffle distance"),
       num("iterations", "count", 1, 10, "shuffle sweeps")},
      {rows({{.05, 1, 1}, {.25, 1, 1}, {.4, 1, 1}, {.25, 1, 2}, {.4, 1, 2}}),
       rows({{.1, 1, 1}, {.5, 1, 1}, {.6, 1, 2}, {.7, 2, 1}, {.9, 2, 2}}),
       rows({{.7, 1, 2}, {.9, 2, 1}, {1, 2, 3}, {1.1, 3, 2}, {1.5, 4, 2}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return glass_blur(x, v[0], static_cast<int>(v[1]), static_cast<int>(v[2]), rng);
      });
  add("motion_blur", "blur",
      "one-sided Gaussian motion blur at a random angle in [-45, 45) degrees",
      {num("radius", "pixels", 0, 64, "kernel radius (width 2r+1)"),
       num("sigma", "pixels", 0.01, 64, "Gaussian sigma")},
      {rows({{6, 1}, {6, 1.5}, {6, 2}, {8, 2}, {9, 2.5}}),
       rows({{10, 1}, {10, 1.5}, {10, 2}, {10, 2.5}, {12, 3}}),
       rows({{10, 3}, {15, 5}, {15, 8}, {15, 12}, {20, 15}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return motion_blur(x, v[0], v[1], rng);
      });
  add("zoom_blur", "blur", "mean of the image zoomed by arange(1, end, step)",
      {num("end", "zoom factor", 1, 3, "largest zoom (exclusive)"),
       num("step", "zoom factor", 0.001, 1, "zoom step")},
      {rows({{1.06, .01}, {1.11, .01}, {1.16, .01}, {1.21, .01}, {1.26, .01}}),
       rows({{1.06, .01}, {1.11, .01}, {1.16, .01}, {1.21, .01}, {1.26, .01}}),
       rows({{1.11, .01}, {1.16, .01}, {1.21, .02}, {1.26, .02}, {1.31, .03}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) {
        return zoom_blur(x, v[0], v[1]);
      });
  // --- weather ---
  add("snow", "weather",
      "zoomed Gaussian snow layer, motion-blurred (own kernel), over a brightened image",
      {num("mean", "[0,1]", 0, 1, "snow layer mean"), num("std", "[0,1]", 0, 1, "snow layer std"),
       num("zoom", "factor", 1, 10, "layer zoom"),
       num("threshold", "[0,1]", 0, 1, "flake threshold"),
       num("blur_radius", "pixels", 0, 64, "motion blur radius"),
       num("blur_sigma", "pixels", 0.01, 64, "motion blur sigma"),
       num("blend", "fraction", 0, 1, "weight of the original image")},
      {rows({{.1, .2, 1, .6, 8, 3, .95},
             {.1, .2, 1, .5, 10, 4, .9},
             {.15, .3, 1.75, .55, 10, 4, .9},
             {.25, .3, 2.25, .6, 12, 6, .85},
             {.3, .3, 1.25, .65, 14, 12, .8}}),
       rows({{.1, .2, 1, .6, 8, 3, .8},
             {.1, .2, 1, .5, 10, 4, .8},
             {.15, .3, 1.75, .55, 10, 4, .7},
             {.25, .3, 2.25, .6, 12, 6, .65},
             {.3, .3, 1.25, .65, 14, 12, .6}}),
       rows({{.1, .3, 3, .5, 10, 4, .8},
             {.2, .3, 2, .5, 12, 4, .7},
             {.55, .3, 4, .9, 12, 8, .7},
             {.55, .3, 4.5, .85, 12, 8, .65},
             {.55, .3, 2.5, .85, 12, 12, .55}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) { return snow(x, v, rng); });
  add("frost", "weather", "blend with a procedurally generated frost texture (see docs)",
      {num("image_weight", "fraction", 0, 2, "weight of the image"),
       num("frost_weight", "fraction", 0, 2, "weight of the frost"),
       opt(num("texture_scale", "factor", 0.05, 4,
               "frost feature scale (0.2 at 32 px, 0.3 at 64 px, 1 at 224 px)"))},
      {rows({{1, .2, .2}, {1, .3, .2}, {.9, .4, .2}, {.85, .4, .2}, {.75, .45, .2}}),
       rows({{1, .3, .3}, {.9, .4, .3}, {.8, .45, .3}, {.75, .5, .3}, {.7, .55, .3}}),
       rows({{1, .4, 1}, {.8, .6, 1}, {.7, .7, 1}, {.65, .7, 1}, {.6, .75, 1}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return frost(x, v[0], v[1], v.size() > 2 ? v[2] : 1.0, rng);
      });
  add("fog", "weather", "diamond-square plasma fog",
      {num("amplitude", "[0,1]", 0, 10, "fog amplitude"),
       num("decay", "factor", 1, 10, "wibble decay per octave")},
      {rows({{.2, 3}, {.5, 3}, {.75, 2.5}, {1, 2}, {1.5, 1.75}}),
       rows({{.4, 3}, {.7, 3}, {1, 2.5}, {1.5, 2}, {2, 1.75}}),
       rows({{1.5, 2}, {2, 2}, {2.5, 1.7}, {2.5, 1.5}, {3, 1.4}})},
      [](const cv::Mat& x, const Values& v, const Context& c, Rng& rng) {
        int map = c.preset == 224 ? 256 : c.preset;
        while (map < std::max(x.rows, x.cols)) map *= 2;
        return fog(x, v[0], v[1], map, rng);
      });
  add("brightness", "weather", "adds delta to the HSV value channel",
      {num("delta", "[0,1]", -1, 1, "value shift")},
      {scalars({.05, .1, .15, .2, .3}), scalars({.1, .2, .3, .4, .5}),
       scalars({.1, .2, .3, .4, .5})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) { return brightness(x, v[0]); });
  // --- digital ---
  add("contrast", "digital", "scales the distance from the per-channel mean",
      {num("factor", "factor", 0, 10, "contrast factor")},
      {scalars({.75, .5, .4, .3, .15}), scalars({.4, .3, .2, .1, .05}),
       scalars({.4, .3, .2, .1, .05})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) { return contrast(x, v[0]); });
  add("elastic_transform", "digital",
      "random affine jitter plus a smooth random displacement field",
      {num("alpha", "pixels", 0, 10000, "displacement scale"),
       num("sigma", "pixels", 0, 1000, "field smoothness"),
       num("jitter", "pixels", 0, 1000, "affine corner jitter")},
      // Table values are fractions of IMSIZE (32, 64, and 244 — sic — for the 224-px table); they
      // are multiplied by IMSIZE × (image side / preset side) when the distortion is built.
      {rows({{0, 0, .08}, {.05, .2, .07}, {.08, .06, .06}, {.1, .04, .05}, {.1, .03, .03}}),
       rows({{0, 0, .08}, {.05, .3, .06}, {.1, .08, .06}, {.1, .03, .03}, {.16, .03, .02}}),
       rows({{2, .7, .1}, {2, .08, .2}, {.05, .01, .02}, {.07, .01, .02}, {.12, .01, .02}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return elastic_transform(x, v[0], v[1], v[2], rng);
      });
  add("pixelate", "digital", "BOX down-scale by factor and BOX up-scale (PIL conventions)",
      {num("factor", "fraction", 0.01, 1, "down-scale factor")},
      {scalars({.95, .9, .85, .75, .65}), scalars({.9, .8, .7, .6, .5}),
       scalars({.6, .5, .4, .3, .25})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) {
        return pixelate(x, v[0], false);
      });
  add("jpeg_compression", "digital", "JPEG round trip at a quality (libjpeg via OpenCV)",
      {num("quality", "JPEG quality", 1, 100, "encoder quality")},
      {scalars({80, 65, 58, 50, 40}), scalars({65, 58, 50, 40, 25}), scalars({25, 18, 15, 10, 7})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) {
        return jpeg_compression(x, static_cast<int>(v[0]));
      });
  // --- extra (validation) corruptions ---
  add("speckle_noise", "extra", "multiplicative noise x + x*N(0, sigma)",
      {num("sigma", "[0,1]", 0, 10, "noise standard deviation")},
      {scalars({.06, .1, .12, .16, .2}), scalars({.15, .2, .25, .3, .35}),
       scalars({.15, .2, .35, .45, .6})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return speckle_noise(x, v[0], rng);
      });
  add("gaussian_blur", "extra",
      "Gaussian blur, sigma in pixels; kernel skimage (radius floor(4 sigma + 0.5), replicate "
      "borders) "
      "or adaee (size 4 sigma + 1 for sigma >= 1, else 5; reflect-101 borders)",
      {num("sigma", "pixels", 0.01, 100, "blur sigma"),
       choice("kernel", {"skimage", "adaee"}, "kernel size rule (default skimage)", false)},
      {scalars({.4, .6, .7, .8, 1}), scalars({.5, .75, 1, 1.25, 1.5}), scalars({1, 2, 3, 4, 6})},
      [](const cv::Mat& x, const Values& v, const Context& c, Rng&) {
        const auto it = c.choices.find("kernel");
        if (it != c.choices.end() && it->second == "adaee") return gaussian_blur_adaee(x, v[0]);
        return gaussian_blur(x, v[0]);
      });
  add("spatter", "extra", "water drops (mode 0) or mud (mode 1) spattered on the lens",
      {num("mean", "[0,1]", 0, 1, "liquid layer mean"),
       num("std", "[0,1]", 0, 1, "liquid layer std"),
       num("blur_sigma", "pixels", 0, 50, "liquid blur sigma"),
       num("threshold", "[0,1]", 0, 1, "liquid threshold"),
       num("intensity", "factor", 0, 50, "water tint strength / mud blur sigma"),
       num("mode", "0 water, 1 mud", 0, 1, "mode")},
      {rows({{.62, .1, .7, .7, .5, 0},
             {.65, .1, .8, .7, .5, 0},
             {.65, .3, 1, .69, .5, 0},
             {.65, .1, .7, .69, .6, 1},
             {.65, .1, .5, .68, .6, 1}}),
       rows({{.62, .1, .7, .7, .6, 0},
             {.65, .1, .8, .7, .6, 0},
             {.65, .3, 1, .69, .6, 0},
             {.65, .1, .7, .68, .6, 1},
             {.65, .1, .5, .67, .6, 1}}),
       rows({{.65, .3, 4, .69, .6, 0},
             {.65, .3, 3, .68, .6, 0},
             {.65, .3, 2, .68, .5, 0},
             {.65, .3, 1, .65, 1.5, 1},
             {.67, .4, 1, .65, 1.5, 1}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return spatter(x, v, rng);
      });
  add("saturate", "extra", "scales and shifts the HSV saturation channel",
      {num("mul", "factor", 0, 100, "saturation factor"),
       num("add", "[0,1]", -1, 1, "saturation shift")},
      {rows({{.3, 0}, {.1, 0}, {1.5, 0}, {2, .1}, {2.5, .2}}),
       rows({{.3, 0}, {.1, 0}, {2, 0}, {5, .1}, {30, .2}}),
       rows({{.3, 0}, {.1, 0}, {2, 0}, {5, .1}, {20, .2}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) {
        return saturate(x, v[0], v[1]);
      });
  return d;
}

const std::vector<Def>& defs() {
  static const std::vector<Def> d = make_defs();
  return d;
}

const Def* find_def(const std::string& name) {
  for (const auto& d : defs())
    if (d.info.name == name) return &d;
  return nullptr;
}

std::vector<std::string> all_names() {
  std::vector<std::string> names;
  for (const auto& i : builtin_distortions()) names.push_back(i.name);
  return names;
}

void check_image(const cv::Mat& src, const std::string& who) {
  ISPLITEE_CHECK(
      !src.empty() && src.depth() == CV_8U && (src.channels() == 1 || src.channels() == 3), who,
      ": expects a uint8 image with 1 or 3 channels (got type ", src.type(), ")");
  ISPLITEE_CHECK(src.rows >= 8 && src.cols >= 8, who, ": image is ", src.cols, "x", src.rows,
                 "; distortions need at least 8x8 pixels");
}

class NoneDistortion final : public Distortion {
 public:
  cv::Mat apply(const cv::Mat& src, Rng&) const override { return src.clone(); }
  std::string describe() const override { return "none"; }
};

/// A corruption with resolved numeric values (from a severity table or explicit params).
class TableDistortion final : public Distortion {
 public:
  TableDistortion(const Def& def, Values values, Context ctx, std::string origin)
      : def_(def), values_(std::move(values)), ctx_(std::move(ctx)), origin_(std::move(origin)) {}

  cv::Mat apply(const cv::Mat& src, Rng& rng) const override {
    check_image(src, def_.info.name);
    const cv::Mat x = detail::to_float(src);
    cv::Mat y = def_.kernel(x, values_, ctx_, rng);
    ISPLITEE_ASSERT(y.size() == x.size() && y.channels() == x.channels(), "distortion ",
                    def_.info.name);
    return detail::to_u8(y);  // clips to [0,1] and rounds
  }

  std::string describe() const override {
    std::ostringstream os;
    os << def_.info.name << "(";
    std::size_t vi = 0;
    bool first = true;
    for (const auto& p : def_.info.params) {
      if (!first) os << ", ";
      if (!p.choices.empty()) {
        const auto it = ctx_.choices.find(p.name);
        os << p.name << "=" << (it == ctx_.choices.end() ? std::string("default") : it->second);
      } else if (vi < values_.size()) {
        os << p.name << "=" << format_number(values_[vi++]) << " [" << p.units << "]";
      }
      first = false;
    }
    os << ")";
    if (!origin_.empty()) os << " " << origin_;
    return os.str();
  }

 private:
  const Def& def_;
  Values values_;
  Context ctx_;
  std::string origin_;
};

class ChainDistortion final : public Distortion {
 public:
  explicit ChainDistortion(std::vector<std::unique_ptr<Distortion>> steps)
      : steps_(std::move(steps)) {}
  cv::Mat apply(const cv::Mat& src, Rng& rng) const override {
    cv::Mat x = src.clone();
    for (const auto& s : steps_) x = s->apply(x, rng);
    return x;
  }
  std::string describe() const override {
    std::vector<std::string> parts;
    for (const auto& s : steps_) parts.push_back(s->describe());
    return "chain(" + join(parts, " -> ") + ")";
  }

 private:
  std::vector<std::unique_ptr<Distortion>> steps_;
};

// Validates explicit params of `def` and returns them with optional defaults filled.
nlohmann::json check_params(const Def& def, const nlohmann::json& params,
                            const config::Node& spec_node) {
  const config::Node p(params, spec_node.source(), spec_node.path_of("params"));
  nlohmann::json out = nlohmann::json::object();
  for (const auto& info : def.info.params)
    p.has(info.name);  // record every known name first, so that
  p.finish();          // a misspelt key is reported as such
  for (const auto& info : def.info.params) {
    if (!p.has(info.name)) {
      if (info.required)
        p.fail(info.name, "missing; " + def.info.name + " explicit params need " + info.name +
                              " (" + info.description + ")");
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
    for (const auto& d : defs()) l.push_back(d.info);
    DistortionInfo chain;
    chain.name = "chain";
    chain.group = "meta";
    chain.description = "applies params.steps (a list of distortion specs) in order with one rng";
    l.push_back(chain);
    return l;
  }();
  return list;
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
    s.params = check_params(*find_def(s.name), params, node);
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
    const Def* def = find_def(spec.name);
    ISPLITEE_CHECK(def != nullptr, "unknown distortion '", spec.name, "'");
    if (spec.name == "gaussian_noise") {
      const bool px = spec.params.value("units", "px") == "px";
      return "gaussian_noise(sigma=" + format_number(spec.params.at("sigma").get<double>()) +
             (px ? "px" : "") + ")";
    }
    std::vector<std::string> parts;
    for (const auto& p : def->info.params) {
      if (!spec.params.contains(p.name)) continue;
      const auto& v = spec.params.at(p.name);
      parts.push_back(p.name + "=" +
                      (v.is_string() ? v.get<std::string>() : format_number(v.get<double>())));
    }
    return spec.name + "(" + join(parts, ",") + ")";
  }
  return spec.name + "@" + std::to_string(spec.severity) + preset;
}

std::unique_ptr<Distortion> make_distortion(const DistortionSpec& spec, int image_size) {
  if (spec.name == "none") return std::make_unique<NoneDistortion>();
  if (spec.name == "chain") {
    std::vector<std::unique_ptr<Distortion>> steps;
    for (const auto& step : spec.params.at("steps")) {
      const config::Document doc = config::Document::from_json(step, "chain step");
      steps.push_back(make_distortion(parse_distortion_spec(config::Node(doc)), image_size));
    }
    return std::make_unique<ChainDistortion>(std::move(steps));
  }
  const Def* def = find_def(spec.name);
  ISPLITEE_CHECK(def != nullptr, "unknown distortion '", spec.name, "' (see `isplitee list`)");
  ISPLITEE_CHECK(spec.severity >= 0 && spec.severity <= 5, "distortion ", spec.name, ": severity ",
                 spec.severity, " is outside 0..5");
  const int preset = resolve_preset(spec.preset, image_size);
  Context ctx;
  ctx.preset = preset;
  Values values;
  std::string origin;
  const bool explicit_params = spec.params.is_object() && !spec.params.empty();
  if (explicit_params) {
    for (const auto& p : def->info.params) {
      if (!spec.params.contains(p.name)) continue;
      const auto& v = spec.params.at(p.name);
      if (!p.choices.empty())
        ctx.choices[p.name] = v.get<std::string>();
      else
        values.push_back(v.get<double>());
    }
  } else {
    if (spec.severity == 0)
      return std::make_unique<NoneDistortion>();  // severity 0 is the identity
    values = def->tables[static_cast<std::size_t>(preset_index(preset))]
                        [static_cast<std::size_t>(spec.severity - 1)];
    origin = "[" + std::to_string(preset) + "-px severity " + std::to_string(spec.severity) + "]";
    if (spec.name == "gaussian_noise") ctx.choices["units"] = "unit";
    if (spec.name == "elastic_transform") {
      // Constants are fractions of IMSIZE (244 in the 224-px script); scale to the actual image.
      const double imsize = preset == 224 ? 244.0 : preset;
      const double scale =
          imsize * (image_size > 0 ? static_cast<double>(image_size) / preset : 1.0);
      for (auto& v : values) v *= scale;
    }
  }
  return std::make_unique<TableDistortion>(*def, std::move(values), std::move(ctx),
                                           std::move(origin));
}

cv::Mat apply_seeded(const Distortion& d, const cv::Mat& img, std::uint64_t seed,
                     std::int64_t sample_id) {
  Rng rng(seed, {static_cast<std::uint64_t>(sample_id)});
  return d.apply(img, rng);
}

}  // namespace isplitee::distort
