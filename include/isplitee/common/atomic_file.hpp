#pragma once
/// \file Every output file is written to a temporary name and renamed (no half-written outputs).

#include <filesystem>
#include <functional>
#include <ostream>
#include <string>
#include <string_view>

namespace isplitee {

/// Writes `path` atomically: `writer` fills a stream on `path.tmp.<pid>.<n>`, which is flushed,
/// fsync'ed and renamed over `path`. On any exception the temporary file is removed and the
/// exception propagates; `path` is then untouched. Parent directories are created. A `path` that
/// is a directory fails before `writer` runs.
void write_file_atomic(const std::filesystem::path& path,
                       const std::function<void(std::ostream&)>& writer, bool binary = false);

/// Checks, before any work, that a user-given output file can be written: `path` is not a
/// directory, its parent directory exists (nothing is created) and is writable. Throws Error(kIo)
/// saying what is wrong ("cannot write runs: is a directory").
void check_output_file(const std::filesystem::path& path);

/// Writes `contents` to `path` atomically.
void write_text_atomic(const std::filesystem::path& path, std::string_view contents);

/// Reads a whole file; throws Error(kIo) naming the file when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

/// A fresh temporary sibling name for `path` (used by writers that need a file name, not a stream).
std::filesystem::path temporary_sibling(const std::filesystem::path& path);

/// Renames `tmp` over `path` (atomic on one filesystem); throws Error(kIo) on failure.
void commit_file(const std::filesystem::path& tmp, const std::filesystem::path& path);

/// Prepares an output directory: creates it when missing; when it exists and is not empty, throws
/// Error(kIo) unless `force` (then the directory is kept and its files are overwritten one by one).
void prepare_output_dir(const std::filesystem::path& dir, bool force);

}  // namespace isplitee
