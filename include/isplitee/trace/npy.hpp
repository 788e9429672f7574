#pragma once
/// \file Minimal NPY v1.0 reader/writer for the trace columns: little-endian float32 ('<f4') and
/// int32 ('<i4'), C order (numpy's format spec, NEP 1). Reading also accepts v2.0 headers and
/// '<f8'/'<i8' columns (converted), so arrays saved by numpy with default dtypes load too.

#include <cstdint>
#include <filesystem>
#include <vector>

namespace isplitee::trace {

/// Writes a float32 array of `shape` atomically.
void write_npy(const std::filesystem::path& path, const std::vector<float>& data,
               const std::vector<std::size_t>& shape);
/// Writes an int32 array of `shape` atomically.
void write_npy(const std::filesystem::path& path, const std::vector<std::int32_t>& data,
               const std::vector<std::size_t>& shape);
/// Reads a float array; `shape` receives its dimensions. Errors (Error kData/kIo) name the file.
std::vector<float> read_npy_f32(const std::filesystem::path& path, std::vector<std::size_t>& shape);
/// Reads an integer array; `shape` receives its dimensions. Errors (Error kData/kIo) name the file.
std::vector<std::int32_t> read_npy_i32(const std::filesystem::path& path,
                                       std::vector<std::size_t>& shape);

}  // namespace isplitee::trace
