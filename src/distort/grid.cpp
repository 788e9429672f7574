// Contact sheets (rows = distortions, columns = severities) and a synthetic 224-px test scene.
#include "isplitee/distort/grid.hpp"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "isplitee/common/error.hpp"
#include "isplitee/distort/distortion.hpp"

namespace isplitee::distort {
namespace {

cv::Mat to_rgb(const cv::Mat& m) {
  if (m.channels() == 3) return m;
  cv::Mat out;
  cv::cvtColor(m, out, cv::COLOR_GRAY2RGB);
  return out;
}

constexpr double kFontScale = 0.45;
constexpr int kMaxCell = 1024;  // 21 rows x 6 columns of 1024 px already make a 400 MB sheet

}  // namespace

int min_grid_cell(bool labels) {
  if (!labels) return 8;  // the smallest image a distortion accepts
  // Column labels ("severity 5") sit one per cell: narrower cells would overprint them.
  int baseline = 0;
  const cv::Size t =
      cv::getTextSize("severity 5", cv::FONT_HERSHEY_SIMPLEX, kFontScale, 1, &baseline);
  return t.width + 8;
}

cv::Mat make_grid(const cv::Mat& img, const GridOptions& opt) {
  ISPLITEE_CHECK(!img.empty(), "grid: empty input image");
  const int min_cell = min_grid_cell(opt.labels);
  ISPLITEE_CHECK(opt.cell == 0 || (opt.cell >= min_cell && opt.cell <= kMaxCell), "grid: cell ",
                 opt.cell, " px is outside the valid range [", min_cell, ", ", kMaxCell,
                 "] (0 = the image size, at least 96)");
  std::vector<std::string> names = opt.names;
  if (names.empty()) {
    names = common_corruptions();
    for (const auto& n : extra_corruptions()) names.push_back(n);
  }
  const int side = std::min(img.rows, img.cols);
  const int cell = opt.cell > 0 ? opt.cell : std::max(96, side);
  const int label_w = opt.labels ? 150 : 0, label_h = opt.labels ? 22 : 0, pad = 2;
  const int cols = 6, rows = static_cast<int>(names.size());
  cv::Mat sheet(label_h + rows * (cell + pad), label_w + cols * (cell + pad), CV_8UC3,
                cv::Scalar(255, 255, 255));
  const auto font = cv::FONT_HERSHEY_SIMPLEX;
  if (opt.labels)
    for (int s = 0; s < cols; ++s)
      cv::putText(sheet, s == 0 ? "original" : "severity " + std::to_string(s),
                  cv::Point(label_w + s * (cell + pad) + 4, 16), font, kFontScale,
                  cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
  for (int r = 0; r < rows; ++r) {
    const int y = label_h + r * (cell + pad);
    if (opt.labels)
      cv::putText(sheet, names[static_cast<std::size_t>(r)], cv::Point(4, y + cell / 2 + 5), font,
                  kFontScale, cv::Scalar(0, 0, 0), 1, cv::LINE_AA);
    for (int s = 0; s < cols; ++s) {
      DistortionSpec spec;
      spec.name = names[static_cast<std::size_t>(r)];
      spec.severity = s;
      spec.preset = opt.preset;
      const auto d = make_distortion(spec, side);
      cv::Mat out = to_rgb(apply_seeded(*d, img, opt.seed, opt.sample_id));
      cv::Mat scaled;
      // Nearest-neighbour upscaling keeps the pixels visible on small images (28/32 px).
      cv::resize(out, scaled, cv::Size(cell, cell), 0, 0,
                 cell >= side ? cv::INTER_NEAREST : cv::INTER_AREA);
      scaled.copyTo(sheet(cv::Rect(label_w + s * (cell + pad), y, cell, cell)));
    }
  }
  return sheet;
}

cv::Mat synthetic_scene(int size) {
  ISPLITEE_CHECK(size >= 32, "synthetic_scene: size ", size, " must be at least 32");
  // Built from primitives only (no photo needed): sky gradient, sun, two hill layers with texture,
  // a house with a checkerboard window, a tree and a text sign — edges, smooth areas and colours.
  const double s = size / 224.0;
  cv::Mat img(size, size, CV_8UC3);
  for (int y = 0; y < size; ++y)
    for (int x = 0; x < size; ++x) {
      const double t = static_cast<double>(y) / size;
      img.at<cv::Vec3b>(y, x) =
          cv::Vec3b(static_cast<uchar>(90 + 100 * t), static_cast<uchar>(150 + 70 * t), 235);
    }
  auto P = [&](double x, double y) {
    return cv::Point(static_cast<int>(x * s), static_cast<int>(y * s));
  };
  cv::circle(img, P(175, 40), static_cast<int>(18 * s), cv::Scalar(255, 220, 60), cv::FILLED,
             cv::LINE_AA);
  std::vector<cv::Point> hill1, hill2;
  for (int x = 0; x <= 224; x += 4) {
    hill1.push_back(P(x, 120 + 18 * std::sin(x / 30.0)));
    hill2.push_back(P(x, 150 + 12 * std::cos(x / 22.0 + 1)));
  }
  hill1.push_back(P(224, 224));
  hill1.push_back(P(0, 224));
  hill2.push_back(P(224, 224));
  hill2.push_back(P(0, 224));
  cv::fillPoly(img, std::vector<std::vector<cv::Point>>{hill1}, cv::Scalar(60, 140, 70),
               cv::LINE_AA);
  cv::fillPoly(img, std::vector<std::vector<cv::Point>>{hill2}, cv::Scalar(90, 170, 60),
               cv::LINE_AA);
  // grass texture: deterministic short strokes
  std::uint32_t h = 12345;
  for (int i = 0; i < 400; ++i) {
    h = h * 1664525u + 1013904223u;
    const double x = (h >> 8) % 224;
    h = h * 1664525u + 1013904223u;
    const double y = 160 + (h >> 8) % 64;
    cv::line(img, P(x, y), P(x + 1, y - 5), cv::Scalar(40, 110 + (h % 60), 40), 1, cv::LINE_AA);
  }
  cv::rectangle(img, P(30, 95), P(95, 160), cv::Scalar(200, 60, 50), cv::FILLED);
  std::vector<cv::Point> roof{P(22, 97), P(62, 62), P(103, 97)};
  cv::fillPoly(img, std::vector<std::vector<cv::Point>>{roof}, cv::Scalar(110, 50, 40),
               cv::LINE_AA);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      cv::rectangle(img, P(42 + 5 * i, 108 + 5 * j), P(47 + 5 * i, 113 + 5 * j),
                    (i + j) % 2 ? cv::Scalar(250, 250, 250) : cv::Scalar(20, 20, 20), cv::FILLED);
  cv::rectangle(img, P(70, 125), P(85, 160), cv::Scalar(80, 50, 30), cv::FILLED);
  cv::rectangle(img, P(150, 120), P(158, 170), cv::Scalar(90, 60, 30), cv::FILLED);
  cv::circle(img, P(154, 110), static_cast<int>(22 * s), cv::Scalar(30, 120, 40), cv::FILLED,
             cv::LINE_AA);
  cv::rectangle(img, P(120, 180), P(210, 210), cv::Scalar(250, 250, 240), cv::FILLED);
  cv::rectangle(img, P(120, 180), P(210, 210), cv::Scalar(0, 0, 0), 1);
  cv::putText(img, "I-SplitEE", P(126, 201), cv::FONT_HERSHEY_SIMPLEX, 0.5 * s,
              cv::Scalar(10, 10, 120), std::max(1, static_cast<int>(s)), cv::LINE_AA);
  return img;  // RGB (the Scalars above are written in RGB order)
}

}  // namespace isplitee::distort
