// `--dry-run` of run, train and trace: the plan on a cold cache (model to train, trace keys
// unknown, nothing written), the warning before a run trains, and the plan on the warm cache the
// run left (model and every trace cached, with their keys and directories).

#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli.hpp"
#include "support/idx_data.hpp"

namespace isplitee::testing {
namespace {
namespace fs = std::filesystem;

nlohmann::json plan_config(const fs::path& dir) {
  auto j = nlohmann::json::parse(R"({
    "name": "plan",
    "seed": 5,
    "data": {"name": "mnist", "val_fraction": 0.2},
    "model": {"arch": "resnet_cifar", "depth": 8, "width": 8, "in_channels": 1, "num_classes": 10,
              "input_size": 28},
    "train": {"epochs": 1, "batch_size": 32, "augment": {"kind": "none"}, "workers": 1},
    "trace": {"batch_size": 64, "workers": 1,
              "distortions": [{"name": "none"}, {"name": "gaussian_noise", "severity": 5}]},
    "policies": [{"name": "i-splitee"}, {"name": "final-exit"}, {"name": "random"}],
    "streams": {"per_trace": true},
    "experiment": {"repeats": 2, "plots": false}
  })");
  j["cache_dir"] = (dir / "cache").string();
  j["data"]["root"] = (dir / "data").string();
  return j;
}

bool contains(const std::string& out, const std::string& s) {
  return out.find(s) != std::string::npos;
}

TEST(DryRun, ColdThenWarmCache) {
  TempDir dir("dryrun");
  write_idx(dir.path() / "data", "train", 300, 1);
  write_idx(dir.path() / "data", "t10k", 100, 2);
  const auto cfg = dir.write("plan.json", plan_config(dir.path()).dump(2));
  const std::string c = " --config " + shell_quote(cfg.string());
  const fs::path out = dir.path() / "run";

  // Cold: the model is to train (1 epoch over the 240 training images left after validation),
  // trace keys are unknown, every stage has an ETA, and nothing is written.
  auto r = run_cli("run" + c + " --output " + shell_quote(out.string()) + " --dry-run");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "(1 epochs over 240 images)  [to compute]  ETA ")) << r.output;
  EXPECT_TRUE(contains(r.output, "forward pass measured at")) << r.output;
  EXPECT_TRUE(contains(r.output, "key known once the model is trained  [to compute]")) << r.output;
  EXPECT_TRUE(contains(r.output, "2 streams x 3 policies x 2 repeats = 12 cells, 1200 decisions"))
      << r.output;
  EXPECT_TRUE(contains(r.output, "traces: 0 cached, 2 to compute")) << r.output;
  EXPECT_FALSE(fs::exists(dir.path() / "cache")) << "a dry run wrote the cache";
  EXPECT_FALSE(fs::exists(out)) << "a dry run created the run directory";

  // A sweep multiplies the replay cells: base + 2 points.
  r = run_cli("run" + c + " --dry-run --sweep cost.offload=0.2,0.8");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "x 3 points (base + 2 sweep points over cost.offload) = 36 cells"))
      << r.output;

  r = run_cli("train" + c + " --dry-run");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "[to compute]  ETA")) << r.output;

  // The real run says it will train before it does.
  r = run_cli("--log-level info run" + c + " --output " + shell_quote(out.string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "the model is not cached: training 1 epochs first, ETA"))
      << r.output;
  EXPECT_LT(r.output.find("the model is not cached"), r.output.find("[1/4] model"));
  // config.resolved.json records the directory the run actually used.
  const auto resolved = nlohmann::json::parse(std::ifstream(out / "config.resolved.json"));
  EXPECT_EQ(resolved["output_dir"], out.string());
  EXPECT_EQ(resolved["train"]["seed"], 5);
  EXPECT_EQ(resolved["experiment"]["seed"], 5);

  // Warm: everything cached, with the keys and directories the run used.
  r = run_cli("run" + c + " --dry-run");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "traces: 2 cached, 0 to compute")) << r.output;
  EXPECT_FALSE(contains(r.output, "[to compute]")) << r.output;
  const auto rep = nlohmann::json::parse(std::ifstream(out / "report.json"));
  for (const auto& t : rep["traces"]) {
    const fs::path d = t["directory"].get<std::string>();
    EXPECT_TRUE(contains(r.output, d.string() + "  [cached]")) << d << "\n" << r.output;
  }
  r = run_cli("train" + c + " --dry-run");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "[cached]")) << r.output;
  r = run_cli("trace" + c + " --dry-run");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "key ")) << r.output;
  EXPECT_FALSE(contains(r.output, "[to compute]")) << r.output;
  r = run_cli("trace" + c + " --dry-run --force");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "[to compute]  ETA")) << r.output;

  // Seeds: train.seed spelled out as the top-level seed (5) is the same model; another train.seed
  // is another model; experiment.seed only redraws streams and policy randomness.
  r = run_cli("run" + c + " --dry-run --set train.seed=5");
  EXPECT_FALSE(contains(r.output, "[to compute]")) << r.output;
  r = run_cli("run" + c + " --dry-run --set train.seed=6");
  EXPECT_TRUE(contains(r.output, "[to compute]")) << r.output;
  r = run_cli("run" + c + " --dry-run --set experiment.seed=1");
  EXPECT_FALSE(contains(r.output, "[to compute]")) << r.output;
  const fs::path out1 = dir.path() / "run-seed1";
  r = run_cli("--log-level info run" + c + " --set experiment.seed=1 --output " +
              shell_quote(out1.string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "2 reused, 0 computed")) << r.output;
  EXPECT_FALSE(contains(r.output, "training model")) << r.output;
  const auto rep1 = nlohmann::json::parse(std::ifstream(out1 / "report.json"));
  EXPECT_EQ(rep1["meta"]["checkpoint_sha256"], rep["meta"]["checkpoint_sha256"]);
  EXPECT_EQ(rep1["meta"]["checkpoint"], rep["meta"]["checkpoint"]);
  EXPECT_EQ(rep1["result"]["seed"], 1);
  EXPECT_EQ(rep["result"]["seed"], 5);
  // Other streams: the random policy's per-repeat accuracies differ.
  const auto &a = rep["result"]["cells"], &b = rep1["result"]["cells"];
  ASSERT_EQ(a.size(), b.size());
  bool differ = false;
  for (std::size_t i = 0; i < a.size(); ++i) differ = differ || a[i]["metrics"] != b[i]["metrics"];
  EXPECT_TRUE(differ);
}

// `run --resume`: an interrupted sweep continues in its directory, reads back the finished points
// and ends with the same results as an uninterrupted run; another config or sweep is refused.
TEST(Resume, InterruptedSweepContinuesAndRefusesAnotherConfig) {
  TempDir dir("resume");
  write_idx(dir.path() / "data", "train", 300, 1);
  write_idx(dir.path() / "data", "t10k", 100, 2);
  const auto cfg = dir.write("plan.json", plan_config(dir.path()).dump(2));
  const std::string c = " --config " + shell_quote(cfg.string());
  const std::string sweep = " --sweep cost.offload=0.2,0.8";
  const fs::path whole = dir.path() / "whole", cut = dir.path() / "cut";
  auto r = run_cli("run" + c + sweep + " --output " + shell_quote(whole.string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_FALSE(fs::exists(whole / "partial"));  // removed once the report holds every point

  r = run_cli("run" + c + sweep + " --output " + shell_quote(cut.string()) +
              " --stop-after-points 2");
  ASSERT_NE(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "continue with --resume")) << r.output;
  EXPECT_TRUE(fs::exists(cut / "partial/point-1.json"));
  EXPECT_FALSE(fs::exists(cut / "report.json"));

  // Another config or another sweep: refused, nothing changed.
  r = run_cli("run" + c + sweep + " --set cost.alpha=0.9 --resume --output " +
              shell_quote(cut.string()));
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "cost.alpha is 0.5 there, 0.9 now")) << r.output;
  r = run_cli("run" + c + " --sweep cost.offload=0.3 --resume --output " +
              shell_quote(cut.string()));
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "would mix two sweeps")) << r.output;
  r = run_cli("run" + c + sweep + " --resume");
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_TRUE(contains(r.output, "--resume needs the run directory")) << r.output;

  r = run_cli("--log-level info run" + c + sweep + " --resume --output " +
              shell_quote(cut.string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_TRUE(contains(r.output, "resume: 2 of 3 replay points read back")) << r.output;
  EXPECT_FALSE(fs::exists(cut / "partial"));
  for (const char* f : {"summary.csv", "sweep.csv"}) {
    std::ifstream a(whole / f), b(cut / f);
    const std::string sa((std::istreambuf_iterator<char>(a)), std::istreambuf_iterator<char>());
    const std::string sb((std::istreambuf_iterator<char>(b)), std::istreambuf_iterator<char>());
    EXPECT_EQ(sa, sb) << f;
  }
}

}  // namespace
}  // namespace isplitee::testing
