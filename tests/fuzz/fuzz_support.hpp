#pragma once
// Shared by the fuzz harnesses (FUZZING.md): the contract every parser keeps on any input, inputs
// that hold several files, and a scratch directory for parsers that read from paths.
//
// The contract: a parser either accepts its input or throws isplitee::Error whose code is usage,
// data or I/O (the CLI's exit codes 2, 3, 4) and whose message is one non-empty line. Any other
// exception (the CLI would answer "internal error", exit 1), a crash, a sanitizer report, a hang
// or a runaway allocation is a finding.

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "isplitee/common/error.hpp"

namespace isplitee::fuzz {

/// Reports a broken contract and aborts, so that libFuzzer keeps the input as a crash.
template <typename... Args>
[[noreturn]] void die(const Args&... args) {
  const std::string msg = detail::concat(args...);
  std::fprintf(stderr, "fuzz contract violated: %s\n", msg.c_str());
  std::abort();
}

/// Checks an invariant of a parser's output.
#define ISPLITEE_FUZZ_CHECK(cond)                               \
  do {                                                          \
    if (!(cond)) ::isplitee::fuzz::die("check failed: " #cond); \
  } while (0)

/// As ISPLITEE_FUZZ_CHECK, with details appended to the report.
#define ISPLITEE_FUZZ_CHECK_MSG(cond, ...)                                        \
  do {                                                                            \
    if (!(cond)) ::isplitee::fuzz::die("check failed: " #cond ": ", __VA_ARGS__); \
  } while (0)

/// Checks that a rejected input got the documented kind of error.
inline void check_error(const Error& e) {
  const auto code = e.code();
  const std::string_view what = e.what();
  if (code != ErrorCode::kUsage && code != ErrorCode::kData && code != ErrorCode::kIo)
    die("error with code ", static_cast<int>(code), " (expected 2, 3 or 4): ", what);
  if (what.empty()) die("empty error message");
  if (what.find_first_of("\n\r") != std::string_view::npos)
    die("error message is not one line: ", what);
}

/// Runs `parse`; returns true when it accepted the input, false when it rejected it cleanly.
template <typename Fn>
bool accepts(Fn&& parse) {
  try {
    parse();
    return true;
  } catch (const Error& e) {
    check_error(e);
    return false;
  } catch (const std::exception& e) {
    die("escaped ", typeid(e).name(), " (the CLI would exit 1, internal error): ", e.what());
  }
}

/// Separates the files of a multi-file input (seeds are real files joined with it).
inline constexpr std::string_view kFileSeparator = "\n=====ISPLITEE-FILE=====\n";

/// The files of a multi-file input, in order (one file when there is no separator).
inline std::vector<std::string> split_files(const std::uint8_t* data, std::size_t size) {
  const std::string_view all(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto pos = all.find(kFileSeparator, start);
    if (pos == std::string_view::npos) {
      out.emplace_back(all.substr(start));
      return out;
    }
    out.emplace_back(all.substr(start, pos - start));
    start = pos + kFileSeparator.size();
  }
}

/// A fresh per-process directory (on tmpfs when /dev/shm exists), removed at exit.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    const std::filesystem::path base = std::filesystem::is_directory("/dev/shm")
                                           ? std::filesystem::path("/dev/shm")
                                           : std::filesystem::temp_directory_path();
    auto d = base / ("isplitee_fuzz_" + std::to_string(::getpid()));
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(
          (std::filesystem::is_directory("/dev/shm") ? std::filesystem::path("/dev/shm")
                                                     : std::filesystem::temp_directory_path()) /
              ("isplitee_fuzz_" + std::to_string(::getpid())),
          ec);
    });
    return d;
  }();
  return dir;
}

/// An empty directory under scratch_dir() (emptied on every call).
inline std::filesystem::path fresh_dir(const std::string& name) {
  const auto d = scratch_dir() / name;
  std::error_code ec;
  std::filesystem::remove_all(d, ec);
  std::filesystem::create_directories(d);
  return d;
}

/// The bytes of the file at `path`.
inline std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in) die("cannot read scratch file ", path.string());
  return bytes;
}

/// Writes `bytes` to `path` as they are.
inline void write_file(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  if (!out) die("cannot write scratch file ", path.string());
}

}  // namespace isplitee::fuzz
