// The distortion registry (names and parameters; isplitee::core) and the kernels with their
// constant tables (isplitee::vision) agree: every entry with a severity has a kernel.
#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "isplitee/distort/distortion.hpp"
#include "isplitee/distort/grid.hpp"

namespace isplitee::distort {
namespace {

TEST(DistortionRegistry, EveryEntryWithASeverityHasAKernel) {
  const cv::Mat img(16, 16, CV_8UC3, cv::Scalar(120, 60, 200));
  for (const auto& info : builtin_distortions()) {
    if (!info.has_severity) continue;
    DistortionSpec spec;
    spec.name = info.name;
    spec.severity = 3;
    const auto d = make_distortion(spec, 32);
    EXPECT_EQ(d->describe().rfind(info.name + "(", 0), 0u) << d->describe();
    const cv::Mat out = apply_seeded(*d, img, 1, 2);
    EXPECT_EQ(out.size(), img.size()) << info.name;
  }
}

TEST(DistortionGrid, CellSizeRange) {
  const cv::Mat img(16, 16, CV_8UC3, cv::Scalar(10, 20, 30));
  GridOptions opt;
  opt.names = {"gaussian_noise"};
  opt.cell = min_grid_cell(true) - 1;
  EXPECT_THROW(make_grid(img, opt), Error);
  opt.cell = 1025;
  EXPECT_THROW(make_grid(img, opt), Error);
  opt.cell = min_grid_cell(true);
  EXPECT_EQ(make_grid(img, opt).cols, 150 + 6 * (opt.cell + 2));
  EXPECT_GE(min_grid_cell(true), 60);  // "severity 5" does not fit in fewer pixels
  EXPECT_EQ(min_grid_cell(false), 8);
}

}  // namespace
}  // namespace isplitee::distort
