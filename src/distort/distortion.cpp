// Distortion kernels and their constant tables (constants: the public ImageNet-C generation
// scripts, docs/method.md §9).
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

/// One corruption: its registry entry (spec.cpp), the three constant tables (32, 64, 224 px) and
/// the kernel.
struct Def {
  const DistortionInfo* info = nullptr;
  std::array<Table, 3> tables;  // 32, 64, 224
  Kernel kernel;
};

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
  auto add = [&](const std::string& name, std::array<Table, 3> tables, Kernel k) {
    Def def;
    def.info = find_distortion(name);
    ISPLITEE_ASSERT(def.info != nullptr && def.info->has_severity, "distortion kernel '", name,
                    "' has no registry entry in spec.cpp");
    def.tables = std::move(tables);
    def.kernel = std::move(k);
    d.push_back(std::move(def));
  };
  // --- noise ---
  add("gaussian_noise",
      {scalars({.04, .06, .08, .09, .10}), scalars({.04, .08, .12, .15, .18}),
       scalars({.08, .12, .18, .26, .38})},
      [](const cv::Mat& x, const Values& v, const Context& c, Rng& rng) {
        const auto it = c.choices.find("units");
        const double sigma = (it != c.choices.end() && it->second == "px") ? v[0] / 255.0 : v[0];
        return gaussian_noise(x, sigma, rng);
      });
  add("shot_noise",
      {scalars({500, 250, 100, 75, 50}), scalars({250, 100, 50, 30, 15}),
       scalars({60, 25, 12, 5, 3})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return shot_noise(x, v[0], rng);
      });
  add("impulse_noise",
      {scalars({.01, .02, .03, .05, .07}), scalars({.01, .02, .05, .08, .14}),
       scalars({.03, .06, .09, .17, .27})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return impulse_noise(x, v[0], rng);
      });
  // --- blur ---
  add("defocus_blur",
      {rows({{.3, .4}, {.4, .5}, {.5, .6}, {1, .2}, {1.5, .1}}),
       rows({{.5, .6}, {1, .1}, {1.5, .1}, {2.5, .01}, {3, .1}}),
       rows({{3, .1}, {4, .5}, {6, .5}, {8, .5}, {10, .5}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) {
        return defocus_blur(x, v[0], v[1]);
      });
  add("glass_blur",
      {rows({{.05, 1, 1}, {.25, 1, 1}, {.4, 1, 1}, {.25, 1, 2}, {.4, 1, 2}}),
       rows({{.1, 1, 1}, {.5, 1, 1}, {.6, 1, 2}, {.7, 2, 1}, {.9, 2, 2}}),
       rows({{.7, 1, 2}, {.9, 2, 1}, {1, 2, 3}, {1.1, 3, 2}, {1.5, 4, 2}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return glass_blur(x, v[0], static_cast<int>(v[1]), static_cast<int>(v[2]), rng);
      });
  add("motion_blur",
      {rows({{6, 1}, {6, 1.5}, {6, 2}, {8, 2}, {9, 2.5}}),
       rows({{10, 1}, {10, 1.5}, {10, 2}, {10, 2.5}, {12, 3}}),
       rows({{10, 3}, {15, 5}, {15, 8}, {15, 12}, {20, 15}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return motion_blur(x, v[0], v[1], rng);
      });
  add("zoom_blur",
      {rows({{1.06, .01}, {1.11, .01}, {1.16, .01}, {1.21, .01}, {1.26, .01}}),
       rows({{1.06, .01}, {1.11, .01}, {1.16, .01}, {1.21, .01}, {1.26, .01}}),
       rows({{1.11, .01}, {1.16, .01}, {1.21, .02}, {1.26, .02}, {1.31, .03}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) {
        return zoom_blur(x, v[0], v[1]);
      });
  // --- weather ---
  add("snow",
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
  add("frost",
      {rows({{1, .2, .2}, {1, .3, .2}, {.9, .4, .2}, {.85, .4, .2}, {.75, .45, .2}}),
       rows({{1, .3, .3}, {.9, .4, .3}, {.8, .45, .3}, {.75, .5, .3}, {.7, .55, .3}}),
       rows({{1, .4, 1}, {.8, .6, 1}, {.7, .7, 1}, {.65, .7, 1}, {.6, .75, 1}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return frost(x, v[0], v[1], v.size() > 2 ? v[2] : 1.0, rng);
      });
  add("fog",
      {rows({{.2, 3}, {.5, 3}, {.75, 2.5}, {1, 2}, {1.5, 1.75}}),
       rows({{.4, 3}, {.7, 3}, {1, 2.5}, {1.5, 2}, {2, 1.75}}),
       rows({{1.5, 2}, {2, 2}, {2.5, 1.7}, {2.5, 1.5}, {3, 1.4}})},
      [](const cv::Mat& x, const Values& v, const Context& c, Rng& rng) {
        int map = c.preset == 224 ? 256 : c.preset;
        while (map < std::max(x.rows, x.cols)) map *= 2;
        return fog(x, v[0], v[1], map, rng);
      });
  add("brightness",
      {scalars({.05, .1, .15, .2, .3}), scalars({.1, .2, .3, .4, .5}),
       scalars({.1, .2, .3, .4, .5})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) { return brightness(x, v[0]); });
  // --- digital ---
  add("contrast",
      {scalars({.75, .5, .4, .3, .15}), scalars({.4, .3, .2, .1, .05}),
       scalars({.4, .3, .2, .1, .05})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) { return contrast(x, v[0]); });
  add("elastic_transform",
      // Table values are fractions of IMSIZE (32, 64, and 244 — sic — for the 224-px table); they
      // are multiplied by IMSIZE × (image side / preset side) when the distortion is built.
      {rows({{0, 0, .08}, {.05, .2, .07}, {.08, .06, .06}, {.1, .04, .05}, {.1, .03, .03}}),
       rows({{0, 0, .08}, {.05, .3, .06}, {.1, .08, .06}, {.1, .03, .03}, {.16, .03, .02}}),
       rows({{2, .7, .1}, {2, .08, .2}, {.05, .01, .02}, {.07, .01, .02}, {.12, .01, .02}})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return elastic_transform(x, v[0], v[1], v[2], rng);
      });
  add("pixelate",
      {scalars({.95, .9, .85, .75, .65}), scalars({.9, .8, .7, .6, .5}),
       scalars({.6, .5, .4, .3, .25})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) {
        return pixelate(x, v[0], false);
      });
  add("jpeg_compression",
      {scalars({80, 65, 58, 50, 40}), scalars({65, 58, 50, 40, 25}), scalars({25, 18, 15, 10, 7})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng&) {
        return jpeg_compression(x, static_cast<int>(v[0]));
      });
  // --- extra (validation) corruptions ---
  add("speckle_noise",
      {scalars({.06, .1, .12, .16, .2}), scalars({.15, .2, .25, .3, .35}),
       scalars({.15, .2, .35, .45, .6})},
      [](const cv::Mat& x, const Values& v, const Context&, Rng& rng) {
        return speckle_noise(x, v[0], rng);
      });
  add("gaussian_blur",
      {scalars({.4, .6, .7, .8, 1}), scalars({.5, .75, 1, 1.25, 1.5}), scalars({1, 2, 3, 4, 6})},
      [](const cv::Mat& x, const Values& v, const Context& c, Rng&) {
        const auto it = c.choices.find("kernel");
        if (it != c.choices.end() && it->second == "adaee") return gaussian_blur_adaee(x, v[0]);
        return gaussian_blur(x, v[0]);
      });
  add("spatter",
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
  add("saturate",
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
    if (d.info->name == name) return &d;
  return nullptr;
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
    check_image(src, def_.info->name);
    const cv::Mat x = detail::to_float(src);
    cv::Mat y = def_.kernel(x, values_, ctx_, rng);
    ISPLITEE_ASSERT(y.size() == x.size() && y.channels() == x.channels(), "distortion ",
                    def_.info->name);
    return detail::to_u8(y);  // clips to [0,1] and rounds
  }

  std::string describe() const override {
    std::ostringstream os;
    os << def_.info->name << "(";
    std::size_t vi = 0;
    bool first = true;
    for (const auto& p : def_.info->params) {
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

}  // namespace

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
    for (const auto& p : def->info->params) {
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
