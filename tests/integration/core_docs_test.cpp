// The product explains itself with files it ships: no README, doc, header, source, config or CLI
// text (`isplitee list`, every `--help`) points at a document outside the repository, and every
// Markdown file or link it names exists in the repository.

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/cli.hpp"

namespace isplitee::testing {
namespace {
namespace fs = std::filesystem;

const fs::path kRoot = ISPLITEE_SOURCE_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Names that point outside the repository, whatever the context.
const std::vector<std::string>& forbidden() {
  static const std::vector<std::string> k = {
      "METHOD.md", "DESIGN.md", "../shared", "shared/spec", "corruption-constants.md", "/work/"};
  return k;
}

// Files the run writes (named in texts, never shipped).
bool generated_name(const std::string& name) { return name == "report.md"; }

// Problems of one text: forbidden names, and *.md names that resolve to no file (relative to the
// repository root, docs/, or `dir`).
std::vector<std::string> problems(const std::string& text, const fs::path& dir,
                                  const std::string& where) {
  std::vector<std::string> out;
  for (const auto& f : forbidden())
    if (text.find(f) != std::string::npos) out.push_back(where + ": mentions " + f);
  static const std::regex md(R"(([A-Za-z0-9_./-]+\.md)\b)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), md); it != std::sregex_iterator();
       ++it) {
    const std::string name = (*it)[1].str();
    if (generated_name(fs::path(name).filename().string())) continue;
    if (name.find("://") != std::string::npos) continue;
    if (!fs::exists(kRoot / name) && !fs::exists(kRoot / "docs" / name) && !fs::exists(dir / name))
      out.push_back(where + ": names " + name + ", which is not in the repository");
  }
  return out;
}

std::vector<fs::path> shipped_files() {
  std::vector<fs::path> files = {kRoot / "README.md", kRoot / "BENCHMARKS.md"};
  for (const char* d : {"docs", "include", "src", "apps", "configs", "examples", "scripts"}) {
    if (!fs::exists(kRoot / d)) continue;
    for (const auto& e : fs::recursive_directory_iterator(kRoot / d)) {
      if (!e.is_regular_file()) continue;
      const auto ext = e.path().extension().string();
      if (ext == ".md" || ext == ".hpp" || ext == ".cpp" || ext == ".json" || ext == ".sh" ||
          ext == ".txt" || ext == ".in" || ext == ".py")
        files.push_back(e.path());
    }
  }
  return files;
}

TEST(Docs, ShippedFilesReferOnlyToFilesInTheRepository) {
  std::vector<std::string> all;
  const auto files = shipped_files();
  ASSERT_GT(files.size(), 50u);
  for (const auto& f : files) {
    const auto p = problems(slurp(f), f.parent_path(), fs::relative(f, kRoot).string());
    all.insert(all.end(), p.begin(), p.end());
  }
  std::string msg;
  for (const auto& p : all) msg += p + "\n";
  EXPECT_TRUE(all.empty()) << msg;
}

TEST(Docs, MethodAndArchitectureExistAndAreLinkedFromTheReadme) {
  ASSERT_TRUE(fs::exists(kRoot / "docs" / "method.md"));
  ASSERT_TRUE(fs::exists(kRoot / "docs" / "architecture.md"));
  const std::string readme = slurp(kRoot / "README.md");
  EXPECT_NE(readme.find("docs/method.md"), std::string::npos);
  EXPECT_NE(readme.find("docs/architecture.md"), std::string::npos);
  // Every Markdown link of README and docs to a local file resolves.
  static const std::regex link(R"(\]\(([^)#\s]+)(#[^)]*)?\))");
  for (const fs::path f :
       {kRoot / "README.md", kRoot / "docs" / "method.md", kRoot / "docs" / "architecture.md"}) {
    const std::string text = slurp(f);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link);
         it != std::sregex_iterator(); ++it) {
      const std::string target = (*it)[1].str();
      if (target.find("://") != std::string::npos || target.rfind("mailto:", 0) == 0) continue;
      EXPECT_TRUE(fs::exists(f.parent_path() / target)) << f << " links to " << target;
    }
  }
}

TEST(Docs, CliTextReferOnlyToFilesInTheRepository) {
  std::vector<std::string> commands = {"--help", "list", "list --json"};
  for (const char* sub :
       {"run", "train", "trace", "replay", "report", "list", "config", "distort", "profile"})
    commands.push_back(std::string(sub) + " --help");
  for (const auto& c : commands) {
    const auto r = run_cli(c);
    for (const auto& p : problems(r.output, kRoot, "isplitee " + c)) ADD_FAILURE() << p;
  }
  const auto r = run_cli("list");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("i-splitee"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace isplitee::testing
