// `isplitee run` with experiment.mode "live" (the network runs image by image on the edge, the
// embedded cloud finishes offloaded samples) against the replay of the same model's traces: with
// fp32 activations and the same seeds, every decision, prediction and metric is identical. The
// traces are recorded at batch 1 like the live edge runs here: LibTorch's convolutions round the
// last float bit differently at other batch sizes, which would make rewards differ by ~1e-8.

#include <fstream>
#include <map>
#include <memory>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "isplitee/common/text.hpp"
#include "support/child.hpp"
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

/// A best.pt in the cache other than `except` (the first one when `except` is empty).
fs::path cached_checkpoint(const fs::path& cache, const fs::path& except = {}) {
  for (const auto& e : fs::recursive_directory_iterator(cache / "models"))
    if (e.path().filename() == "best.pt" && e.path() != except) return e.path();
  return {};
}

/// The steps.csv rows of one policy (column 1), header excluded.
std::vector<std::vector<std::string>> rows_of(const std::vector<std::vector<std::string>>& rows,
                                              const std::string& policy) {
  std::vector<std::vector<std::string>> out;
  for (std::size_t i = 1; i < rows.size(); ++i)
    if (rows[i].size() > 1 && rows[i][1] == policy) out.push_back(rows[i]);
  return out;
}

/// Every decision column (all but regret) of `a` equals `b`'s, row for row.
void expect_same_decisions(const std::vector<std::vector<std::string>>& a,
                           const std::vector<std::vector<std::string>>& b,
                           const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  ASSERT_FALSE(a.empty()) << what;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), 14u) << what;
    for (std::size_t c = 0; c < 13; ++c)
      ASSERT_EQ(a[i][c], b[i][c]) << what << ": row " << i << " column " << c;
  }
}

/// One metric's mean of the cell (stream, policy) of a report.json.
double metric_of(const nlohmann::json& report, const std::string& stream, const std::string& policy,
                 const std::string& name) {
  for (const auto& c : report["result"]["cells"])
    if (c["stream"] == stream && c["policy"] == policy)
      for (const auto& m : c["metrics"])
        if (m["name"] == name) return m["mean"].get<double>();
  ADD_FAILURE() << "no metric " << name << " for " << stream << " / " << policy;
  return 0;
}

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
    ckpt_ = cached_checkpoint(dir_->path() / "cache");  // the only model so far
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path run(const std::string& kind, const std::string& side) {
    return dir_->path() / (kind + "-" + side);
  }
  static TempDir* dir_;
  static std::string cfg_;
  static std::map<std::string, CliResult> replay_, live_;
  static fs::path ckpt_;  ///< the model the suite trained
};
fs::path LiveRun::ckpt_;
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

// A link trace (constant 50 Mbps, 3 ms round trip) delays every offload but changes no decision
// under paper cost: cloud-only's median latency includes the round trip.
TEST_F(LiveRun, EmulatedLinkDelaysOffloadsAndKeepsDecisions) {
  ASSERT_EQ(live_["strict"].rc, 0) << live_["strict"].output;
  const auto link = dir_->write("link.csv", "t_seconds,mbps,rtt_ms\n0,50,3\n");
  const auto out = dir_->path() / "link-strict";
  const auto r =
      run_cli("run --config " + shell_quote(cfg_) +
              " --set cost.side_info=strict --set live.network=" + shell_quote(link.string()) +
              " --set 'policies=[{\"name\":\"i-splitee\"},{\"name\":\"cloud-only\"}]'"
              " --output " +
              shell_quote(out.string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto a = csv_rows(run("live", "strict") / "steps.csv");
  const auto b = csv_rows(out / "steps.csv");
  for (const char* p : {"i-splitee", "cloud-only"})
    expect_same_decisions(rows_of(a, p), rows_of(b, p), p);
  const auto rep = read_json(out / "report.json");
  EXPECT_EQ(rep["config"]["live"]["network"], link.string());
  for (const auto& stream : rep["result"]["streams"]) {
    EXPECT_GE(metric_of(rep, stream, "cloud-only", "latency_p50_ms"), 3.0) << stream;
    EXPECT_EQ(metric_of(rep, stream, "cloud-only", "fallback_fraction"), 0.0) << stream;
  }
}

// A malformed link trace stops the run before any work, naming the file and line.
TEST_F(LiveRun, MalformedLinkTraceIsAConfigError) {
  const auto link = dir_->write("bad-link.csv", "t_seconds,mbps,rtt_ms\n0,-2,3\n");
  const auto r = run_cli("run --config " + shell_quote(cfg_) +
                         " --set live.network=" + shell_quote(link.string()) + " --output " +
                         shell_quote((dir_->path() / "never3").string()));
  EXPECT_NE(r.rc, 0) << r.output;
  EXPECT_EQ(count_error_lines(r.output), 1) << r.output;
  EXPECT_NE(r.output.find("bad-link.csv:2"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir_->path() / "never3" / "report.json"));
}

// Nothing listens at the cloud's address: every offload falls back to the deepest exit the edge
// computed, the run finishes every sample with exit code 0 and the report counts the fallbacks.
TEST_F(LiveRun, UnreachableCloudFallsBackAndFinishes) {
  const auto out = dir_->path() / "unreachable";
  const auto r = run_cli(
      "run --config " + shell_quote(cfg_) +
      " --set cost.side_info=strict --set live.cloud=127.0.0.1:1 --set live.deadline_ms=2000"
      " --set experiment.repeats=1"
      " --set 'policies=[{\"name\":\"cloud-only\"},{\"name\":\"edge-threshold\"}]'"
      " --output " +
      shell_quote(out.string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto rep = read_json(out / "report.json");
  const auto steps = csv_rows(out / "steps.csv");
  EXPECT_EQ(rows_of(steps, "cloud-only").size(), 3u * 120u);  // no sample lost
  for (const auto& stream : rep["result"]["streams"]) {
    EXPECT_EQ(metric_of(rep, stream, "cloud-only", "fallback_fraction"), 1.0) << stream;
    EXPECT_EQ(metric_of(rep, stream, "cloud-only", "offload_pct"), 0.0) << stream;
  }
  for (const auto& row : rows_of(steps, "cloud-only")) EXPECT_EQ(row[8], "1");  // exit 1 answers
}

// cost.mode "measured": a cloud-only sample is charged λ_b · bytes sent / raw input bytes (fp32
// input: 4 bytes per 8-bit pixel) and nothing for latency under the SLO; the report carries the
// units; and the learner follows the measured prices: with edge time dear and bytes nearly free it
// learns to split after exit 1 and offload, which under the paper's constants it hardly does.
TEST_F(LiveRun, MeasuredCostChargesWhatWasMeasuredAndTheLearnerFollowsIt) {
  ASSERT_EQ(live_["strict"].rc, 0) << live_["strict"].output;
  const auto out = dir_->path() / "measured";
  const auto r = run_cli("run --config " + shell_quote(cfg_) +
                         " --set cost.side_info=strict --set cost.mode=measured"
                         " --set cost.lambda_time=5 --set cost.lambda_bytes=0.001"
                         " --set cost.lambda_latency=0 --set cost.slo_ms=600000 --output " +
                         shell_quote(out.string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto rep = read_json(out / "report.json");
  const auto& units = rep["result"]["live_units"];
  EXPECT_GT(units["full_network_ms"].get<double>(), 0.0);
  EXPECT_EQ(units["input_bytes"].get<double>(), 28.0 * 28.0);
  const auto steps = csv_rows(out / "steps.csv");
  const auto cloud = rows_of(steps, "cloud-only");
  ASSERT_FALSE(cloud.empty());
  for (const auto& row : cloud) EXPECT_NEAR(std::stod(row[11]), 0.001 * 4.0, 1e-12) << row[3];
  const auto paper = read_json(run("live", "strict") / "report.json");
  for (const auto& stream : rep["result"]["streams"]) {
    const double measured = metric_of(rep, stream, "i-splitee", "offload_pct");
    const double constant = metric_of(paper, stream, "i-splitee", "offload_pct");
    EXPECT_GT(measured, constant + 30.0) << stream;
  }
  std::size_t first = 0, played = 0;
  for (const auto& row : rows_of(steps, "i-splitee"))
    if (row[5] != "cloud") ++played, first += row[5] == "1";
  EXPECT_GT(first, played / 2) << "most decisions split after exit 1";
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

#if ISPLITEE_WITH_GRPC
/// `isplitee serve --checkpoint ckpt` on a free loopback port; sets `address` to its HOST:PORT.
std::unique_ptr<Child> start_serve(const fs::path& ckpt, std::string& address) {
  auto serve = std::make_unique<Child>(std::vector<std::string>{
      ISPLITEE_BIN, "serve", "--checkpoint", ckpt.string(), "--listen", "127.0.0.1:0"});
  const std::string hello = serve->line();
  const auto at = hello.find("grpc://");
  if (at == std::string::npos) {
    ADD_FAILURE() << hello << serve->rest();
    return serve;
  }
  address = hello.substr(at + 7, hello.find(' ', at) - at - 7);
  return serve;
}

// Faults through the CLI, with a real server: a cloud holding another model refuses every
// request, and a 1 ms deadline behind a 5 ms link is always missed. Either way every sample is
// answered (exit code 0, no step missing) and the report counts each offload as a fallback.
TEST_F(LiveRun, ServerWithAnotherModelAndMissedDeadlinesFallBack) {
  const auto ckpt = ckpt_;
  ASSERT_FALSE(ckpt.empty());
  const auto trained = run_cli("train --config " + shell_quote(cfg_) + " --set seed=77");
  ASSERT_EQ(trained.rc, 0) << trained.output;
  const auto other = cached_checkpoint(dir_->path() / "cache", ckpt);
  ASSERT_FALSE(other.empty());
  const auto link = dir_->write("slow-link.csv", "t_seconds,mbps,rtt_ms\n0,100,5\n");
  const std::string policies =
      " --set experiment.repeats=1"
      " --set 'policies=[{\"name\":\"cloud-only\"},{\"name\":\"i-splitee\"}]'";
  for (const bool wrong_model : {true, false}) {
    std::string address;
    auto serve = start_serve(wrong_model ? other : ckpt, address);
    ASSERT_FALSE(address.empty());
    const auto out = dir_->path() / (wrong_model ? "other-model" : "missed-deadline");
    const std::string fault =
        wrong_model ? ""
                    : " --set live.deadline_ms=1 --set live.network=" + shell_quote(link.string());
    const auto r = run_cli("run --config " + shell_quote(cfg_) +
                           " --set cost.side_info=strict --set live.cloud=" + address + fault +
                           policies + " --output " + shell_quote(out.string()));
    ASSERT_EQ(r.rc, 0) << r.output;
    const auto rep = read_json(out / "report.json");
    const auto steps = csv_rows(out / "steps.csv");
    EXPECT_EQ(rows_of(steps, "cloud-only").size(), 3u * 120u) << out;
    EXPECT_EQ(rows_of(steps, "i-splitee").size(), 3u * 120u) << out;
    for (const auto& stream : rep["result"]["streams"]) {
      EXPECT_EQ(metric_of(rep, stream, "cloud-only", "fallback_fraction"), 1.0) << out;
      EXPECT_EQ(metric_of(rep, stream, "i-splitee", "offload_pct"), 0.0) << out;
    }
    ASSERT_EQ(::kill(serve->pid, SIGTERM), 0);
    const std::string bye = serve->rest();
    EXPECT_EQ(serve->wait(), 0) << bye;  // the server survived every refused request
  }
}

// `isplitee serve` in another process, reached over gRPC on loopback (live.cloud "HOST:PORT"),
// takes exactly the decisions of the embedded cloud, and so of the replay.
TEST_F(LiveRun, RemoteServeEqualsEmbedded) {
  ASSERT_EQ(live_["strict"].rc, 0) << live_["strict"].output;
  const auto ckpt = ckpt_;
  ASSERT_FALSE(ckpt.empty());
  std::string address;
  auto serve = start_serve(ckpt, address);
  ASSERT_FALSE(address.empty());
  const auto out = dir_->path() / "remote-strict";
  const auto r = run_cli("run --config " + shell_quote(cfg_) +
                         " --set cost.side_info=strict --set live.cloud=" + address + " --output " +
                         shell_quote(out.string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto a = csv_rows(run("live", "strict") / "steps.csv");
  const auto b = csv_rows(out / "steps.csv");
  expect_same_decisions({a.begin() + 1, a.end()}, {b.begin() + 1, b.end()}, "remote");
  const auto rep = read_json(out / "report.json");
  EXPECT_EQ(rep["config"]["live"]["cloud"], address);
  for (const auto& stream : rep["result"]["streams"])
    EXPECT_EQ(metric_of(rep, stream, "cloud-only", "fallback_fraction"), 0.0) << stream;
  ASSERT_EQ(::kill(serve->pid, SIGTERM), 0);
  const std::string bye = serve->rest();
  EXPECT_EQ(serve->wait(), 0) << bye;
  EXPECT_NE(bye.find("stopped after"), std::string::npos) << bye;
  EXPECT_EQ(bye.find("stopped after 0 requests"), std::string::npos) << bye;
}
#endif

}  // namespace
}  // namespace isplitee::testing
