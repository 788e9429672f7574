#pragma once
// A tiny MNIST-format dataset for integration tests: IDX files written here, learnable in one
// epoch by a small network but not perfectly.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "isplitee/common/rng.hpp"

namespace isplitee::testing {

inline void put_be32(std::ofstream& os, std::uint32_t v) {
  const unsigned char b[4] = {static_cast<unsigned char>(v >> 24),
                              static_cast<unsigned char>(v >> 16),
                              static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  os.write(reinterpret_cast<const char*>(b), 4);
}

/// Writes `<prefix>-images-idx3-ubyte` and `<prefix>-labels-idx1-ubyte` (plain, not gzipped) with
/// n 28×28 images: class c is a bright bar at a class-dependent place plus noise.
inline void write_tiny_idx(const std::filesystem::path& dir, const std::string& prefix,
                           std::size_t n, std::uint64_t seed) {
  std::filesystem::create_directories(dir);
  std::ofstream img(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary);
  std::ofstream lab(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
  put_be32(img, 2051);
  put_be32(img, static_cast<std::uint32_t>(n));
  put_be32(img, 28);
  put_be32(img, 28);
  put_be32(lab, 2049);
  put_be32(lab, static_cast<std::uint32_t>(n));
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(rng.uniform_int(10));
    const auto label = static_cast<unsigned char>(c);
    lab.write(reinterpret_cast<const char*>(&label), 1);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const bool bar = (c < 5) ? (x >= 4 + 4 * c && x < 7 + 4 * c)
                                 : (y >= 4 + 4 * (c - 5) && y < 7 + 4 * (c - 5));
        const double v = std::clamp((bar ? 200.0 : 30.0) + rng.normal() * 45.0, 0.0, 255.0);
        const auto p = static_cast<unsigned char>(v);
        img.write(reinterpret_cast<const char*>(&p), 1);
      }
  }
}

}  // namespace isplitee::testing
