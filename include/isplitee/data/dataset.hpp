#pragma once
/// \file The dataset interface shared by every reader (CIFAR, Caltech-256, IDX, image folders).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace isplitee::data {

/// A labelled image collection. Images are uint8, 1 channel (gray) or 3 channels in **RGB** order
/// (not OpenCV's usual BGR), at the dataset's native size. Implementations are thread-safe for
/// concurrent reads: loader threads call image(i) at the same time.
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Number of samples.
  virtual std::size_t size() const = 0;
  /// Sample `i` (0 ≤ i < size()) as a fresh uint8 matrix (CV_8UC1 or CV_8UC3 RGB); never shared.
  virtual cv::Mat image(std::size_t i) const = 0;
  /// Class index of sample `i`, in [0, class_names().size()).
  virtual std::int64_t label(std::size_t i) const = 0;
  /// Stable id of sample `i` within the whole dataset (the same image has the same id in every
  /// split and run); used to seed per-sample distortions and to key traces.
  virtual std::int64_t sample_id(std::size_t i) const = 0;
  /// Class names, indexed by label.
  virtual const std::vector<std::string>& class_names() const = 0;
  /// Channels of image(i): 1 or 3.
  virtual int channels() const = 0;
  /// Short name ("fashion-mnist", "cifar10/test", …) for logs and manifests.
  virtual std::string name() const = 0;
  /// Number of classes.
  std::size_t num_classes() const { return class_names().size(); }
};

/// A view of `base` restricted to `indices` (positions in base), keeping base's labels and sample
/// ids.
class Subset : public Dataset {
 public:
  /// Each index must be < base->size() (checked).
  Subset(std::shared_ptr<const Dataset> base, std::vector<std::size_t> indices, std::string name);
  std::size_t size() const override { return indices_.size(); }
  cv::Mat image(std::size_t i) const override;
  std::int64_t label(std::size_t i) const override;
  std::int64_t sample_id(std::size_t i) const override;
  const std::vector<std::string>& class_names() const override { return base_->class_names(); }
  int channels() const override { return base_->channels(); }
  std::string name() const override { return name_; }
  /// Positions in the base dataset.
  const std::vector<std::size_t>& indices() const noexcept { return indices_; }

 private:
  std::shared_ptr<const Dataset> base_;
  std::vector<std::size_t> indices_;
  std::string name_;
};

/// Counts samples per label (size num_classes()).
std::vector<std::size_t> class_counts(const Dataset& ds);

}  // namespace isplitee::data
