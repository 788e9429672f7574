#pragma once
// A tiny MNIST-format dataset (IDX files, not gzipped) a small network learns in one epoch but not
// perfectly: class c is a bright bar at a class-dependent place plus noise.

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "isplitee/common/rng.hpp"

namespace isplitee::testing {

inline void put_u32_be(std::ofstream& os, std::uint32_t v) {
  const unsigned char b[4] = {static_cast<unsigned char>(v >> 24),
                              static_cast<unsigned char>(v >> 16),
                              static_cast<unsigned char>(v >> 8), static_cast<unsigned char>(v)};
  os.write(reinterpret_cast<const char*>(b), 4);
}

/// Writes <dir>/<prefix>-images-idx3-ubyte and -labels-idx1-ubyte with n 28×28 images.
inline void write_tiny_mnist(const std::filesystem::path& dir, const std::string& prefix,
                             std::size_t n, std::uint64_t seed) {
  std::filesystem::create_directories(dir);
  std::ofstream img(dir / (prefix + "-images-idx3-ubyte"), std::ios::binary);
  std::ofstream lab(dir / (prefix + "-labels-idx1-ubyte"), std::ios::binary);
  put_u32_be(img, 2051);
  put_u32_be(img, static_cast<std::uint32_t>(n));
  put_u32_be(img, 28);
  put_u32_be(img, 28);
  put_u32_be(lab, 2049);
  put_u32_be(lab, static_cast<std::uint32_t>(n));
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const int c = static_cast<int>(rng.uniform_int(10));
    const unsigned char label = static_cast<unsigned char>(c);
    lab.write(reinterpret_cast<const char*>(&label), 1);
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const bool bar = (c < 5) ? (x >= 4 + 4 * c && x < 7 + 4 * c)
                                 : (y >= 4 + 4 * (c - 5) && y < 7 + 4 * (c - 5));
        double v = (bar ? 200.0 : 30.0) + rng.normal(0.0, 45.0);
        v = std::min(255.0, std::max(0.0, v));
        const unsigned char p = static_cast<unsigned char>(v);
        img.write(reinterpret_cast<const char*>(&p), 1);
      }
  }
}

}  // namespace isplitee::testing
