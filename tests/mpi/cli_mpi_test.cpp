// `mpirun -np N isplitee run` on a tiny config (generated IDX dataset, small network, two
// distortions, a sweep of three points): the trace files and every report metric are the same for
// N = 1, 2 and 3; a rank that fails (or dies of a signal) stops the run with one line naming the
// rank and the work item; the rerun reuses the shards that were finished.

#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli.hpp"
#include "support/idx_data.hpp"

namespace isplitee::testing {
namespace {
namespace fs = std::filesystem;

nlohmann::json tiny_config() {
  return nlohmann::json::parse(R"({
    "name": "tiny-mpi",
    "seed": 5,
    "data": {"name": "mnist", "val_fraction": 0.2},
    "model": {"arch": "resnet_cifar", "depth": 8, "width": 8, "in_channels": 1, "num_classes": 10,
              "input_size": 28},
    "train": {"epochs": 1, "batch_size": 32, "lr_backbone": 0.003, "lr_final_head": 0.003,
              "augment": {"kind": "none"}, "workers": 1},
    "trace": {"batch_size": 32, "workers": 1,
              "distortions": [{"name": "none"}, {"name": "gaussian_noise", "severity": 4}]},
    "cost": {"alpha": 0.6, "lambda": 0.1, "mu": 1.0, "offload": 0.5},
    "policies": [{"name": "i-splitee"}, {"name": "final-exit"}, {"name": "sw-ucb", "tau": 50}],
    "streams": {"schedules": [{"name": "drift", "segments": [
        {"trace": "none", "length": 120}, {"trace": "gaussian_noise@4", "length": 120}]}]},
    "experiment": {"repeats": 2, "record_steps": true, "curve_points": 10, "plots": false}
  })");
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// Every file under `dir` (relative path → bytes); shard and temporary directories would show.
std::map<std::string, std::string> files_under(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = slurp(e.path());
  return out;
}

/// report.json without what may differ between runs (times, the run directory, the rank count).
nlohmann::json metrics_of(const fs::path& run) {
  auto j = nlohmann::json::parse(slurp(run / "report.json"));
  nlohmann::json out = {{"traces", j["traces"]},
                        {"result", j["result"]},
                        {"sweep", j["sweep"]},
                        {"sweep_keys", j["sweep_keys"]}};
  out["result"].erase("wall_seconds");
  for (auto& p : out["sweep"]) p["result"].erase("wall_seconds");
  return out;
}

std::string mpirun(int np, const std::string& args, const std::string& env = "") {
  std::string cmd = env + (env.empty() ? "" : " ") + "mpirun";
  if (::geteuid() == 0) cmd += " --allow-run-as-root";
  cmd += " --oversubscribe --bind-to none -np " + std::to_string(np) + " " +
         std::string(ISPLITEE_BIN) + " --quiet " + args + " 2>&1";
  CliResult r;
  FILE* p = ::popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  std::size_t n;
  std::string out;
  while (p && (n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int status = p ? ::pclose(p) : -1;
  return std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + "\n" + out;
}

int rc_of(const std::string& r) { return std::stoi(r.substr(0, r.find('\n'))); }

class MpiRun : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::system("command -v mpirun >/dev/null 2>&1") != 0) {
      if (!ISPLITEE_HAS_MPI) GTEST_SKIP() << "built without MPI and no mpirun";
      FAIL() << "isplitee was built with MPI but mpirun is not on PATH (openmpi-bin)";
    }
  }
};

TEST_F(MpiRun, TracesAndMetricsDoNotDependOnRanksAndAFailedRankIsNamed) {
  TempDir dir("mpirun");
  write_idx(dir.path() / "data", "train", 400, 1);
  write_idx(dir.path() / "data", "t10k", 300, 2);  // 10 batches of 32, the last one short
  auto cfg = tiny_config();
  cfg["cache_dir"] = (dir.path() / "cache").string();
  cfg["data"]["root"] = (dir.path() / "data").string();
  const auto cfg_file = dir.write("tiny.json", cfg.dump(2));
  const fs::path traces = dir.path() / "cache" / "traces";
  auto run = [&](int np, const std::string& name, const std::string& extra,
                 const std::string& env = "") {
    return mpirun(np,
                  "run --config " + shell_quote(cfg_file.string()) +
                      " --sweep cost.offload=0.3,0.7" + " --output " +
                      shell_quote((dir.path() / name).string()) + extra,
                  env);
  };

  // One rank: the plain code path (trains the model, computes the traces in one piece).
  const auto r1 = run(1, "run1", "");
  ASSERT_EQ(rc_of(r1), 0) << r1;
  const auto traces1 = files_under(traces);
  ASSERT_GE(traces1.size(), 2u * 6u);
  const auto metrics1 = metrics_of(dir.path() / "run1");
  const auto steps1 = slurp(dir.path() / "run1" / "steps.csv");

  for (int np : {2, 3}) {
    const std::string name = "run" + std::to_string(np);
    const auto r = run(np, name, " --retrace");  // every trace recomputed in np shards
    ASSERT_EQ(rc_of(r), 0) << r;
    EXPECT_EQ(files_under(traces), traces1) << "np " << np << ": trace files differ\n" << r;
    EXPECT_EQ(metrics_of(dir.path() / name), metrics1) << "np " << np;
    EXPECT_EQ(slurp(dir.path() / name / "steps.csv"), steps1) << "np " << np;
    EXPECT_FALSE(fs::exists(dir.path() / name / "partial")) << np;
    EXPECT_EQ(count_error_lines(r), 0) << r;
  }

  // Rank 1 fails on its first work item: one line names it, the exit code is not 0, and the
  // rerun reuses the shards rank 0 finished.
  fs::remove_all(traces);
  const auto crash = run(2, "run-crash", "", "ISPLITEE_MPI_CRASH_RANK=1");  // dies of SIGSEGV
  EXPECT_NE(rc_of(crash), 0) << crash;
  EXPECT_EQ(count_error_lines(crash), 1) << crash;
  EXPECT_NE(
      crash.find("isplitee: error: rank 1: trace none samples [160, 300): killed by signal 11"),
      std::string::npos)
      << crash;
  fs::remove_all(traces);
  const auto bad = run(2, "run-bad", "", "ISPLITEE_MPI_FAIL_RANK=1");
  EXPECT_NE(rc_of(bad), 0) << bad;
  EXPECT_EQ(count_error_lines(bad), 1) << bad;
  EXPECT_NE(bad.find("isplitee: error: rank 1: trace none samples [160, 300): failed on purpose"),
            std::string::npos)
      << bad;
  const auto again = mpirun(2, "--log-level info run --config " + shell_quote(cfg_file.string()) +
                                   " --sweep cost.offload=0.3,0.7 --force --output " +
                                   shell_quote((dir.path() / "run-bad").string()));
  ASSERT_EQ(rc_of(again), 0) << again;
  EXPECT_NE(again.find("reusing shard"), std::string::npos) << again;
  EXPECT_EQ(files_under(traces), traces1);
  EXPECT_EQ(metrics_of(dir.path() / "run-bad"), metrics1);
}

}  // namespace
}  // namespace isplitee::testing
