#include "isplitee/data/dataset.hpp"

#include "isplitee/common/error.hpp"

namespace isplitee::data {

Subset::Subset(std::shared_ptr<const Dataset> base, std::vector<std::size_t> indices,
               std::string name)
    : base_(std::move(base)), indices_(std::move(indices)), name_(std::move(name)) {
  ISPLITEE_ASSERT(base_ != nullptr, "Subset of a null dataset");
  const std::size_t n = base_->size();
  for (std::size_t i = 0; i < indices_.size(); ++i)
    ISPLITEE_CHECK_CODE(indices_[i] < n, ErrorCode::kData, name_, ": index ", indices_[i],
                        " at position ", i, " is outside the dataset (", n, " samples, valid 0..",
                        n == 0 ? 0 : n - 1, ")");
}

cv::Mat Subset::image(std::size_t i) const { return base_->image(indices_.at(i)); }
std::int64_t Subset::label(std::size_t i) const { return base_->label(indices_.at(i)); }
std::int64_t Subset::sample_id(std::size_t i) const { return base_->sample_id(indices_.at(i)); }

std::vector<std::size_t> class_counts(const Dataset& ds) {
  std::vector<std::size_t> counts(ds.num_classes(), 0);
  for (std::size_t i = 0; i < ds.size(); ++i) {
    const auto l = ds.label(i);
    ISPLITEE_CHECK_CODE(l >= 0 && static_cast<std::size_t>(l) < counts.size(), ErrorCode::kData,
                        ds.name(), ": sample ", i, " has label ", l, " outside 0..",
                        counts.size() - 1);
    ++counts[static_cast<std::size_t>(l)];
  }
  return counts;
}

}  // namespace isplitee::data
