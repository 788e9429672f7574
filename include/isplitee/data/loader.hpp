#pragma once
/// \file Images to tensors: preprocessing, batch loading with worker threads, augmentation.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include <torch/types.h>
#include <opencv2/core.hpp>

#include "isplitee/common/rng.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/data/dataset.hpp"

namespace isplitee::data {

/// Applies resize / center crop / channel conversion to a uint8 image (no normalization).
cv::Mat preprocess_image(const cv::Mat& img, const Preprocess& p);

/// uint8 image (H×W, 1 or 3 channels) → float C×H×W tensor on [0,1], preprocessed and normalized
/// ((x − mean) / std per channel).
torch::Tensor to_tensor(const cv::Mat& img, const Preprocess& p);

/// Per-sample transform run by loader workers before preprocessing: (image, dataset index) → image.
/// Must be thread-safe; seed any randomness from the index (e.g. Rng(seed, {epoch, sample_id})).
using SampleTransform = std::function<cv::Mat(const cv::Mat&, std::size_t index)>;

/// One batch: images N×C×H×W float, labels N int64, sample ids N int64.
struct Batch {
  torch::Tensor images;
  torch::Tensor labels;
  torch::Tensor sample_ids;
  std::vector<std::size_t> indices;  ///< dataset positions, in batch order
};

/// Loads `indices` of `ds` into one batch using `workers` threads (0 = hardware threads). The
/// result does not depend on the number of workers. All images must have the same size after
/// preprocessing.
Batch load_batch(const Dataset& ds, const std::vector<std::size_t>& indices, const Preprocess& p,
                 const SampleTransform& transform = {}, int workers = 1);

/// Iterates over a list of indices in batches, prefetching the next batch on a background thread.
class BatchLoader {
 public:
  /// `order` lists dataset positions (e.g. a shuffled permutation); the last batch may be smaller.
  BatchLoader(std::shared_ptr<const Dataset> ds, std::vector<std::size_t> order,
              std::size_t batch_size, Preprocess p, SampleTransform transform = {},
              int workers = 1);
  ~BatchLoader();
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;
  /// Number of batches.
  std::size_t num_batches() const noexcept;
  /// Fills `out` with the next batch; false when the order is exhausted.
  bool next(Batch& out);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Training augmentation: pads by `padding` (zeros) and takes a random size×size crop.
cv::Mat random_crop(const cv::Mat& img, int size, int padding, Rng& rng);
/// Training augmentation: horizontal flip with probability `p`.
cv::Mat random_hflip(const cv::Mat& img, Rng& rng, double p = 0.5);

}  // namespace isplitee::data
