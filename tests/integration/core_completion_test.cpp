// Bash completion and the man page, both generated from the CLI definition: `isplitee <TAB>`
// completes subcommands (the completion function called with COMP_WORDS/COMP_CWORD set), options
// of a subcommand complete, and `man -l` renders the generated page; after `cmake --install`,
// `man isplitee` finds it through MANPATH and the completion file is in place.

#include <array>
#include <cstdio>

#include <gtest/gtest.h>

#include "support/cli.hpp"

namespace isplitee::testing {
namespace {
namespace fs = std::filesystem;

// Output of a shell command (stdout and stderr) and its exit code.
CliResult shell(const std::string& cmd) {
  CliResult r;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.output.append(buf.data(), n);
  const int status = ::pclose(p);
  r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// The words bash would offer for the command line `words` (the last one being completed).
std::string complete(const fs::path& script, const std::string& words, int cword) {
  const auto r =
      shell("bash -c " + shell_quote("source " + shell_quote(script.string()) + "; COMP_WORDS=(" +
                                     words + "); COMP_CWORD=" + std::to_string(cword) +
                                     "; _isplitee; printf '%s\\n' \"${COMPREPLY[@]}\""));
  EXPECT_EQ(r.rc, 0) << r.output;
  return r.output;
}

bool has_line(const std::string& out, const std::string& line) {
  return ("\n" + out).find("\n" + line + "\n") != std::string::npos;
}

TEST(Completion, TabCompletesSubcommandsAndOptions) {
  TempDir dir("completion");
  const auto gen = run_cli("completion bash > " + shell_quote((dir / "isplitee.bash").string()));
  ASSERT_EQ(gen.rc, 0) << gen.output;
  const fs::path script = dir / "isplitee.bash";
  auto out = complete(script, "isplitee ''", 1);
  for (const char* sub : {"replay", "report", "list", "config", "run", "train", "trace"})
    EXPECT_TRUE(has_line(out, sub)) << sub << "\n" << out;
  out = complete(script, "isplitee re", 1);
  EXPECT_TRUE(has_line(out, "replay")) << out;
  EXPECT_TRUE(has_line(out, "report")) << out;
  EXPECT_FALSE(has_line(out, "list")) << out;
  out = complete(script, "isplitee replay --rep", 2);
  EXPECT_TRUE(has_line(out, "--repeats")) << out;
  out = complete(script, "isplitee -q config sh", 3);
  EXPECT_TRUE(has_line(out, "show")) << out;
  // The generated file of the build is the same script.
  const fs::path built = fs::path(ISPLITEE_BINARY_DIR) / "apps/isplitee/isplitee.bash";
  ASSERT_TRUE(fs::exists(built));
  EXPECT_EQ(shell("cmp " + shell_quote(built.string()) + " " + shell_quote(script.string())).rc, 0);
}

TEST(ManPage, RendersAndInstallsWhereManFindsIt) {
  const fs::path page = fs::path(ISPLITEE_BINARY_DIR) / "apps/isplitee/isplitee.1";
  if (!fs::exists(page)) GTEST_SKIP() << "help2man was not found at configure time";
  if (shell("command -v man").rc != 0) GTEST_SKIP() << "no man";
  auto r = shell("MANWIDTH=100 man -l " + shell_quote(page.string()) + " | cat");
  ASSERT_EQ(r.rc, 0) << r.output;
  for (const char* s : {"isplitee", "COMMANDS", "replay", "--repeats", "docs/method.md"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s << "\n" << r.output.substr(0, 2000);
  TempDir dir("install");
  r = shell("cmake --install " + shell_quote(ISPLITEE_BINARY_DIR) + " --prefix " +
            shell_quote(dir.path().string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(fs::exists(dir / "share/bash-completion/completions/isplitee"));
  r = shell("MANPATH=" + shell_quote((dir / "share/man").string()) + " man -w isplitee");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find((dir / "share/man/man1/isplitee.1").string()), std::string::npos)
      << r.output;
  r = shell("MANPATH=" + shell_quote((dir / "share/man").string()) +
            " MANWIDTH=100 man isplitee | cat");
  EXPECT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("COMMANDS"), std::string::npos);
}

}  // namespace
}  // namespace isplitee::testing
