// Tests of the distortions: the property that defines each one, parity with independent numpy /
// scipy / skimage / PIL references (run through ISPLITEE_PYTHON), severity monotonicity, seeding.
#include "isplitee/distort/distortion.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <unistd.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "isplitee/common/error.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/distort/grid.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace isplitee;
using namespace isplitee::distort;

namespace {

DistortionSpec spec_of(const std::string& json) {
  const auto doc = config::Document::parse(json, "test.json");
  return parse_distortion_spec(config::Node(doc));
}

DistortionSpec sev(const std::string& name, int s, const std::string& preset = "auto") {
  DistortionSpec d;
  d.name = name;
  d.severity = s;
  d.preset = preset;
  return d;
}

std::vector<std::string> all19() {
  auto v = common_corruptions();
  for (const auto& n : extra_corruptions()) v.push_back(n);
  return v;
}

cv::Mat scene(int size) {
  cv::Mat big = synthetic_scene(224);
  if (size == 224) return big;
  cv::Mat s;
  cv::resize(big, s, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  return s;
}

double mean_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  const cv::Scalar m = cv::mean(d);
  double s = 0;
  for (int c = 0; c < a.channels(); ++c) s += m[c];
  return s / a.channels();
}

double max_abs_diff(const cv::Mat& a, const cv::Mat& b) {
  cv::Mat d;
  cv::absdiff(a, b, d);
  double mx = 0;
  cv::minMaxLoc(d.reshape(1), nullptr, &mx);
  return mx;
}

fs::path temp_dir(const std::string& name) {
  return isplitee::testing::scratch_dir("distort_" + name);
}

void write_rgb_png(const fs::path& p, const cv::Mat& rgb) {
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  ASSERT_TRUE(cv::imwrite(p.string(), bgr));
}

cv::Mat read_rgb_png(const fs::path& p) {
  cv::Mat bgr = cv::imread(p.string(), cv::IMREAD_COLOR);
  EXPECT_FALSE(bgr.empty()) << p;
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

}  // namespace

TEST(DistortionSpec, ParsesLabelsAndRoundTrips) {
  const auto s = spec_of(R"({"name": "gaussian_noise", "severity": 3})");
  EXPECT_EQ(label(s), "gaussian_noise@3");
  const auto s2 = spec_of(R"({"name": "gaussian_noise", "params": {"sigma": 20, "units": "px"}})");
  EXPECT_EQ(label(s2), "gaussian_noise(sigma=20px)");
  const auto s3 = spec_of(R"({"name": "contrast", "severity": 2, "preset": "32"})");
  EXPECT_EQ(label(s3), "contrast@2/32");
  EXPECT_EQ(label(spec_of("{}")), "none");
  const auto c = spec_of(R"({"name": "chain", "params": {"steps": [{"name": "fog", "severity": 1},
                                                                 {"name": "gaussian_blur", "severity": 2}]}})");
  EXPECT_EQ(label(c), "chain(fog@1+gaussian_blur@2)");
  for (const auto& sp : {s, s2, s3, c}) {
    const auto doc = config::Document::from_json(to_json(sp), "rt");
    const auto back = parse_distortion_spec(config::Node(doc));
    EXPECT_EQ(to_json(back), to_json(sp));
  }
  EXPECT_EQ(
      label(spec_of(R"({"name": "gaussian_blur", "params": {"sigma": 1.5, "kernel": "adaee"}})")),
      "gaussian_blur(sigma=1.5,kernel=adaee)");
}

TEST(DistortionSpec, RejectsBadInputWithOneClearLine) {
  auto msg = [](const std::string& json) {
    try {
      spec_of(json);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUsage);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(
      msg(R"({"name": "gausian_noise", "severity": 1})").find("did you mean 'gaussian_noise'"),
      std::string::npos);
  EXPECT_NE(msg(R"({"name": "fog", "severity": 6})").find("severity"), std::string::npos);
  EXPECT_NE(msg(R"({"name": "contrast", "params": {"factr": 0.3}})").find("factr"),
            std::string::npos);
  EXPECT_NE(msg(R"({"name": "gaussian_noise", "params": {"sigma": 20}})").find("units"),
            std::string::npos);
  EXPECT_NE(msg(R"({"name": "contrast", "severity": 1, "params": {"factor": 0.3}})").find("either"),
            std::string::npos);
  EXPECT_NE(msg(R"({"name": "jpeg_compression", "params": {"quality": 101}})").find("quality"),
            std::string::npos);
  EXPECT_NE(msg(R"({"name": "fog", "severity": 1, "colour": 2})").find("colour"),
            std::string::npos);
  for (const auto& m : {msg(R"({"name": "fog", "severity": 6})"), msg(R"({"name": "x"})")})
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

TEST(DistortionSpec, RegistryListsAll19PlusPaperAndMeta) {
  std::set<std::string> names;
  for (const auto& d : builtin_distortions()) {
    names.insert(d.name);
    EXPECT_FALSE(d.description.empty()) << d.name;
  }
  for (const auto& n : all19()) EXPECT_TRUE(names.count(n)) << n;
  EXPECT_TRUE(names.count("none"));
  EXPECT_TRUE(names.count("chain"));
  EXPECT_EQ(common_corruptions().size(), 15u);
  EXPECT_EQ(extra_corruptions().size(), 4u);
}

TEST(DistortionSpec, PresetFollowsImageSizeAndTables) {
  EXPECT_EQ(resolve_preset("auto", 28), 32);
  EXPECT_EQ(resolve_preset("auto", 64), 64);
  EXPECT_EQ(resolve_preset("auto", 224), 224);
  EXPECT_EQ(resolve_preset("32", 224), 32);
  EXPECT_NE(make_distortion(sev("contrast", 3), 32)->describe().find("factor=0.4 "),
            std::string::npos);
  EXPECT_NE(make_distortion(sev("contrast", 3), 224)->describe().find("factor=0.2 "),
            std::string::npos);
  EXPECT_NE(make_distortion(sev("shot_noise", 5), 64)->describe().find("photons=15 "),
            std::string::npos);
  EXPECT_NE(make_distortion(sev("glass_blur", 4), 224)->describe().find("max_delta=3 "),
            std::string::npos);
  // elastic constants are fractions of IMSIZE (244 for the 224 table)
  EXPECT_NE(make_distortion(sev("elastic_transform", 5), 224)->describe().find("alpha=29.28 "),
            std::string::npos);
}

TEST(Distortion, NoiseSigmaMatchesRequestOnFlatGray) {
  const cv::Mat gray(256, 256, CV_8UC3, cv::Scalar(128, 128, 128));
  for (double sigma_px : {5.0, 10.0, 20.0, 40.0}) {
    DistortionSpec s;
    s.name = "gaussian_noise";
    s.params = {{"sigma", sigma_px}, {"units", "px"}};
    const cv::Mat out = apply_seeded(*make_distortion(s, 256), gray, 7, 0);
    cv::Mat f;
    out.convertTo(f, CV_64F);
    cv::Scalar mean, sd;
    cv::meanStdDev(f.reshape(1), mean, sd);
    EXPECT_NEAR(sd[0], sigma_px, 0.05 * sigma_px) << sigma_px;
    EXPECT_NEAR(mean[0], 128, 1.0);
  }
  // ImageNet-C severity 3 at 224 px: sigma 0.18 on [0,1]
  const cv::Mat out = apply_seeded(*make_distortion(sev("gaussian_noise", 3), 224), gray, 1, 2);
  cv::Mat f;
  out.convertTo(f, CV_64F, 1.0 / 255);
  cv::Scalar mean, sd;
  cv::meanStdDev(f.reshape(1), mean, sd);
  EXPECT_NEAR(sd[0], 0.18, 0.05 * 0.18);
}

TEST(Distortion, GaussianBlurEqualsDirectConvolution) {
  const cv::Mat img = scene(64);
  for (double sigma : {0.6, 1.0, 2.5}) {
    DistortionSpec s;
    s.name = "gaussian_blur";
    s.params = {{"sigma", sigma}};
    const cv::Mat out = apply_seeded(*make_distortion(s, 64), img, 0, 0);
    // Reference: direct 2-D sum with skimage's rule (radius ⌊4σ+0.5⌋, nearest borders), in double.
    const int r = static_cast<int>(4 * sigma + 0.5);
    std::vector<double> k(static_cast<std::size_t>(2 * r + 1));
    double z = 0;
    for (int i = -r; i <= r; ++i)
      z += k[static_cast<std::size_t>(i + r)] = std::exp(-i * i / (2 * sigma * sigma));
    int worst = 0;
    for (int y = 0; y < img.rows; ++y)
      for (int x = 0; x < img.cols; ++x)
        for (int c = 0; c < 3; ++c) {
          double acc = 0;
          for (int dy = -r; dy <= r; ++dy)
            for (int dx = -r; dx <= r; ++dx) {
              const int yy = std::clamp(y + dy, 0, img.rows - 1),
                        xx = std::clamp(x + dx, 0, img.cols - 1);
              acc += k[static_cast<std::size_t>(dy + r)] * k[static_cast<std::size_t>(dx + r)] *
                     img.at<cv::Vec3b>(yy, xx)[c];
            }
          const int ref = static_cast<int>(std::lround(acc / (z * z)));
          worst = std::max(worst, std::abs(ref - out.at<cv::Vec3b>(y, x)[c]));
        }
    EXPECT_LE(worst, 1) << "sigma " << sigma;
  }
  // A kernel wider than the image (the folded-matrix path): gray 32×32, σ = 12 (radius 48).
  cv::Mat gray;
  cv::cvtColor(scene(32), gray, cv::COLOR_RGB2GRAY);
  DistortionSpec s;
  s.name = "gaussian_blur";
  s.params = {{"sigma", 12.0}};
  const cv::Mat out = apply_seeded(*make_distortion(s, 32), gray, 0, 0);
  const double sigma = 12.0;
  const int r = 48;
  int worst = 0;
  for (int y = 0; y < 32; ++y)
    for (int x = 0; x < 32; ++x) {
      double acc = 0, z = 0;
      for (int dy = -r; dy <= r; ++dy)
        for (int dx = -r; dx <= r; ++dx) {
          const double w = std::exp(-(dy * dy + dx * dx) / (2 * sigma * sigma));
          acc += w * gray.at<std::uint8_t>(std::clamp(y + dy, 0, 31), std::clamp(x + dx, 0, 31));
          z += w;
        }
      worst = std::max(
          worst, std::abs(static_cast<int>(std::lround(acc / z)) - out.at<std::uint8_t>(y, x)));
    }
  EXPECT_LE(worst, 1);
}

TEST(Distortion, SeverityZeroIsIdentityAndShapesArePreserved) {
  const cv::Mat img = scene(32);
  cv::Mat gray;
  cv::cvtColor(img, gray, cv::COLOR_RGB2GRAY);
  const cv::Mat tiny = scene(224)(cv::Rect(100, 100, 8, 11)).clone();
  for (const auto& n : all19()) {
    const auto id = make_distortion(sev(n, 0), 32);
    EXPECT_EQ(max_abs_diff(apply_seeded(*id, img, 1, 1), img), 0) << n;
    for (const cv::Mat& m : {img, gray, tiny}) {
      const cv::Mat out =
          apply_seeded(*make_distortion(sev(n, 5), std::min(m.rows, m.cols)), m, 3, 4);
      EXPECT_EQ(out.size(), m.size()) << n;
      EXPECT_EQ(out.type(), m.type()) << n;
    }
  }
  const cv::Mat too_small(7, 7, CV_8UC3, cv::Scalar::all(0));
  EXPECT_THROW(apply_seeded(*make_distortion(sev("fog", 1), 7), too_small, 0, 0), Error);
}

// Mean absolute change must grow with severity (averaged over seeds and two images to smooth out
// the random corruptions), with the table of the image's own size. The published constant tables
// are themselves not monotone in this measure at the steps listed here (measured; see
// bench/results/distort.md): those steps are exempt, every other step must strictly increase.
//  - glass_blur@32 2 (sigma .05 vs .25: both below one 8-bit step, identical output), 3 and 5 (a
//  larger
//    blur undoes part of the pixel shuffling), glass_blur@64 2 (sigma .1 -> .5 with the same
//    shuffle);
//  - motion_blur@32 4 (radius 6 vs 8 at sigma 2: the extra taps weigh < 0.1%);
//  - frost: image weight falls while frost weight rises (32: 3, 4; 64: 2, 3; 224: 2 with our
//  texture);
//  - elastic_transform: the affine jitter shrinks with severity (32: 2-5; 64: 2-5; 224: 3);
//  - pixelate@32 3, 5, @64 5, @224 2: non-integer BOX factors alias differently (.5 = exact 2x);
//  - saturate 3 (x0.1 -> x2: desaturating by 90% changes more than doubling);
//  - spatter@32/64 4 (water -> mud switches the effect).
const std::set<std::string> kTableNotMonotone{"glass_blur@32:2",
                                              "glass_blur@32:3",
                                              "glass_blur@32:5",
                                              "glass_blur@64:2",
                                              "motion_blur@32:4",
                                              "frost@32:3",
                                              "frost@32:4",
                                              "frost@64:2",
                                              "frost@64:3",
                                              "frost@224:2",
                                              "elastic_transform@32:2",
                                              "elastic_transform@32:3",
                                              "elastic_transform@32:4",
                                              "elastic_transform@32:5",
                                              "elastic_transform@64:2",
                                              "elastic_transform@64:3",
                                              "elastic_transform@64:4",
                                              "elastic_transform@64:5",
                                              "elastic_transform@224:3",
                                              "pixelate@32:3",
                                              "pixelate@32:5",
                                              "pixelate@64:5",
                                              "pixelate@224:2",
                                              "saturate@32:3",
                                              "saturate@64:3",
                                              "saturate@224:3",
                                              "spatter@32:4",
                                              "spatter@64:4"};

class Monotonic : public ::testing::TestWithParam<std::string> {};

TEST_P(Monotonic, ChangeGrowsWithSeverity) {
  const std::string name = GetParam();
  for (int size : {32, 64, 224}) {
    std::vector<cv::Mat> imgs{scene(size)};
    cv::Mat shifted;
    cv::flip(imgs[0], shifted, 1);
    imgs.push_back(shifted);
    std::vector<double> change(6, 0.0);
    const int seeds = size == 224 ? 2 : 4;
    for (int s = 1; s <= 5; ++s) {
      const auto d = make_distortion(sev(name, s), size);
      for (const auto& img : imgs)
        for (int seed = 0; seed < seeds; ++seed)
          change[static_cast<std::size_t>(s)] +=
              mean_abs_diff(apply_seeded(*d, img, static_cast<std::uint64_t>(seed), 5), img);
    }
    for (int s = 1; s <= 5; ++s)
      EXPECT_GT(change[static_cast<std::size_t>(s)], 0) << name << " severity " << s;
    for (int s = 2; s <= 5; ++s)
      if (!kTableNotMonotone.count(name + "@" + std::to_string(size) + ":" + std::to_string(s))) {
        EXPECT_GT(change[static_cast<std::size_t>(s)], change[static_cast<std::size_t>(s - 1)])
            << name << " at " << size << " px: severity " << s << " vs " << s - 1;
      }
  }
}

INSTANTIATE_TEST_SUITE_P(All19, Monotonic, ::testing::ValuesIn(all19()),
                         [](const auto& p) { return p.param; });

TEST(Distortion, SeedingIsIndependentOfThreadsAndOrder) {
  const cv::Mat img = scene(32);
  for (const auto& n : all19()) {
    const auto d = make_distortion(sev(n, 4), 32);
    const int N = 6;
    std::vector<cv::Mat> one(N), two(N);
    for (int i = 0; i < N; ++i) one[static_cast<std::size_t>(i)] = apply_seeded(*d, img, 11, i);
    std::thread t0([&] {
      for (int i = N - 1; i >= 0; i -= 2)
        two[static_cast<std::size_t>(i)] = apply_seeded(*d, img, 11, i);
    });
    std::thread t1([&] {
      for (int i = N - 2; i >= 0; i -= 2)
        two[static_cast<std::size_t>(i)] = apply_seeded(*d, img, 11, i);
    });
    t0.join();
    t1.join();
    for (int i = 0; i < N; ++i)
      EXPECT_EQ(max_abs_diff(one[static_cast<std::size_t>(i)], two[static_cast<std::size_t>(i)]), 0)
          << n << " sample " << i;
  }
  // Random corruptions differ across seeds and sample ids; deterministic ones do not.
  const std::set<std::string> deterministic{"defocus_blur",  "zoom_blur", "brightness",
                                            "contrast",      "pixelate",  "jpeg_compression",
                                            "gaussian_blur", "saturate"};
  for (const auto& n : all19()) {
    const auto d = make_distortion(sev(n, 3), 32);
    const double diff_seed = max_abs_diff(apply_seeded(*d, img, 1, 0), apply_seeded(*d, img, 2, 0));
    const double diff_id = max_abs_diff(apply_seeded(*d, img, 1, 0), apply_seeded(*d, img, 1, 1));
    if (deterministic.count(n)) {
      EXPECT_EQ(diff_seed, 0) << n;
    } else {
      EXPECT_GT(diff_seed, 0) << n;
      EXPECT_GT(diff_id, 0) << n;
    }
  }
}

TEST(Distortion, ChainAppliesStepsInOrder) {
  const cv::Mat img = scene(32);
  const auto c = make_distortion(spec_of(R"({"name": "chain", "params": {"steps": [
      {"name": "contrast", "params": {"factor": 0.5}}, {"name": "brightness", "params": {"delta": 0.1}}]}})"),
                                 32);
  DistortionSpec a, b;
  a.name = "contrast";
  a.params = {{"factor", 0.5}};
  b.name = "brightness";
  b.params = {{"delta", 0.1}};
  Rng r(0);
  const cv::Mat expected = make_distortion(b, 32)->apply(make_distortion(a, 32)->apply(img, r), r);
  EXPECT_EQ(max_abs_diff(apply_seeded(*c, img, 0, 0), expected), 0);
  EXPECT_NE(c->describe().find("contrast"), std::string::npos);
}

TEST(Distortion, ImpulseNoiseFlipsChannelsIndependently) {
  const cv::Mat gray(128, 128, CV_8UC3, cv::Scalar(128, 128, 128));
  DistortionSpec s;
  s.name = "impulse_noise";
  s.params = {{"amount", 0.2}};
  const cv::Mat out = apply_seeded(*make_distortion(s, 128), gray, 5, 0);
  int flipped = 0, mixed = 0;
  for (int y = 0; y < out.rows; ++y)
    for (int x = 0; x < out.cols; ++x) {
      const auto v = out.at<cv::Vec3b>(y, x);
      int f = 0;
      for (int c = 0; c < 3; ++c) f += v[c] != 128;
      flipped += f;
      mixed += (f > 0 && f < 3);
    }
  EXPECT_NEAR(flipped / (3.0 * 128 * 128), 0.2, 0.01);
  EXPECT_GT(mixed, 1000);  // one shared mask would never give partly flipped pixels
}

// Parity with independent numpy/scipy/skimage/PIL references
// (tests/unit/distort/reference_corruptions.py).
TEST(DistortionParity, MatchesNumpySkimagePilReferences) {
  const fs::path dir = temp_dir("parity");
  struct Job {
    std::string name;
    nlohmann::json params;    // explicit C++ params
    std::vector<double> ref;  // same values for the reference
    double max_tol, mean_tol;
    int size;
  };
  std::vector<Job> jobs;
  for (int size : {32, 224}) {
    for (double f : {0.75, 0.4, 0.05})
      jobs.push_back({"contrast", {{"factor", f}}, {f}, 1, 0.05, size});
    // HSV round trips: OpenCV works in float32, skimage in float64, so ±1 level on up to ~15% of
    // values.
    for (double b : {0.05, 0.3, 0.5})
      jobs.push_back({"brightness", {{"delta", b}}, {b}, 1, 0.15, size});
    for (auto [m, a] : std::vector<std::pair<double, double>>{{0.3, 0}, {2, 0.1}, {20, 0.2}})
      jobs.push_back({"saturate", {{"mul", m}, {"add", a}}, {m, a}, 1, 0.15, size});
    // PIL resamples in two 8-bit passes with fixed-point weights; ours in float: ±2 levels.
    for (double f : {0.95, 0.6, 0.25})
      jobs.push_back({"pixelate", {{"factor", f}}, {f}, 2, 0.5, size});
    // Both use Debian's libjpeg-turbo with 4:2:0 chroma; encoder settings may differ slightly.
    for (double q : {80, 40, 7})
      jobs.push_back({"jpeg_compression", {{"quality", q}}, {q}, 12, 1.0, size});
    for (auto [r, a] :
         std::vector<std::pair<double, double>>{{0.3, 0.4}, {1.5, 0.1}, {6, 0.5}, {10, 0.5}})
      jobs.push_back({"defocus_blur", {{"radius", r}, {"alias_sigma", a}}, {r, a}, 1, 0.05, size});
    for (double s : {0.4, 1.0, 3.0})
      jobs.push_back({"gaussian_blur", {{"sigma", s}}, {s}, 1, 0.05, size});
  }
  for (int size : {32, 224}) {
    const cv::Mat img = scene(size);
    write_rgb_png(dir / ("in" + std::to_string(size) + ".png"), img);
    nlohmann::json js = nlohmann::json::array();
    for (std::size_t i = 0; i < jobs.size(); ++i)
      if (jobs[i].size == size)
        js.push_back({{"name", jobs[i].name},
                      {"params", jobs[i].ref},
                      {"out", "ref" + std::to_string(i) + ".png"}});
    std::ofstream(dir / ("jobs" + std::to_string(size) + ".json")) << js.dump();
    const std::string cmd = std::string("OPENBLAS_NUM_THREADS=1 ") + ISPLITEE_PYTHON + " " +
                            ISPLITEE_SOURCE_DIR + "/tests/unit/distort/reference_corruptions.py " +
                            (dir / ("in" + std::to_string(size) + ".png")).string() + " " +
                            dir.string() + " " +
                            (dir / ("jobs" + std::to_string(size) + ".json")).string();
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (jobs[i].size != size) continue;
      DistortionSpec s;
      s.name = jobs[i].name;
      s.params = jobs[i].params;
      const cv::Mat ours = apply_seeded(*make_distortion(s, size), img, 0, 0);
      const cv::Mat ref = read_rgb_png(dir / ("ref" + std::to_string(i) + ".png"));
      EXPECT_LE(max_abs_diff(ours, ref), jobs[i].max_tol) << label(s) << " at " << size << " px";
      EXPECT_LE(mean_abs_diff(ours, ref), jobs[i].mean_tol) << label(s) << " at " << size << " px";
    }
  }
  fs::remove_all(dir);
}

TEST(Grid, HasOneRowPerDistortionAndSixColumns) {
  GridOptions opt;
  opt.names = {"fog", "contrast"};
  opt.cell = 40;
  opt.labels = false;
  const cv::Mat g = make_grid(scene(32), opt);
  EXPECT_EQ(g.cols, 6 * (40 + 2));
  EXPECT_EQ(g.rows, 2 * (40 + 2));
  // column 0 is the original, resized: equal to the clean image upscaled
  cv::Mat up;
  cv::resize(scene(32), up, cv::Size(40, 40), 0, 0, cv::INTER_NEAREST);
  EXPECT_EQ(max_abs_diff(g(cv::Rect(0, 0, 40, 40)), up), 0);
  EXPECT_GT(mean_abs_diff(g(cv::Rect(5 * 42, 0, 40, 40)), up), 5);
}
