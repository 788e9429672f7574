// Data config parsing, splits and index files, preprocessing to tensors, batch loading,
// augmentation.
#include "isplitee/data/config.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include <unistd.h>
#include <opencv2/imgproc.hpp>

#include "isplitee/common/error.hpp"
#include "isplitee/data/loader.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace isplitee;
using namespace isplitee::data;

namespace {

DatasetConfig parse(const std::string& json) {
  const auto doc = config::Document::parse(json, "exp.json");
  return parse_dataset_config(config::Node(doc));
}

/// A small in-memory dataset: image i is a w×h gradient with value offset i.
class Toy : public Dataset {
 public:
  Toy(std::size_t n, int w, int h, int ch) : n_(n), w_(w), h_(h), ch_(ch) {}
  std::size_t size() const override { return n_; }
  cv::Mat image(std::size_t i) const override {
    cv::Mat m(h_, w_, ch_ == 1 ? CV_8UC1 : CV_8UC3);
    for (int y = 0; y < h_; ++y)
      for (int x = 0; x < w_ * ch_; ++x)
        m.ptr<std::uint8_t>(y)[x] = static_cast<std::uint8_t>((i * 11 + y * 3 + x) % 256);
    return m;
  }
  std::int64_t label(std::size_t i) const override { return static_cast<std::int64_t>(i % 3); }
  std::int64_t sample_id(std::size_t i) const override {
    return 1000 + static_cast<std::int64_t>(i);
  }
  const std::vector<std::string>& class_names() const override { return names_; }
  int channels() const override { return ch_; }
  std::string name() const override { return "toy"; }

 private:
  std::size_t n_;
  int w_, h_, ch_;
  std::vector<std::string> names_{"a", "b", "c"};
};

}  // namespace

TEST(DatasetConfig, ParsesStrictlyAndRoundTrips) {
  const auto c = parse(R"({"name": "cifar10", "root": "/d", "val_fraction": 0.2, "split_seed": 5,
      "on_bad_image": "skip", "max_per_split": 100,
      "preprocess": {"resize": 256, "crop": 224, "channels": 3, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}})");
  EXPECT_EQ(c.name, "cifar10");
  EXPECT_EQ(c.split_seed, 5u);
  EXPECT_EQ(c.preprocess.crop, 224);
  EXPECT_EQ(c.preprocess.mean.size(), 3u);
  const auto doc = config::Document::from_json(to_json(c), "rt");
  EXPECT_EQ(to_json(parse_dataset_config(config::Node(doc))), to_json(c));
  auto err = [](const std::string& json) {
    try {
      parse(json);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(err(R"({"name": "cifar11"})").find("cifar10"), std::string::npos);
  EXPECT_NE(err(R"({"val_fracton": 0.1})").find("val_fraction"), std::string::npos);
  EXPECT_NE(err(R"({"val_fraction": 1.5})").find("val_fraction"), std::string::npos);
  EXPECT_NE(err(R"({"preprocess": {"channels": 2}})").find("channels"), std::string::npos);
  EXPECT_NE(err(R"({"preprocess": {"mean": [1, 2]}})").find("mean"), std::string::npos);
  EXPECT_NE(err(R"({"name": "folder"})").find("root"), std::string::npos);
  EXPECT_EQ(parse("{}").root, "");
  EXPECT_EQ(default_root("fashion-mnist"), "/usr/share/datasets/fashion-mnist");
}

TEST(Splits, DeterministicDisjointAndCovering) {
  for (bool official : {true, false}) {
    const std::size_t n = 1000;
    auto tr = split_indices(n, "train", 0.1, 0.2, official, 3);
    auto va = split_indices(n, "val", 0.1, 0.2, official, 3);
    auto te = split_indices(n, "test", 0.1, 0.2, official, 3);
    EXPECT_EQ(tr, split_indices(n, "train", 0.1, 0.2, official, 3));
    EXPECT_NE(tr, split_indices(n, "train", 0.1, 0.2, official, 4));
    std::set<std::size_t> all;
    if (official) {
      EXPECT_EQ(te.size(), n);  // the official test file is used whole
      EXPECT_EQ(va.size(), 100u);
      EXPECT_EQ(tr.size(), 900u);
      all.insert(tr.begin(), tr.end());
      all.insert(va.begin(), va.end());
      EXPECT_EQ(all.size(), n);
    } else {
      EXPECT_EQ(te.size(), 200u);
      EXPECT_EQ(va.size(), 80u);
      EXPECT_EQ(tr.size(), 720u);
      all.insert(tr.begin(), tr.end());
      all.insert(va.begin(), va.end());
      all.insert(te.begin(), te.end());
      EXPECT_EQ(all.size(), n);
    }
  }
  // Caltech-256's reference: 10% test of 30,607 images = 3,060
  EXPECT_EQ(split_indices(30607, "test", 0.1, 0.1, false, 0).size(), 3060u);
}

TEST(Splits, IndexFilesAreWrittenAndReusedOnFashionMnist) {
  if (!fs::exists(default_root("fashion-mnist")))
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  const isplitee::testing::TempDir tmp("splits");
  const fs::path dir = tmp / "idx";
  DatasetConfig cfg;
  cfg.index_dir = dir.string();
  cfg.max_per_split = 500;
  const auto val = open_split(cfg, "val");
  ASSERT_EQ(val->size(), 500u);
  const fs::path idx = dir / "fashion-mnist-seed0-val.idx";
  ASSERT_TRUE(fs::exists(idx));
  const auto again = open_split(cfg, "val");
  for (std::size_t i = 0; i < val->size(); ++i) ASSERT_EQ(val->sample_id(i), again->sample_id(i));
  const auto train = open_split(cfg, "train");
  std::set<std::int64_t> ids;
  for (std::size_t i = 0; i < train->size(); ++i) ids.insert(train->sample_id(i));
  for (std::size_t i = 0; i < val->size(); ++i) EXPECT_EQ(ids.count(val->sample_id(i)), 0u);
  EXPECT_EQ(open_split(cfg, "test")->sample_id(0), 60000);
  // the index file is what a run reproduces from; other settings are refused, naming the file
  cfg.split_seed = 9;
  cfg.index_dir = dir.string();
  EXPECT_NO_THROW(open_split(cfg, "val"));  // other seed, other file name
  { std::ofstream(idx, std::ios::app) << "999999\n"; }
  cfg.split_seed = 0;
  try {
    open_split(cfg, "val");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("fashion-mnist-seed0-val.idx"), std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}

TEST(Preprocess, ResizeCropChannelsNormalize) {
  Preprocess p;
  p.resize = 16;
  p.crop = 12;
  p.channels = 3;
  p.mean = {0.5};
  p.std = {0.25};
  const cv::Mat gray(20, 40, CV_8UC1, cv::Scalar(204));  // 0.8
  const auto t = to_tensor(gray, p);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 12, 12}));
  EXPECT_NEAR(t.min().item<float>(), (0.8 - 0.5) / 0.25, 1e-5);
  EXPECT_NEAR(t.max().item<float>(), (0.8 - 0.5) / 0.25, 1e-5);
  const cv::Mat r = preprocess_image(cv::Mat(20, 40, CV_8UC3, cv::Scalar(1, 2, 3)), p);
  EXPECT_EQ(r.size(), cv::Size(12, 12));
  Preprocess g;
  g.channels = 1;
  EXPECT_EQ(preprocess_image(cv::Mat(5, 9, CV_8UC3, cv::Scalar(0, 0, 0)), g).channels(), 1);
  // per-channel mean/std, C×H×W layout: channel c of pixel (y, x)
  Preprocess q;
  q.mean = {0.1, 0.2, 0.3};
  q.std = {0.5, 0.5, 0.5};
  cv::Mat img(2, 3, CV_8UC3, cv::Scalar(0, 0, 0));
  img.at<cv::Vec3b>(1, 2) = cv::Vec3b(255, 51, 0);
  const auto u = to_tensor(img, q);
  EXPECT_NEAR(u[0][1][2].item<float>(), (1.0 - 0.1) / 0.5, 1e-5);
  EXPECT_NEAR(u[1][1][2].item<float>(), (0.2 - 0.2) / 0.5, 1e-5);
  EXPECT_NEAR(u[2][1][2].item<float>(), (0.0 - 0.3) / 0.5, 1e-5);
  p.crop = 30;
  EXPECT_THROW(to_tensor(gray, p), Error);
}

TEST(Loader, BatchesDoNotDependOnWorkersAndCallTheTransform) {
  auto ds = std::make_shared<Toy>(37, 10, 8, 3);
  Preprocess p;
  std::vector<std::size_t> idx{5, 3, 36, 0, 17};
  auto transform = [](const cv::Mat& m, std::size_t i) {
    cv::Mat o = m.clone();
    o.at<cv::Vec3b>(0, 0) = cv::Vec3b(static_cast<uchar>(i), 0, 0);
    return o;
  };
  const Batch a = load_batch(*ds, idx, p, transform, 1);
  const Batch b = load_batch(*ds, idx, p, transform, 2);
  ASSERT_EQ(a.images.sizes(), (std::vector<int64_t>{5, 3, 8, 10}));
  EXPECT_TRUE(torch::equal(a.images, b.images));
  EXPECT_EQ(a.labels[2].item<int64_t>(), 36 % 3);
  EXPECT_EQ(a.sample_ids[2].item<int64_t>(), 1036);
  EXPECT_NEAR(a.images[2][0][0][0].item<float>(), 36 / 255.0, 1e-6);
  std::vector<std::size_t> order(37);
  for (std::size_t i = 0; i < 37; ++i) order[i] = 36 - i;
  BatchLoader loader(ds, order, 8, p, {}, 2);
  EXPECT_EQ(loader.num_batches(), 5u);
  Batch batch;
  std::size_t seen = 0, batches = 0;
  while (loader.next(batch)) {
    for (std::size_t i = 0; i < batch.indices.size(); ++i)
      EXPECT_EQ(batch.sample_ids[static_cast<long>(i)].item<int64_t>(),
                1000 + static_cast<int64_t>(order[seen + i]));
    seen += batch.indices.size();
    ++batches;
  }
  EXPECT_EQ(seen, 37u);
  EXPECT_EQ(batches, 5u);
  // errors in workers surface as the original isplitee::Error
  auto bad = [](const cv::Mat&, std::size_t) -> cv::Mat { fail(ErrorCode::kData, "bad sample"); };
  EXPECT_THROW(load_batch(*ds, idx, p, bad, 2), Error);
}

TEST(Augment, RandomCropAndFlipAreSeeded) {
  Toy ds(1, 32, 32, 3);
  const cv::Mat img = ds.image(0);
  Rng r1(4, {1}), r2(4, {1});
  const cv::Mat a = random_crop(img, 32, 4, r1), b = random_crop(img, 32, 4, r2);
  EXPECT_EQ(a.size(), cv::Size(32, 32));
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0);
  int flips = 0;
  Rng r(9);
  for (int i = 0; i < 400; ++i) {
    const cv::Mat f = random_hflip(img, r);
    flips += f.at<cv::Vec3b>(0, 0) != img.at<cv::Vec3b>(0, 0);
  }
  EXPECT_NEAR(flips / 400.0, 0.5, 0.08);
  // padding shows up as zeros somewhere in most crops
  int with_zero_border = 0;
  for (int i = 0; i < 50; ++i) {
    const cv::Mat c = random_crop(img, 32, 4, r);
    cv::Mat g;
    cv::cvtColor(c, g, cv::COLOR_RGB2GRAY);
    with_zero_border += cv::countNonZero(g) < 32 * 32;
  }
  EXPECT_GT(with_zero_border, 40);
}
