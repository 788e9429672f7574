#pragma once
/// \file Contact sheets: rows = distortions, columns = severities 0..5, for eyeballing a benchmark.

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace isplitee::distort {

/// Options of make_grid.
struct GridOptions {
  std::vector<std::string> names;  ///< distortions (rows); empty = all 19 ImageNet-C corruptions
  std::string preset = "auto";     ///< constant table
  int cell = 0;  ///< cell size in pixels: 0 = image size, at least 96; else min_grid_cell()..1024
  std::uint64_t seed = 0;      ///< distortion seed
  std::int64_t sample_id = 0;  ///< sample id for seeding
  bool labels = true;          ///< draw row / column labels
};

/// The smallest cell make_grid() accepts: with labels, the width of a column label (narrower
/// cells overprint them); without, 8 px.
int min_grid_cell(bool labels);

/// A uint8 RGB (or gray→RGB) contact sheet: row r = names[r], column s = severity s (0 = original).
cv::Mat make_grid(const cv::Mat& img, const GridOptions& opt);

/// A synthetic photo-like 224×224 RGB test image (sky gradient, sun, hills, textured ground,
/// a checkerboard sign and text): deterministic, needs no downloaded photo.
cv::Mat synthetic_scene(int size = 224);

}  // namespace isplitee::distort
