#include <gtest/gtest.h>

#include <fstream>
#include <numeric>

#include <torch/torch.h>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/sha256.hpp"
#include "isplitee/cost/exit_rule.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/data/loader.hpp"
#include "isplitee/distort/distortion.hpp"
#include "isplitee/model/checkpoint.hpp"
#include "isplitee/model/exit_outputs.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/trace/trace.hpp"
#include "isplitee/tracegen/generate.hpp"
#include "isplitee/train/trainer.hpp"
#include "unit/train/tiny_fixture.hpp"

using namespace isplitee;
namespace fs = std::filesystem;

namespace {

class TraceGenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model::configure_runtime(1);
    root_ = tiny::fresh_dir("tracegen-test");
    tiny::make_tiny_folder(root_ / "data");
    train::TrainJob j;
    j.data = tiny::tiny_data(root_ / "data");
    j.model = tiny::tiny_model();
    j.train.epochs = 2;
    j.train.batch_size = 16;
    j.train.lr_backbone = j.train.lr_final_head = 1e-2;
    j.train.workers = 1;
    j.output_dir = root_ / "model";
    j.progress = false;
    checkpoint_ = train::train_model(j).best_checkpoint;
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  tracegen::TraceRequest request(const std::string& dir) const {
    tracegen::TraceRequest r;
    r.checkpoint = checkpoint_;
    r.data = tiny::tiny_data(root_ / "data");
    r.trace.batch_size = 7;  // not a divisor of the split size: exercises the last partial batch
    r.trace.workers = 2;
    distort::DistortionSpec noise;
    noise.name = "gaussian_noise";
    noise.severity = 3;
    r.trace.distortions = {distort::DistortionSpec{}, noise};
    r.seed = 11;
    r.trace_dir = root_ / dir;
    r.progress = false;
    return r;
  }

  static std::string bytes(const fs::path& p) { return read_text_file(p); }

  static fs::path root_, checkpoint_;
};
fs::path TraceGenTest::root_, TraceGenTest::checkpoint_;

}  // namespace

TEST_F(TraceGenTest, SameInputsGiveIdenticalFilesAndAreReused) {
  const auto a = tracegen::ensure_traces(request("a"));
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[0].name, "none");
  EXPECT_EQ(a[1].name, "gaussian_noise@3");
  EXPECT_FALSE(a[0].reused);
  const auto t = trace::read_trace(a[1].directory);
  EXPECT_EQ(t.num_exits,
            static_cast<std::size_t>(model::load_checkpoint(checkpoint_).net->num_exits()));
  EXPECT_GT(t.num_samples, 10u);
  EXPECT_EQ(t.manifest.checkpoint_sha256, sha256_file(checkpoint_));
  EXPECT_EQ(t.manifest.seed, 11u);
  EXPECT_EQ(t.manifest.split, "test");
  EXPECT_EQ(t.manifest.distortion["label"], "gaussian_noise@3");

  // A second run elsewhere produces byte-identical files (seeded distortions, no timings).
  const auto b = tracegen::ensure_traces(request("b"));
  for (std::size_t i = 0; i < a.size(); ++i)
    for (const auto& f : fs::directory_iterator(a[i].directory))
      EXPECT_EQ(bytes(f.path()), bytes(b[i].directory / f.path().filename())) << f.path();
  // The same request again is served from the cache.
  const auto c = tracegen::ensure_traces(request("a"));
  EXPECT_TRUE(c[0].reused);
  EXPECT_TRUE(c[1].reused);
  EXPECT_EQ(c[1].exit_accuracy, a[1].exit_accuracy);
  // --force recomputes, to the same bytes.
  auto rf = request("a");
  rf.force = true;
  const auto d = tracegen::ensure_traces(rf);
  EXPECT_FALSE(d[0].reused);
  EXPECT_EQ(bytes(d[1].directory / "conf.npy"), bytes(b[1].directory / "conf.npy"));
}

TEST_F(TraceGenTest, ChangedInputsMakeANewTrace) {
  const auto base = tracegen::ensure_traces(request("keys"));
  auto r = request("keys");
  r.seed = 12;
  const auto other_seed = tracegen::ensure_traces(r);
  EXPECT_EQ(other_seed[0].name, base[0].name);
  EXPECT_NE(other_seed[1].directory, base[1].directory);
  EXPECT_FALSE(other_seed[1].reused);
  // The noise really differs, the pristine trace content does not.
  EXPECT_NE(bytes(other_seed[1].directory / "conf.npy"), bytes(base[1].directory / "conf.npy"));
  EXPECT_EQ(bytes(other_seed[0].directory / "conf.npy"), bytes(base[0].directory / "conf.npy"));
  // Another checkpoint (same architecture, other weights) changes every key.
  auto ck = model::load_checkpoint(checkpoint_);
  {
    torch::NoGradGuard g;
    for (auto& p : ck.net->parameters()) p.mul_(0.5);
  }
  model::save_checkpoint(root_ / "other.pt", *ck.net, ck.config);
  auto r2 = request("keys");
  r2.checkpoint = root_ / "other.pt";
  const auto other_ck = tracegen::ensure_traces(r2);
  EXPECT_NE(other_ck[0].cache_key, base[0].cache_key);
  EXPECT_FALSE(other_ck[0].reused);
  // And the dataset config.
  EXPECT_NE(tracegen::trace_cache_key("abc", r.data, r.trace, r.trace.distortions[0], 0),
            tracegen::trace_cache_key("abc", tiny::tiny_data(root_ / "elsewhere"), r.trace,
                                      r.trace.distortions[0], 0));
}

TEST_F(TraceGenTest, PristineFinalExitAccuracyAgreesWithEvaluation) {
  auto r = request("acc");
  r.trace.fold_batchnorm = false;
  r.trace.distortions = {distort::DistortionSpec{}};
  const auto a = tracegen::ensure_traces(r);
  const auto ev = train::evaluate_checkpoint(checkpoint_, r.data, "test", 0, 64, 1);
  ASSERT_EQ(a[0].exit_accuracy.size(), ev.accuracy.size());
  for (std::size_t k = 0; k < ev.accuracy.size(); ++k)
    EXPECT_NEAR(a[0].exit_accuracy[k], ev.accuracy[k], 1e-9);
}

namespace {
std::string error_of(const tracegen::TraceRequest& r) {
  try {
    tracegen::ensure_traces(r);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kData) << e.what();
    return e.what();
  }
  return "";
}
}  // namespace

TEST_F(TraceGenTest, TamperedManifestIsRefused) {
  const auto a = tracegen::ensure_traces(request("tamper"));
  const auto mpath = a[1].directory / "manifest.json";
  auto m = nlohmann::json::parse(read_text_file(mpath));
  m["seed"] = 99;
  write_text_atomic(mpath, m.dump(1));
  const auto msg = error_of(request("tamper"));
  EXPECT_NE(msg.find("manifest"), std::string::npos) << msg;
  EXPECT_NE(msg.find("--force"), std::string::npos) << msg;
  auto f = request("tamper");
  f.force = true;
  EXPECT_NO_THROW(tracegen::ensure_traces(f));
}

TEST_F(TraceGenTest, NaNConfidenceOrWrongShapeIsRefused) {
  const auto a = tracegen::ensure_traces(request("corrupt"));
  const auto conf = a[0].directory / "conf.npy";
  const std::string good = read_text_file(conf);
  // NaN in the first confidence: float32 little-endian payload starts after the npy header.
  std::string bad = good;
  const auto header_len =
      static_cast<unsigned char>(bad[8]) | (static_cast<unsigned char>(bad[9]) << 8);
  const std::size_t data = 10 + header_len;
  const unsigned char nan_bytes[4] = {0x00, 0x00, 0xc0, 0x7f};
  for (int i = 0; i < 4; ++i) bad[data + i] = static_cast<char>(nan_bytes[i]);
  write_file_atomic(
      conf, [&](std::ostream& os) { os << bad; }, true);
  auto msg = error_of(request("corrupt"));
  EXPECT_NE(msg.find("conf"), std::string::npos) << msg;
  // Wrong shape: the pristine trace's conf.npy replaced by the noisy one of another split size.
  trace::Trace t = trace::read_trace(a[1].directory);
  t.num_samples -= 1;
  t.conf.resize(t.num_samples * t.num_exits);
  t.pred.resize(t.num_samples * t.num_exits);
  t.entropy.resize(t.num_samples * t.num_exits);
  t.margin.resize(t.num_samples * t.num_exits);
  for (auto* v : {&t.conf_cal, &t.entropy_cal, &t.margin_cal})
    if (!v->empty()) v->resize(t.num_samples * t.num_exits);
  t.label.resize(t.num_samples);
  t.manifest.sample_ids.resize(t.num_samples);
  const auto tmp = root_ / "short";
  trace::write_trace(tmp, t);
  fs::copy_file(tmp / "conf.npy", conf, fs::copy_options::overwrite_existing);
  msg = error_of(request("corrupt"));
  EXPECT_FALSE(msg.empty());
}

// Calibration: one temperature per exit fitted on the validation split, stored in the manifest
// with the ECE before and after, and calibrated columns equal to the statistics of logits / T_k.
TEST_F(TraceGenTest, RecordsCalibrationFittedOnTheValidationSplit) {
  auto r = request("cal");
  r.trace.save_logits = true;
  r.trace.distortions = {distort::DistortionSpec{}};
  const auto a = tracegen::ensure_traces(r);
  const auto t = trace::read_trace(a[0].directory);
  const auto& c = t.manifest.calibration;
  ASSERT_EQ(c.temperature.size(), t.num_exits);
  EXPECT_EQ(c.split, "val");
  EXPECT_GT(c.samples, 0u);
  ASSERT_EQ(t.conf_cal.size(), t.conf.size());
  ASSERT_EQ(t.entropy_cal.size(), t.conf.size());
  ASSERT_EQ(t.margin_cal.size(), t.conf.size());
  const std::size_t classes = t.logits.size() / (t.num_samples * t.num_exits);
  for (std::size_t i = 0; i < t.num_samples; ++i)
    for (std::size_t k = 0; k < t.num_exits; ++k) {
      const auto s = cost::softmax_stats(&t.logits[(i * t.num_exits + k) * classes], classes,
                                         c.temperature[k]);
      const std::size_t at = i * t.num_exits + k;
      ASSERT_NEAR(t.conf_cal[at], s.max_prob, 1e-5) << i << "," << k;
      ASSERT_NEAR(t.entropy_cal[at], s.entropy, 1e-5) << i << "," << k;
      ASSERT_NEAR(t.margin_cal[at], s.margin, 1e-5) << i << "," << k;
      ASSERT_EQ(t.pred[at], s.pred);  // a temperature never changes the argmax
    }
  // Temperatures are positive; the ECEs are proportions.
  for (std::size_t k = 0; k < t.num_exits; ++k) {
    EXPECT_GT(c.temperature[k], 0.0);
    EXPECT_GE(c.ece_before[k], 0.0);
    EXPECT_GE(c.ece_after[k], 0.0);
  }
}

// The trace pass runs the fast inference path; its columns must equal, bit for bit, what the
// LibTorch path with folded BatchNorm computes (the generator version was kept because of this:
// traces cached before the fast path stay valid).
TEST_F(TraceGenTest, FastPathColumnsEqualTheLibTorchFoldedPass) {
  auto r = request("fast");
  distort::DistortionSpec noise;
  noise.name = "gaussian_noise";
  noise.severity = 3;
  r.trace.distortions = {noise};
  const auto a = tracegen::ensure_traces(r);
  const auto t = trace::read_trace(a[0].directory);

  auto ck = model::load_checkpoint(checkpoint_);
  ck.net->fold_batchnorm();
  auto ds = data::open_split(r.data, "test");
  const cv::Mat first = ds->image(0);
  const auto dist = distort::make_distortion(noise, std::min(first.rows, first.cols));
  std::vector<std::size_t> order(ds->size());
  std::iota(order.begin(), order.end(), 0);
  const std::uint64_t seed = r.seed;
  data::BatchLoader loader(
      ds, order, static_cast<std::size_t>(r.trace.batch_size), r.data.preprocess,
      [&](const cv::Mat& img, std::size_t i) {
        return distort::apply_seeded(*dist, img, seed, ds->sample_id(i));
      },
      1);
  torch::InferenceMode guard;
  data::Batch b;
  std::size_t row = 0;
  const std::size_t K = t.num_exits;
  while (loader.next(b)) {
    ASSERT_GT(b.images.size(0), 1) << "a batch of one takes LibTorch's non-oneDNN kernels";
    const auto outs = ck.net->forward(b.images);
    for (std::size_t k = 0; k < K; ++k) {
      const auto s = model::exit_statistics(outs[k]);
      for (std::int64_t i = 0; i < b.images.size(0); ++i) {
        const std::size_t at = (row + static_cast<std::size_t>(i)) * K + k;
        EXPECT_EQ(t.conf[at], s.conf[i].item<float>()) << "row " << row + i << " exit " << k + 1;
        EXPECT_EQ(t.entropy[at], s.entropy[i].item<float>());
        EXPECT_EQ(t.margin[at], s.margin[i].item<float>());
        EXPECT_EQ(t.pred[at], s.pred[i].item<std::int32_t>());
      }
      // The calibrated columns: the same logits divided by T_k in float64 (the calibration hook).
      if (t.conf_cal.empty()) continue;
      const auto sc = model::exit_statistics(outs[k].to(torch::kFloat64) /
                                             t.manifest.calibration.temperature[k]);
      for (std::int64_t i = 0; i < b.images.size(0); ++i) {
        const std::size_t at = (row + static_cast<std::size_t>(i)) * K + k;
        EXPECT_EQ(t.conf_cal[at], sc.conf[i].item<float>())
            << "row " << row + i << " exit " << k + 1;
        EXPECT_EQ(t.entropy_cal[at], sc.entropy[i].item<float>());
        EXPECT_EQ(t.margin_cal[at], sc.margin[i].item<float>());
      }
    }
    row += static_cast<std::size_t>(b.images.size(0));
  }
  EXPECT_EQ(row, t.num_samples);
  EXPECT_FALSE(t.conf_cal.empty()) << "the test data has a validation split: calibrated columns";
}
