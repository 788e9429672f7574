#pragma once
// A tiny generated image-folder dataset and a tiny multi-exit model for train/tracegen tests
// (seconds to train, so the tests stay fast).

#include <filesystem>
#include <string>

#include <unistd.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "isplitee/common/rng.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/model/config.hpp"
#include "support/temp_dir.hpp"

namespace isplitee::tiny {

/// A fresh, empty temporary directory named after `tag`.
inline std::filesystem::path fresh_dir(const std::string& tag) {
  return isplitee::testing::scratch_dir(tag);
}

/// 3 classes × `per_class` gray 16×16 PNGs: a bright horizontal bar, a vertical bar, or a blob,
/// at a random position with noise, so that the classes are learnable but not trivially.
inline std::filesystem::path make_tiny_folder(const std::filesystem::path& root,
                                              int per_class = 40) {
  const char* names[3] = {"0_hbar", "1_vbar", "2_blob"};
  Rng rng(123);
  for (int c = 0; c < 3; ++c) {
    std::filesystem::create_directories(root / names[c]);
    for (int i = 0; i < per_class; ++i) {
      cv::Mat img(16, 16, CV_8UC1);
      for (int y = 0; y < 16; ++y)
        for (int x = 0; x < 16; ++x)
          img.at<unsigned char>(y, x) = static_cast<unsigned char>(40 + rng.uniform_int(60));
      const int p = 3 + static_cast<int>(rng.uniform_int(10));
      if (c == 0) cv::rectangle(img, cv::Rect(2, p, 12, 2), cv::Scalar(230), cv::FILLED);
      if (c == 1) cv::rectangle(img, cv::Rect(p, 2, 2, 12), cv::Scalar(230), cv::FILLED);
      if (c == 2) cv::circle(img, cv::Point(p, 15 - p), 3, cv::Scalar(230), cv::FILLED);
      char file[32];
      std::snprintf(file, sizeof file, "%03d.png", i);
      cv::imwrite((root / names[c] / file).string(), img);
    }
  }
  return root;
}

/// The data section for the tiny folder dataset.
inline data::DatasetConfig tiny_data(const std::filesystem::path& root) {
  data::DatasetConfig d;
  d.name = "folder";
  d.root = root.string();
  d.val_fraction = 0.15;
  d.test_fraction = 0.15;
  d.preprocess.channels = 1;
  d.preprocess.mean = {0.3};
  d.preprocess.std = {0.3};
  return d;
}

/// A very small CIFAR-style ResNet (depth 8, width 4) for 16×16 gray inputs, 3 classes.
inline model::ModelConfig tiny_model() {
  model::ModelConfig m;
  m.arch = "resnet_cifar";
  m.depth = 8;
  m.width = 4;
  m.in_channels = 1;
  m.num_classes = 3;
  m.input_size = 16;
  m.dropout = 0.0;
  return m;
}

}  // namespace isplitee::tiny
