// `isplitee run` with experiment.mode "live" (the network runs image by image on the edge, the
// embedded cloud finishes offloaded samples) against the replay of the same model's traces: with
// fp32 activations and the same seeds, every decision, prediction and metric is identical. The
// traces are recorded at batch 1 like the live edge runs here: LibTorch's convolutions round the
// last float bit differently at other batch sizes, which would make rewards differ by ~1e-8.

#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "isplitee/common/text.hpp"
#include "support/cli.hpp"
#include "support/idx_data.hpp"

namespace isplitee::testing {
namespace {
namespace fs = std::filesystem;

nlohmann::json live_config() {
  return nlohmann::json::parse(R"({
    "name": "tinylive",
    "seed": 5,
    "data": {"name": "mnist", "val_fraction": 0.2},
    "model": {"arch": "resnet_cifar", "depth": 8, "width": 8, "in_channels": 1, "num_classes": 10,
              "input_size": 28},
    "train": {"epochs": 2, "batch_size": 32, "lr_backbone": 0.01, "lr_final_head": 0.01,
              "augment": {"kind": "none"}, "workers": 1},
    "trace": {"batch_size": 1, "workers": 1, "max_samples": 120,
              "distortions": [{"name": "none"}, {"name": "gaussian_noise", "severity": 3},
                              {"name": "gaussian_blur", "severity": 2}]},
    "cost": {"alpha": 0.3, "lambda": 0.1, "mu": 1.0, "offload": 0.2, "side_info": "strict"},
    "policies": [{"name": "i-splitee"}, {"name": "splitee"}, {"name": "edge-threshold"},
                 {"name": "cloud-only"}, {"name": "random"}],
    "experiment": {"repeats": 2, "record_steps": true, "curve_points": 10, "plots": false,
                   "mode": "live"},
    "live": {"cloud": "embedded", "codec": "fp32"}
  })");
}

std::vector<std::vector<std::string>> csv_rows(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(split(line, ','));
  return rows;
}

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(std::ifstream(p)); }

class LiveRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("liverun");
    write_idx(dir_->path() / "data", "train", 1500, 1);
    write_idx(dir_->path() / "data", "t10k", 150, 2);
    auto cfg = live_config();
    cfg["cache_dir"] = (dir_->path() / "cache").string();
    cfg["data"]["root"] = (dir_->path() / "data").string();
    cfg_ = dir_->write("live.json", cfg.dump(2)).string();
    for (const char* side : {"strict", "proxy"}) {
      const std::string set = " --set cost.side_info=" + std::string(side);
      replay_[side] = run_cli(
          "run --config " + shell_quote(cfg_) + set + " --set experiment.mode=replay --output " +
          shell_quote((dir_->path() / ("replay-" + std::string(side))).string()));
      live_[side] = run_cli("run --config " + shell_quote(cfg_) + set + " --output " +
                            shell_quote((dir_->path() / ("live-" + std::string(side))).string()));
    }
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path run(const std::string& kind, const std::string& side) {
    return dir_->path() / (kind + "-" + side);
  }
  static TempDir* dir_;
  static std::string cfg_;
  static std::map<std::string, CliResult> replay_, live_;
};
TempDir* LiveRun::dir_ = nullptr;
std::string LiveRun::cfg_;
std::map<std::string, CliResult> LiveRun::replay_, LiveRun::live_;

// steps.csv: every step of every policy, stream and repeat agrees in arm, exit, offload,
// prediction, correctness, cost and reward (regret needs the stored trace: not in live runs).
TEST_F(LiveRun, EveryDecisionEqualsReplay) {
  for (const char* side : {"strict", "proxy"}) {
    ASSERT_EQ(replay_[side].rc, 0) << replay_[side].output;
    ASSERT_EQ(live_[side].rc, 0) << live_[side].output;
    const auto a = csv_rows(run("replay", side) / "steps.csv");
    const auto b = csv_rows(run("live", side) / "steps.csv");
    ASSERT_EQ(a.size(), b.size()) << side;
    ASSERT_GT(a.size(), 3u * 5u * 2u * 100u) << side;  // streams × policies × repeats × samples
    std::size_t offloads = 0, exits = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      ASSERT_EQ(a[i].size(), 14u);
      for (std::size_t c = 0; c < 13; ++c)
        ASSERT_EQ(a[i][c], b[i][c]) << side << " row " << i << " column " << a[0][c];
      if (i > 0) offloads += a[i][7] == "1", exits += a[i][6] == "1";
    }
    EXPECT_GT(offloads, 50u) << "the cloud must be exercised";
    EXPECT_GT(exits, 50u) << "early exits must be exercised";
  }
}

// report.json: every metric both modes compute is identical; the live run adds its measurements.
TEST_F(LiveRun, EveryMetricEqualsReplay) {
  for (const char* side : {"strict", "proxy"}) {
    ASSERT_EQ(live_[side].rc, 0) << live_[side].output;
    const auto a = read_json(run("replay", side) / "report.json");
    const auto b = read_json(run("live", side) / "report.json");
    EXPECT_EQ(b["result"]["mode"], "live");
    const auto& ca = a["result"]["cells"];
    const auto& cb = b["result"]["cells"];
    ASSERT_EQ(ca.size(), cb.size());
    for (std::size_t i = 0; i < ca.size(); ++i) {
      EXPECT_EQ(ca[i]["arm_histogram"], cb[i]["arm_histogram"]) << i;
      EXPECT_EQ(ca[i]["exit_histogram"], cb[i]["exit_histogram"]) << i;
      std::map<std::string, nlohmann::json> mb;
      for (const auto& m : cb[i]["metrics"]) mb[m["name"]] = m;
      for (const auto& m : ca[i]["metrics"]) {
        const std::string n = m["name"];
        if (n == "regret" || n == "dynamic_regret" || n == "best_fixed_arm") continue;
        ASSERT_TRUE(mb.count(n)) << n;
        EXPECT_EQ(m, mb[n]) << "cell " << i << " metric " << n;
      }
      for (const char* n : {"edge_ms_per_sample", "latency_p50_ms", "latency_p99_ms",
                            "bytes_sent_per_sample", "fallback_fraction"})
        EXPECT_TRUE(mb.count(n)) << n;
      EXPECT_EQ(mb["fallback_fraction"]["mean"], 0.0);
    }
  }
}

TEST_F(LiveRun, ReportShowsLiveSection) {
  ASSERT_EQ(live_["strict"].rc, 0) << live_["strict"].output;
  std::ifstream in(run("live", "strict") / "report.md");
  const std::string md((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(md.find("## Live edge and cloud"), std::string::npos);
  EXPECT_NE(md.find("latency p95"), std::string::npos);
}

TEST_F(LiveRun, OracleSideInformationIsRefused) {
  const auto r = run_cli("run --config " + shell_quote(cfg_) + " --set cost.side_info=oracle" +
                         " --output " + shell_quote((dir_->path() / "never").string()));
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find("cost.side_info"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("live"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_->path() / "never" / "report.json"));
}

TEST_F(LiveRun, OraclePolicyIsRefused) {
  const auto r = run_cli("run --config " + shell_quote(cfg_) +
                         " --set 'policies=[{\"name\":\"best-fixed\"}]' --output " +
                         shell_quote((dir_->path() / "never2").string()));
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find("oracle"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace isplitee::testing
