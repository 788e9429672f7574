#pragma once
// Helpers for integration tests: run the isplitee binary and capture its output and exit code.

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include "support/temp_dir.hpp"

namespace isplitee::testing {

struct CliResult {
  int rc = -1;
  std::string output;  // stdout and stderr together
};

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
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
