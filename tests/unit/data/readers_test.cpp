// Dataset readers on fixtures written here in the exact real formats, and on the real
// Fashion-MNIST files from Debian's dataset-fashion-mnist package.
#include "isplitee/data/readers.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "isplitee/common/error.hpp"
#include "isplitee/data/config.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace isplitee;
using namespace isplitee::data;

namespace {

fs::path temp_dir(const std::string& name) {
  return isplitee::testing::scratch_dir("data_" + name);
}

void write_bytes(const fs::path& p, const std::string& b) {
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary).write(b.data(), static_cast<std::streamsize>(b.size()));
}

// One CIFAR record: label byte(s), then R, G, B planes of 32×32. Pixel (y, x, c) = (y + 3x + 50c +
// seed) % 256.
std::string cifar_record(std::vector<std::uint8_t> labels, int seed) {
  std::string r(labels.begin(), labels.end());
  for (int c = 0; c < 3; ++c)
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x)
        r.push_back(static_cast<char>((y + 3 * x + 50 * c + seed) % 256));
  return r;
}

std::string capture_error(const std::function<void()>& f, ErrorCode expected = ErrorCode::kData) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(expected)) << e.what();
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
          static_cast<char>(v)};
}

// IDX files: n images of rows×cols with pixel (i, y, x) = (i*7 + y + x) % 256, labels i % 10.
void write_idx(const fs::path& dir, const std::string& which, int n, int rows, int cols, bool gzip,
               std::uint32_t image_magic = 2051, int label_count = -1) {
  std::string img = be32(image_magic) + be32(static_cast<std::uint32_t>(n)) +
                    be32(static_cast<std::uint32_t>(rows)) + be32(static_cast<std::uint32_t>(cols));
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) img.push_back(static_cast<char>((i * 7 + y + x) % 256));
  const int nl = label_count < 0 ? n : label_count;
  std::string lab = be32(2049) + be32(static_cast<std::uint32_t>(nl));
  for (int i = 0; i < nl; ++i) lab.push_back(static_cast<char>(i % 10));
  const fs::path ip = dir / (which + "-images-idx3-ubyte"),
                 lp = dir / (which + "-labels-idx1-ubyte");
  write_bytes(ip, img);
  write_bytes(lp, lab);
  if (gzip) {
    ASSERT_EQ(std::system(("gzip -f " + ip.string() + " " + lp.string()).c_str()), 0);
  }
}

}  // namespace

TEST(Cifar10, ReadsBinaryBatchesInRgbOrder) {
  const fs::path dir = temp_dir("cifar10") / "cifar-10-batches-bin";
  for (int b = 1; b <= 5; ++b) {
    std::string bytes;
    for (int r = 0; r < 3; ++r)
      bytes += cifar_record({static_cast<std::uint8_t>((b + r) % 10)}, b * 10 + r);
    write_bytes(dir / ("data_batch_" + std::to_string(b) + ".bin"), bytes);
  }
  write_bytes(dir / "test_batch.bin", cifar_record({9}, 99) + cifar_record({0}, 98));
  const auto train = read_cifar10(dir.parent_path(), true);
  ASSERT_EQ(train->size(), 15u);
  EXPECT_EQ(train->channels(), 3);
  EXPECT_EQ(train->class_names().size(), 10u);
  EXPECT_EQ(train->class_names()[0], "airplane");
  EXPECT_EQ(train->label(4), (2 + 1) % 10);  // batch 2, record 1
  const cv::Mat m = train->image(4);
  ASSERT_EQ(m.type(), CV_8UC3);
  const int seed = 21;
  for (int c = 0; c < 3; ++c) EXPECT_EQ(m.at<cv::Vec3b>(5, 7)[c], (5 + 21 + 50 * c + seed) % 256);
  const auto test = read_cifar10(dir.parent_path(), false);
  ASSERT_EQ(test->size(), 2u);
  EXPECT_EQ(test->label(0), 9);
  EXPECT_EQ(test->sample_id(1), 50001);
  EXPECT_EQ(train->sample_id(14), 14);
  fs::remove_all(dir.parent_path());
}

TEST(Cifar10, TruncatedFileNamesFileAndOffset) {
  const fs::path dir = temp_dir("cifar10_bad");
  write_bytes(dir / "test_batch.bin", cifar_record({1}, 0) + cifar_record({2}, 1).substr(0, 1000));
  const std::string msg = capture_error([&] { read_cifar10(dir, false); });
  EXPECT_NE(msg.find("test_batch.bin"), std::string::npos) << msg;
  EXPECT_NE(msg.find("byte offset 3073"), std::string::npos) << msg;
  write_bytes(dir / "test_batch.bin", cifar_record({12}, 0));
  const std::string msg2 = capture_error([&] { read_cifar10(dir, false); });
  EXPECT_NE(msg2.find("label 12"), std::string::npos) << msg2;
  const std::string missing =
      capture_error([&] { read_cifar10(dir / "nope", false); }, ErrorCode::kIo);
  EXPECT_NE(missing.find("download-cifar10.sh"), std::string::npos) << missing;
  fs::remove_all(dir);
}

TEST(Cifar100, ReadsFineLabels) {
  const fs::path dir = temp_dir("cifar100") / "cifar-100-binary";
  write_bytes(dir / "train.bin", cifar_record({3, 77}, 0) + cifar_record({19, 99}, 1));
  write_bytes(dir / "test.bin", cifar_record({0, 5}, 2));
  const auto train = read_cifar100(dir.parent_path(), true);
  ASSERT_EQ(train->size(), 2u);
  EXPECT_EQ(train->label(0), 77);
  EXPECT_EQ(train->label(1), 99);
  EXPECT_EQ(train->class_names().size(), 100u);
  EXPECT_EQ(train->class_names()[99], "worm");
  EXPECT_EQ(train->image(1).at<cv::Vec3b>(0, 0)[2], (100 + 1) % 256);
  EXPECT_EQ(read_cifar100(dir.parent_path(), false)->label(0), 5);
  fs::remove_all(dir.parent_path());
}

TEST(Idx, ReadsGzipAndPlain) {
  for (bool gz : {true, false}) {
    const fs::path dir = temp_dir(gz ? "idx_gz" : "idx_plain");
    write_idx(dir, "train", 20, 28, 28, gz);
    write_idx(dir, "t10k", 5, 28, 28, gz);
    const auto train = read_idx_dataset(dir, true, true);
    ASSERT_EQ(train->size(), 20u);
    EXPECT_EQ(train->channels(), 1);
    EXPECT_EQ(train->label(13), 3);
    EXPECT_EQ(train->class_names()[9], "Ankle boot");
    const cv::Mat m = train->image(13);
    ASSERT_EQ(m.type(), CV_8UC1);
    EXPECT_EQ(m.at<std::uint8_t>(2, 5), (13 * 7 + 2 + 5) % 256);
    const auto test = read_idx_dataset(dir, false, false);
    EXPECT_EQ(test->size(), 5u);
    EXPECT_EQ(test->sample_id(0), 60000);
    EXPECT_EQ(test->class_names()[3], "3");
    fs::remove_all(dir);
  }
}

TEST(Idx, WrongMagicWrongCountAndTruncationAreClearErrors) {
  const fs::path dir = temp_dir("idx_bad");
  write_idx(dir, "train", 4, 8, 8, false, /*image_magic=*/2049);
  std::string msg = capture_error([&] { read_idx_dataset(dir, true, false); });
  EXPECT_NE(msg.find("train-images-idx3-ubyte"), std::string::npos) << msg;
  EXPECT_NE(msg.find("magic number 2049"), std::string::npos) << msg;
  write_idx(dir, "train", 4, 8, 8, true, 2051, /*label_count=*/3);
  msg = capture_error([&] { read_idx_dataset(dir, true, false); });
  EXPECT_NE(msg.find("4 images"), std::string::npos) << msg;
  EXPECT_NE(msg.find("3 labels"), std::string::npos) << msg;
  fs::remove_all(dir);
  fs::create_directories(dir);
  write_idx(dir, "train", 4, 8, 8, false);
  fs::resize_file(dir / "train-images-idx3-ubyte", 16 + 100);
  msg = capture_error([&] { read_idx_dataset(dir, true, false); });
  EXPECT_NE(msg.find("byte offset 116"), std::string::npos) << msg;
  // a truncated gzip stream
  write_idx(dir, "train", 40, 28, 28, true);
  const fs::path gz = dir / "train-images-idx3-ubyte.gz";
  fs::resize_file(gz, fs::file_size(gz) / 2);
  msg = capture_error([&] { read_idx_dataset(dir, true, false); });
  EXPECT_NE(msg.find("truncated gzip"), std::string::npos) << msg;
  fs::remove_all(dir);
}

TEST(Idx, RealFashionMnistFromDebianPackage) {
  const fs::path root = default_root("fashion-mnist");
  if (!fs::exists(root / "train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist not installed";
  DatasetConfig cfg;  // defaults: fashion-mnist at the Debian path
  const auto train = open_dataset(cfg, true), test = open_dataset(cfg, false);
  ASSERT_EQ(train->size(), 60000u);
  ASSERT_EQ(test->size(), 10000u);
  for (auto c : class_counts(*train)) EXPECT_EQ(c, 6000u);
  for (auto c : class_counts(*test)) EXPECT_EQ(c, 1000u);
  const cv::Mat m = train->image(0);
  EXPECT_EQ(m.rows, 28);
  EXPECT_EQ(m.cols, 28);
  EXPECT_EQ(train->label(0), 9);  // the first Fashion-MNIST training image is an ankle boot
  EXPECT_GT(cv::mean(m)[0], 10);
}

TEST(Caltech256, ReadsClassFoldersLazilyAndHandlesBadFiles) {
  const fs::path root = temp_dir("caltech");
  const fs::path cats = root / "256_ObjectCategories";
  const std::vector<std::string> classes{"001.ak47", "002.american-flag", "257.clutter"};
  int k = 0;
  for (const auto& c : classes)
    for (int i = 1; i <= 3; ++i) {
      cv::Mat img(40 + 3 * k, 50, CV_8UC3, cv::Scalar(10 * k, 100, 200));  // BGR on disk
      fs::create_directories(cats / c);
      const auto name = c.substr(0, 3) + "_" + std::string(4 - std::to_string(i).size(), '0') +
                        std::to_string(i) + ".jpg";
      ASSERT_TRUE(cv::imwrite((cats / c / name).string(), img));
      ++k;
    }
  auto ds = read_caltech256(root, BadImagePolicy::kError);
  ASSERT_EQ(ds->size(), 9u);
  EXPECT_EQ(ds->class_names().size(), 3u);
  EXPECT_EQ(ds->class_names()[2], "clutter");
  EXPECT_EQ(ds->label(8), 2);
  const cv::Mat m = ds->image(4);
  EXPECT_EQ(m.rows, 40 + 3 * 4);
  EXPECT_NEAR(m.at<cv::Vec3b>(10, 10)[0], 200, 3);  // RGB order: R first
  EXPECT_NEAR(m.at<cv::Vec3b>(10, 10)[2], 40, 3);
  // a corrupt (truncated) JPEG and a non-image file
  const fs::path good = cats / "002.american-flag" / "002_0001.jpg";
  const std::string bytes = [&] {
    std::ifstream in(good, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  }();
  write_bytes(cats / "002.american-flag" / "002_0009.jpg", bytes.substr(0, bytes.size() / 2));
  write_bytes(cats / "001.ak47" / "RENAME2", "not an image\n");
  const std::string msg = capture_error([&] { read_caltech256(root, BadImagePolicy::kError); });
  EXPECT_NE(msg.find("RENAME2"), std::string::npos) << msg;
  fs::remove(cats / "001.ak47" / "RENAME2");
  const std::string msg2 = capture_error([&] { read_caltech256(root, BadImagePolicy::kError); });
  EXPECT_NE(msg2.find("002_0009.jpg"), std::string::npos) << msg2;
  EXPECT_NE(msg2.find("truncated JPEG"), std::string::npos) << msg2;
  write_bytes(cats / "001.ak47" / "RENAME2", "not an image\n");
  ds = read_caltech256(root, BadImagePolicy::kSkip);
  EXPECT_EQ(ds->size(), 9u);
  // ids stay stable: the skipped files keep their positions in the sorted listing
  EXPECT_EQ(ds->sample_id(3), 4);
  // a JPEG that passes the cheap check but does not decode: clear error at read time
  write_bytes(cats / "257.clutter" / "257_0001.jpg", "\xFF\xD8\xFF\xE0garbage-garbage\xFF\xD9");
  ds = read_caltech256(root, BadImagePolicy::kSkip);
  const std::string msg3 = capture_error([&] { ds->image(ds->size() - 3); });
  EXPECT_NE(msg3.find("257_0001.jpg"), std::string::npos) << msg3;
  fs::remove_all(root);
}

TEST(ImageFolder, OneFolderPerClass) {
  const fs::path root = temp_dir("folder");
  for (const std::string c : {"cat", "dog"})
    for (int i = 0; i < 2; ++i) {
      fs::create_directories(root / c);
      ASSERT_TRUE(cv::imwrite((root / c / (std::to_string(i) + ".png")).string(),
                              cv::Mat(12, 12, CV_8UC3, cv::Scalar(i, 2, 3))));
    }
  auto ds = read_image_folder(root, BadImagePolicy::kError);
  EXPECT_EQ(ds->size(), 4u);
  EXPECT_EQ(ds->class_names(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(ds->label(3), 1);
  EXPECT_EQ(ds->image(1).at<cv::Vec3b>(0, 0)[2], 1);  // B=1 on disk (BGR) is the third RGB channel
  const auto gray = read_image_folder(root, BadImagePolicy::kError, true);
  EXPECT_EQ(gray->image(0).channels(), 1);
  write_bytes(root / "dog" / "notes.txt", "x");
  capture_error([&] { read_image_folder(root, BadImagePolicy::kError); });
  EXPECT_EQ(read_image_folder(root, BadImagePolicy::kSkip)->size(), 4u);
  fs::remove_all(root);
}
