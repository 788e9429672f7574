#pragma once
// Temporary directories for tests: one implementation instead of a copy per test file.

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace isplitee::testing {

/// A fresh, empty directory under the system temporary directory, unique per process, tag and
/// instance; removed with everything in it when the object is destroyed.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    static std::atomic<unsigned> counter{0};
    path_ =
        std::filesystem::temp_directory_path() /
        ("isplitee_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  /// The directory.
  const std::filesystem::path& path() const noexcept { return path_; }
  /// path() / name.
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }
  /// Writes `text` to path()/name (creating parent directories) and returns that path.
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

/// A fresh, empty directory that lives until the test process exits (then it is removed): for
/// helpers that hand out paths rather than scopes.
inline std::filesystem::path scratch_dir(const std::string& tag) {
  static std::mutex mu;
  static std::vector<std::unique_ptr<TempDir>> dirs;  // destroyed at exit, removing the dirs
  std::lock_guard<std::mutex> lock(mu);
  dirs.push_back(std::make_unique<TempDir>(tag));
  return dirs.back()->path();
}

}  // namespace isplitee::testing
