// Rough edges of the vision commands, found by trying the CLI as a new user would: each gives one
// line "isplitee: error: …" that says what is wrong, the documented exit code, and fails before
// any work (nothing profiled, trained or written).

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli.hpp"

namespace isplitee::testing {
namespace {

namespace fs = std::filesystem;

void expect_one_error(const CliResult& r, int rc, const std::string& message) {
  EXPECT_EQ(r.rc, rc) << r.output;
  EXPECT_EQ(count_error_lines(r.output), 1) << r.output;
  EXPECT_EQ(r.output.rfind("isplitee: error: ", 0), 0u) << r.output;
  EXPECT_EQ(r.output.find('\n'), r.output.size() - 1) << "more than one line: " << r.output;
  EXPECT_NE(r.output.find(message), std::string::npos)
      << "missing '" << message << "' in: " << r.output;
}

TEST(RoughEdges, ProfileJsonIntoADirectoryFailsBeforeProfiling) {
  TempDir dir("rough_profile");
  fs::create_directories(dir.path() / "runs");
  const auto r = run_cli("profile --arch mobilenet_v2 --json runs", dir.path());
  expect_one_error(r, 4, "cannot write runs: is a directory");
  EXPECT_EQ(r.output.find("MACs"), std::string::npos) << "profiled first: " << r.output;
  EXPECT_TRUE(fs::is_empty(dir.path() / "runs"));
}

TEST(RoughEdges, ConfigThatIsADirectory) {
  expect_one_error(run_cli("run --config /tmp"), 2, "/tmp: is a directory, not a config file");
  expect_one_error(run_cli("train --config /tmp"), 2, "/tmp: is a directory, not a config file");
}

TEST(RoughEdges, DeviceErrorNamesTheConfigKeyNotAFlag) {
  TempDir dir("rough_device");
  const nlohmann::json cfg = {{"name", "device-test"},
                              {"output_dir", (dir.path() / "run").string()},
                              {"cache_dir", (dir.path() / "cache").string()},
                              {"model", {{"arch", "resnet_cifar"}, {"depth", 8}}}};
  const auto file = dir.write("cfg.json", cfg.dump());
  const auto r = run_cli("run --config " + shell_quote(file.string()) + " --set device=cuda");
  if (r.rc == 0 || r.output.find("CUDA is not available") == std::string::npos)
    GTEST_SKIP() << "CUDA is available here: " << r.output;
  expect_one_error(r, 2, "--set device=cpu");
  EXPECT_EQ(r.output.find("--device"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir.path() / "cache" / "models"));
}

TEST(RoughEdges, DistortRefusesAMissingOutputDirectory) {
  TempDir dir("rough_distort");
  const auto out = dir.path() / "no" / "dir" / "x.png";
  const auto r = run_cli("distort --scene -n gaussian_noise -s 2 -o " + shell_quote(out.string()));
  expect_one_error(r, 4, "directory " + (dir.path() / "no" / "dir").string() + " does not exist");
  EXPECT_FALSE(fs::exists(dir.path() / "no"));
  // With the directory there it writes the image.
  const auto ok = run_cli("distort --scene -n gaussian_noise -s 2 -o " +
                          shell_quote((dir.path() / "x.png").string()));
  EXPECT_EQ(ok.rc, 0) << ok.output;
  EXPECT_TRUE(fs::exists(dir.path() / "x.png"));
}

TEST(RoughEdges, DistortGridRefusesATooSmallCell) {
  TempDir dir("rough_grid");
  const auto out = dir.path() / "sheet.png";
  const auto r = run_cli("distort --scene --grid --names gaussian_noise --cell 5 -o " +
                         shell_quote(out.string()));
  expect_one_error(r, 2, "grid: cell 5 px is outside the valid range [");
  EXPECT_NE(r.output.find(", 1024]"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(out));
  const auto ok = run_cli("distort --scene --grid --names gaussian_noise --cell 96 -o " +
                          shell_quote(out.string()));
  EXPECT_EQ(ok.rc, 0) << ok.output;
  EXPECT_TRUE(fs::exists(out));
}

TEST(RoughEdges, SetTypoInRunBlamesTheSetArgument) {
  TempDir dir("rough_set");
  const nlohmann::json cfg = {{"name", "set-test"},
                              {"output_dir", (dir.path() / "run").string()},
                              {"cache_dir", (dir.path() / "cache").string()}};
  const auto file = dir.write("cfg.json", cfg.dump());
  const auto r = run_cli("run --config " + shell_quote(file.string()) + " --set cost.alhpa=0.7");
  expect_one_error(r, 2, "--set cost.alhpa=0.7: cost.alhpa: unknown key; did you mean 'alpha'?");
  EXPECT_EQ(r.output.find("cfg.json"), std::string::npos) << r.output;
  // A bad value in a sweep is the sweep's.
  const auto sweep =
      run_cli("run --config " + shell_quote(file.string()) + " --sweep cost.alpha=0.5,2");
  expect_one_error(sweep, 2, "--sweep cost.alpha=2: cost.alpha: value 2 is out of range [0, 1]");
  EXPECT_FALSE(fs::exists(dir.path() / "cache"));
}

}  // namespace
}  // namespace isplitee::testing
