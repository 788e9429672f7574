#pragma once
// Helpers for integration tests: run the isplitee binary and capture its output and exit code.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace isplitee::testing {

struct CliResult {
  int rc = -1;
  std::string output;  // stdout and stderr together
};

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

/// Runs `isplitee <args>` (args already shell-quoted as needed) in `cwd`.
inline CliResult run_cli(const std::string& args, const std::filesystem::path& cwd = {}) {
  std::string cmd;
  if (!cwd.empty()) cmd = "cd " + shell_quote(cwd.string()) + " && ";
  cmd += std::string(ISPLITEE_BIN) + " --quiet " + args + " 2>&1";
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

/// A fresh temporary directory removed at scope exit.
class TempDir {
 public:
  explicit TempDir(const std::string& tag) {
    path_ = std::filesystem::temp_directory_path() /
            ("isplitee_" + tag + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto p = path_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p;
  }

 private:
  std::filesystem::path path_;
};

/// Lines of a file's output that start with "isplitee: error" (the one-line error).
inline int count_error_lines(const std::string& out) {
  int n = 0;
  std::size_t pos = 0;
  while ((pos = out.find("isplitee: error", pos)) != std::string::npos) {
    ++n;
    ++pos;
  }
  return n;
}

}  // namespace isplitee::testing
