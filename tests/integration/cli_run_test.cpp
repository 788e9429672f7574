// `isplitee run` end to end on a tiny generated dataset (MNIST IDX format written here), a small
// network and one epoch: every file of the run directory is present and parseable, the numbers
// agree across files and with a recomputation from steps.csv, a second run reuses model and traces,
// and a killed run leaves no half-written file.

#include <signal.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "isplitee/common/rng.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/trace/trace.hpp"
#include "support/cli.hpp"
#include "support/idx_data.hpp"

namespace isplitee::testing {
namespace {
namespace fs = std::filesystem;

nlohmann::json tiny_config() {
  return nlohmann::json::parse(R"({
    "name": "tiny",
    "seed": 3,
    "data": {"name": "mnist", "val_fraction": 0.2},
    "model": {"arch": "resnet_cifar", "depth": 8, "width": 8, "in_channels": 1, "num_classes": 10,
              "input_size": 28},
    "train": {"epochs": 1, "batch_size": 32, "lr_backbone": 0.003, "lr_final_head": 0.003,
              "augment": {"kind": "none"}, "workers": 1},
    "trace": {"batch_size": 64, "workers": 1,
              "distortions": [{"name": "none"}, {"name": "gaussian_noise", "severity": 5}]},
    "cost": {"alpha": 0.6, "lambda": 0.1, "mu": 1.0, "offload": 0.5},
    "policies": [{"name": "i-splitee"}, {"name": "final-exit"}, {"name": "edge-threshold"},
                 {"name": "cloud-only"}, {"name": "sw-ucb", "tau": 50}],
    "streams": {"schedules": [{"name": "drift", "segments": [
        {"trace": "none", "length": 150}, {"trace": "gaussian_noise@5", "length": 150}]}]},
    "experiment": {"repeats": 3, "record_steps": true, "curve_points": 20}
  })");
}

std::vector<std::vector<std::string>> read_csv(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::vector<std::string>> rows;
  std::string line;
  while (std::getline(in, line)) rows.push_back(split(line, ','));
  return rows;
}

class TinyRun : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("tinyrun");
    write_idx(dir_->path() / "data", "train", 600, 1);
    write_idx(dir_->path() / "data", "t10k", 200, 2);
    config_ = tiny_config();
    config_["cache_dir"] = (dir_->path() / "cache").string();
    config_["data"]["root"] = (dir_->path() / "data").string();
    cfg_file_ = dir_->write("tiny.json", config_.dump(2));
    first_ = run_cli("run --config " + shell_quote(cfg_file_.string()) + " --output " +
                     shell_quote((dir_->path() / "run1").string()));
  }
  static void TearDownTestSuite() { delete dir_; }
  static TempDir* dir_;
  static nlohmann::json config_;
  static fs::path cfg_file_;
  static CliResult first_;
};
TempDir* TinyRun::dir_ = nullptr;
nlohmann::json TinyRun::config_;
fs::path TinyRun::cfg_file_;
CliResult TinyRun::first_;

TEST_F(TinyRun, SucceedsAndPrintsTableAndPath) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  EXPECT_NE(first_.output.find("i-splitee"), std::string::npos) << first_.output;
  EXPECT_NE(first_.output.find("report: "), std::string::npos) << first_.output;
  EXPECT_NE(first_.output.find("run1/report.md"), std::string::npos) << first_.output;
}

TEST_F(TinyRun, EveryFileIsPresentAndParseable) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  const fs::path run = dir_->path() / "run1";
  for (const char* f :
       {"config.resolved.json", "report.json", "summary.csv", "report.md", "steps.csv"})
    EXPECT_TRUE(fs::exists(run / f)) << f;
  EXPECT_NO_THROW({
    const auto parsed = nlohmann::json::parse(std::ifstream(run / "config.resolved.json"));
    (void)parsed;
  });
  EXPECT_NO_THROW({
    const auto parsed = nlohmann::json::parse(std::ifstream(run / "report.json"));
    (void)parsed;
  });
  if (std::system("command -v gnuplot >/dev/null 2>&1") == 0) {
    for (const char* f :
         {"plots/accuracy_vs_cost.png", "plots/accuracy_vs_cost.svg", "plots/arms_drift.png",
          "plots/regret_drift.svg", "plots/offload_by_stream.png"}) {
      EXPECT_TRUE(fs::exists(run / f)) << f;
      EXPECT_GT(fs::file_size(run / f), 1000u) << f;
    }
    std::ifstream png(run / "plots/accuracy_vs_cost.png", std::ios::binary);
    char magic[4] = {};
    png.read(magic, 4);
    EXPECT_EQ(std::string(magic + 1, 3), "PNG");
  }
  // No temporary files are left behind.
  for (const auto& e : fs::recursive_directory_iterator(run))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  const std::string md = [&] {
    std::ifstream in(run / "report.md");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }();
  for (const char* s : {"## Policies per stream", "### drift", "### gaussian_noise@5",
                        "side information: `oracle`", "| i-splitee |", "| final-exit |"})
    EXPECT_NE(md.find(s), std::string::npos) << s;
}

TEST_F(TinyRun, ResolvedConfigReparsesToTheSameConfig) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  const fs::path run = dir_->path() / "run1";
  const auto resolved = nlohmann::json::parse(std::ifstream(run / "config.resolved.json"));
  EXPECT_EQ(resolved["cost"]["alpha"], 0.6);
  EXPECT_EQ(resolved["experiment"]["repeats"], 3);
  EXPECT_EQ(resolved["policies"][4]["tau"], 50);
  // Second run from the resolved config: same results, model and traces reused from the cache.
  const auto r = run_cli("--log-level info run --config " +
                         shell_quote((run / "config.resolved.json").string()) + " --output " +
                         shell_quote((dir_->path() / "run2").string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("2 reused, 0 computed"), std::string::npos) << r.output;
  const auto a = read_csv(run / "summary.csv"), b = read_csv(dir_->path() / "run2" / "summary.csv");
  EXPECT_EQ(a, b);
}

TEST_F(TinyRun, SummaryAgreesWithReportJson) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  const fs::path run = dir_->path() / "run1";
  const auto rep = nlohmann::json::parse(std::ifstream(run / "report.json"));
  const auto rows = read_csv(run / "summary.csv");
  ASSERT_GE(rows.size(), 2u);
  const auto& header = rows[0];
  auto col = [&](const std::string& name) {
    return static_cast<std::size_t>(std::find(header.begin(), header.end(), name) - header.begin());
  };
  const auto& cells = rep["result"]["cells"];
  ASSERT_EQ(rows.size() - 1, cells.size());
  for (std::size_t i = 1; i < rows.size(); ++i) {
    const auto& cell = cells[i - 1];
    EXPECT_EQ(rows[i][col("stream")], cell["stream"].get<std::string>());
    EXPECT_EQ(rows[i][col("policy")], cell["policy"].get<std::string>());
    for (const auto& m : cell["metrics"]) {
      const std::string name = m["name"].get<std::string>();
      const double csv = std::stod(rows[i][col(name + "_mean")]);
      EXPECT_NEAR(csv, m["mean"].get<double>(), 1e-9 * (1 + std::fabs(csv))) << name;
    }
  }
}

TEST_F(TinyRun, MetricsEqualThoseRecomputedFromSteps) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  const fs::path run = dir_->path() / "run1";
  const auto rows = read_csv(run / "steps.csv");
  ASSERT_GT(rows.size(), 1u);
  const auto& h = rows[0];
  auto col = [&](const std::string& name) {
    const auto it = std::find(h.begin(), h.end(), name);
    EXPECT_NE(it, h.end()) << name;
    return static_cast<std::size_t>(it - h.begin());
  };
  struct Acc {
    double n = 0, correct = 0, cost = 0, offloaded = 0;
  };
  std::map<std::tuple<std::string, std::string, std::string>, Acc> acc;  // stream, policy, repeat
  for (std::size_t i = 1; i < rows.size(); ++i) {
    auto& a = acc[{rows[i][col("stream")], rows[i][col("policy")], rows[i][col("repeat")]}];
    a.n += 1;
    a.correct += std::stod(rows[i][col("correct")]);
    a.cost += std::stod(rows[i][col("cost")]);
    a.offloaded += std::stod(rows[i][col("offloaded")]);
  }
  const auto rep = nlohmann::json::parse(std::ifstream(run / "report.json"));
  std::size_t checked = 0;
  for (const auto& cell : rep["result"]["cells"]) {
    std::map<std::string, std::vector<double>> per_repeat;
    for (const auto& m : cell["metrics"])
      per_repeat[m["name"]] = m["values"].get<std::vector<double>>();
    for (std::size_t r = 0; r < per_repeat["accuracy"].size(); ++r) {
      const auto key = std::make_tuple(cell["stream"].get<std::string>(),
                                       cell["policy"].get<std::string>(), std::to_string(r));
      ASSERT_TRUE(acc.count(key)) << std::get<0>(key) << " " << std::get<1>(key) << " " << r;
      const Acc& a = acc[key];
      EXPECT_NEAR(per_repeat["accuracy"][r], 100.0 * a.correct / a.n, 1e-6);
      EXPECT_NEAR(per_repeat["cost_per_sample"][r], a.cost / a.n, 1e-6);
      EXPECT_NEAR(per_repeat["offload_pct"][r], 100.0 * a.offloaded / a.n, 1e-4);
      ++checked;
    }
  }
  EXPECT_EQ(checked, rep["result"]["cells"].size() * 3);
}

TEST_F(TinyRun, ReportCommandReRendersFromReportJson) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  const fs::path run = dir_->path() / "run1";
  const auto before = read_csv(run / "summary.csv");
  fs::remove(run / "summary.csv");
  fs::remove(run / "report.md");
  const auto r = run_cli("report " + shell_quote(run.string()) + " --no-plots");
  ASSERT_EQ(r.rc, 0) << r.output;
  EXPECT_EQ(read_csv(run / "summary.csv"), before);
  EXPECT_TRUE(fs::exists(run / "report.md"));
}

TEST_F(TinyRun, SweepAddsATableAndCsv) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  const auto r = run_cli("run --config " + shell_quote(cfg_file_.string()) + " --output " +
                         shell_quote((dir_->path() / "sweep").string()) +
                         " --set experiment.record_steps=false --sweep cost.offload=0.2,0.8");
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto rows = read_csv(dir_->path() / "sweep" / "sweep.csv");
  // 2 points × 3 streams × 5 policies + header
  EXPECT_EQ(rows.size(), 1u + 2 * 3 * 5);
  EXPECT_EQ(rows[0][0], "cost.offload");
}

TEST_F(TinyRun, KilledRunLeavesNoHalfWrittenFile) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  // A fresh cache forces training; kill the run while it works, several times at different moments.
  for (int delay_ms : {300, 1500, 4000}) {
    const fs::path out = dir_->path() / ("killed" + std::to_string(delay_ms));
    auto cfg = config_;
    cfg["cache_dir"] = (dir_->path() / ("cache_killed" + std::to_string(delay_ms))).string();
    const auto file = dir_->write("killed.json", cfg.dump());
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::execl(ISPLITEE_BIN, ISPLITEE_BIN, "--quiet", "--log-level", "off", "run", "--config",
              file.c_str(), "--output", out.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
    for (const fs::path& root : {out, fs::path(cfg["cache_dir"].get<std::string>())}) {
      if (!fs::exists(root)) continue;
      for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_regular_file()) continue;
        const std::string name = e.path().filename().string();
        if (name.find(".tmp.") != std::string::npos) continue;  // never renamed: not a result
        if (e.path().extension() == ".json") {
          EXPECT_NO_THROW({
            const auto parsed = nlohmann::json::parse(std::ifstream(e.path()));
            (void)parsed;
          }) << e.path();
        } else if (e.path().extension() == ".jsonl") {
          std::ifstream in(e.path());
          std::string line;
          while (std::getline(in, line))
            EXPECT_NO_THROW({
              const auto parsed = nlohmann::json::parse(line);
              (void)parsed;
            }) << e.path();
        } else if (e.path().extension() == ".csv") {
          std::ifstream in(e.path());
          std::stringstream ss;
          ss << in.rdbuf();
          EXPECT_TRUE(ss.str().empty() || ss.str().back() == '\n') << e.path();
        }
      }
    }
  }
}

}  // namespace
}  // namespace isplitee::testing

namespace isplitee::testing {
namespace {

// `isplitee replay` on the traces the tiny run cached: a trace directory and its trace.csv (with
// the same depths) give the same metrics; bad inputs give the documented exit codes.
TEST_F(TinyRun, ReplayDirectoryAndCsvAgree) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  fs::path dir;
  for (const auto& e : fs::directory_iterator(dir_->path() / "cache" / "traces"))
    if (e.path().filename().string().rfind("none-", 0) == 0) dir = e.path();
  ASSERT_FALSE(dir.empty());
  const auto manifest = nlohmann::json::parse(std::ifstream(dir / "manifest.json"));
  std::string depths;
  for (const auto& e : manifest["exits"])
    depths += (depths.empty() ? "" : ",") +
              std::to_string(static_cast<int>(e["depth_blocks"].get<double>()));
  const std::string policies =
      " --policy i-splitee --policy final-exit --policy edge-threshold --json";
  const auto a = run_cli("replay --trace " + shell_quote(dir.string()) + policies);
  const auto b = run_cli("replay --trace " + shell_quote((dir / "trace.csv").string()) +
                         " --depths " + depths + policies);
  ASSERT_EQ(a.rc, 0) << a.output;
  ASSERT_EQ(b.rc, 0) << b.output;
  const auto ja = nlohmann::json::parse(a.output), jb = nlohmann::json::parse(b.output);
  ASSERT_EQ(ja["cells"].size(), 3u);
  // The CSV has no manifest, so it lacks activation sizes (bytes_per_sample); all else is equal.
  auto without_bytes = [](nlohmann::json metrics) {
    nlohmann::json out = nlohmann::json::array();
    for (auto& m : metrics)
      if (m["name"] != "bytes_per_sample") out.push_back(m);
    return out;
  };
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(without_bytes(ja["cells"][i]["metrics"]), without_bytes(jb["cells"][i]["metrics"]))
        << i;
  // final-exit costs λ·l_K per sample.
  const double lk = manifest["exits"].back()["depth_blocks"].get<double>();
  for (const auto& m : ja["cells"][1]["metrics"])
    if (m["name"] == "cost_per_sample") {
      EXPECT_NEAR(m["mean"].get<double>(), 0.1 * lk, 1e-12);
    }

  EXPECT_EQ(run_cli("replay --trace " + shell_quote(dir.string()) + " --policy i-splite").rc, 2);
  EXPECT_EQ(run_cli("replay --trace /nonexistent/trace --policy i-splitee").rc, 4);
  const auto bad = dir_->write("bad.csv", "conf_1,conf_2,pred_1,pred_2,label\n0.5,1.3,1,1,1\n");
  const auto r = run_cli("replay --trace " + shell_quote(bad.string()) + " --policy i-splitee");
  EXPECT_EQ(r.rc, 3) << r.output;
  EXPECT_NE(r.output.find("bad.csv"), std::string::npos) << r.output;
}

// Every exit rule end to end: `replay` with a fixed split after exit 1 exits exactly the samples
// whose score under the rule, recomputed here from the trace's columns, passes α; `run` accepts the
// rule through --set; a CSV trace refuses the rules it cannot serve.
TEST_F(TinyRun, ExitRulesDecideFromTheRightScore) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  fs::path dir;
  for (const auto& e : fs::directory_iterator(dir_->path() / "cache" / "traces"))
    if (e.path().filename().string().rfind("none-", 0) == 0) dir = e.path();
  ASSERT_FALSE(dir.empty());
  const auto t = trace::read_trace(dir);
  ASSERT_FALSE(t.entropy.empty());
  ASSERT_FALSE(t.margin.empty());
  const double alpha = 0.6, ln_c = std::log(static_cast<double>(t.manifest.num_classes));
  for (const std::string kind : {"max_prob", "entropy", "margin"}) {
    const auto steps = dir_->path() / ("steps-" + kind + ".csv");
    const auto r = run_cli("replay --trace " + shell_quote(dir.string()) +
                           " --policy fixed:arm=1 --repeats 1 --set cost.alpha=0.6"
                           " --set cost.exit_rule.kind=" +
                           kind + " --steps " + shell_quote(steps.string()));
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_NE(r.output.find("exit_rule=" + kind), std::string::npos) << r.output;
    // steps.csv: stream,policy,repeat,t,segment,arm,exited,... in stream order; the stream is a
    // permutation, so compare the number of exits with the count from the trace's columns.
    std::size_t exited = 0, rows = 0;
    const auto csv = read_csv(steps);
    for (std::size_t i = 1; i < csv.size(); ++i, ++rows) exited += csv[i][6] == "1";
    std::size_t expected = 0;
    for (std::size_t i = 0; i < t.num_samples; ++i) {
      const std::size_t at = i * t.num_exits;
      const double s = kind == "max_prob" ? t.conf[at]
                       : kind == "margin" ? t.margin[at]
                                          : 1.0 - t.entropy[at] / ln_c;
      expected += s >= alpha;
    }
    EXPECT_EQ(rows, t.num_samples);
    EXPECT_EQ(exited, expected) << kind;
  }
  const auto run = run_cli("run --config " + shell_quote(cfg_file_.string()) + " --output " +
                           shell_quote((dir_->path() / "run-margin").string()) +
                           " --set cost.exit_rule.kind=margin --set experiment.plots=false");
  ASSERT_EQ(run.rc, 0) << run.output;
  const auto resolved =
      nlohmann::json::parse(std::ifstream(dir_->path() / "run-margin" / "config.resolved.json"));
  EXPECT_EQ(resolved["cost"]["exit_rule"]["kind"], "margin");
  const auto csv = run_cli("replay --trace " + shell_quote((dir / "trace.csv").string()) +
                           " --policy i-splitee --set cost.exit_rule.kind=entropy");
  EXPECT_EQ(csv.rc, 3) << csv.output;
  EXPECT_NE(csv.output.find("trace.csv"), std::string::npos) << csv.output;
  EXPECT_NE(csv.output.find("max_prob"), std::string::npos) << csv.output;
}

}  // namespace
}  // namespace isplitee::testing

namespace isplitee::testing {
namespace {

// `isplitee train` and `isplitee trace` on their own: the files they document, a checkpoint that
// `trace --checkpoint` accepts, traces whose labels and per-exit accuracies agree with the
// manifest, and `--resume`/`--force` rules for an existing output directory.
TEST_F(TinyRun, TrainThenTraceCommands) {
  ASSERT_EQ(first_.rc, 0) << first_.output;
  const fs::path model = dir_->path() / "model", traces = dir_->path() / "traces";
  const std::string cfg = " --config " + shell_quote(cfg_file_.string());
  auto r = run_cli("train" + cfg + " --out " + shell_quote(model.string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  for (const char* f :
       {"best.pt", "last.pt", "metrics.jsonl", "train_result.json", "train_state.json"})
    EXPECT_TRUE(fs::exists(model / f)) << f;
  const auto result = nlohmann::json::parse(std::ifstream(model / "train_result.json"));
  EXPECT_EQ(result["epochs_run"], 1);
  ASSERT_EQ(result["test_accuracy"].size(), 3u);  // resnet_cifar depth 8: 3 exits

  // A second train into the same directory without --resume/--force is refused.
  r = run_cli("train" + cfg + " --out " + shell_quote(model.string()));
  EXPECT_NE(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("--force"), std::string::npos) << r.output;

  r = run_cli("trace" + cfg + " --checkpoint " + shell_quote((model / "best.pt").string()) +
              " --out " + shell_quote(traces.string()));
  ASSERT_EQ(r.rc, 0) << r.output;
  std::size_t found = 0;
  for (const auto& e : fs::directory_iterator(traces)) {
    ++found;
    for (const char* f : {"manifest.json", "conf.npy", "pred.npy", "entropy.npy", "margin.npy",
                          "label.npy", "trace.csv"})
      EXPECT_TRUE(fs::exists(e.path() / f)) << e.path() << " " << f;
    const auto m = nlohmann::json::parse(std::ifstream(e.path() / "manifest.json"));
    EXPECT_EQ(m["sample_ids"].size(), 200u);
    EXPECT_EQ(m["exits"].size(), 3u);
  }
  EXPECT_EQ(found, 2u);  // none and gaussian_noise@5

  // The traces replay; a trace of the unseen checkpoint name is refused with exit 4.
  r = run_cli("trace" + cfg + " --checkpoint /nonexistent/best.pt --out " +
              shell_quote(traces.string()));
  EXPECT_NE(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/best.pt"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace isplitee::testing
