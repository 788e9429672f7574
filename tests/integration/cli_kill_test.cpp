// SIGKILL at seeded random moments (and at the moments files are being written):
//  - `isplitee train` killed, then `--resume`d, ends with the same weights, bit for bit, as an
//    uninterrupted run;
//  - `isplitee trace` killed never leaves a cache entry that a later run serves: every directory a
//    later run would reuse is a complete trace equal to an uninterrupted run's, and the next run
//    recomputes what is missing and ends with the same files.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "isplitee/common/rng.hpp"
#include "isplitee/trace/trace.hpp"
#include "support/cli.hpp"
#include "support/idx_data.hpp"

namespace isplitee::testing {
namespace {
namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::uint32_t le(const std::string& b, std::size_t off, int bytes) {
  std::uint32_t v = 0;
  for (int i = bytes - 1; i >= 0; --i)
    v = (v << 8) | static_cast<unsigned char>(b.at(off + static_cast<std::size_t>(i)));
  return v;
}

// The entries of a LibTorch archive (a zip), keyed by their name without the top-level folder:
// that folder is named after the temporary file the writer used, so it differs from run to run
// while the parameters and metadata must not. Values are the stored bytes (compressed as stored).
std::map<std::string, std::string> archive_entries(const fs::path& p) {
  const std::string b = read_all(p);
  std::map<std::string, std::string> out;
  const auto eocd = b.rfind(std::string("PK\x05\x06", 4));
  if (eocd == std::string::npos || eocd + 22 > b.size()) {
    ADD_FAILURE() << p << ": not a zip archive";
    return out;
  }
  const std::size_t count = le(b, eocd + 10, 2);
  std::size_t cd = le(b, eocd + 16, 4);
  for (std::size_t e = 0; e < count; ++e) {
    if (le(b, cd, 4) != 0x02014b50u) {
      ADD_FAILURE() << p << ": bad central directory entry " << e;
      return out;
    }
    const auto size = le(b, cd + 20, 4);  // compressed size: what is stored
    const std::size_t nlen = le(b, cd + 28, 2), xlen = le(b, cd + 30, 2), clen = le(b, cd + 32, 2);
    const std::size_t local = le(b, cd + 42, 4);
    std::string name = b.substr(cd + 46, nlen);
    cd += 46 + nlen + xlen + clen;
    if (size == 0xFFFFFFFFu) {
      ADD_FAILURE() << p << ": entry " << name << " is zip64-sized";
      return out;
    }
    const std::size_t data = local + 30 + le(b, local + 26, 2) + le(b, local + 28, 2);
    name = name.substr(name.find('/') + 1);
    out[name] = b.substr(data, size);
  }
  return out;
}

/// Starts `isplitee --quiet --threads 1 <args>` in the background; returns its pid.
pid_t spawn(const std::vector<std::string>& args) {
  std::vector<std::string> all = {ISPLITEE_BIN, "--quiet", "--log-level", "off", "--threads", "1"};
  all.insert(all.end(), args.begin(), args.end());
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int devnull = ::open("/dev/null", O_WRONLY);  // the tables it prints are not checked here
    if (devnull >= 0) ::dup2(devnull, STDOUT_FILENO);
    std::vector<char*> argv;
    for (auto& a : all) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(ISPLITEE_BIN, argv.data());
    ::_exit(127);
  }
  return pid;
}

int wait_exit(pid_t pid) {
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/// Kills `pid` with SIGKILL once `trigger()` holds (polled every 200 µs; given up at `deadline`)
/// and `delay` more has passed. Returns whether it was still running then (false: it finished).
bool kill_when(pid_t pid, const std::function<bool()>& trigger, std::chrono::microseconds delay,
               Clock::time_point deadline) {
  while (Clock::now() < deadline && !trigger()) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;  // finished (and reaped)
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  std::this_thread::sleep_for(delay);
  if (::waitpid(pid, nullptr, WNOHANG) != 0) return false;  // finished before the kill
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return true;
}

// Kill moments: a seeded uniform fraction of an uninterrupted run's duration.
std::chrono::microseconds seeded_delay(std::uint64_t seed, double run_seconds, double lo,
                                       double hi) {
  Rng rng(20240113, {seed});
  return std::chrono::microseconds(
      static_cast<std::int64_t>(rng.uniform(lo, hi) * run_seconds * 1e6));
}

class KillTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("kill");
    write_idx(dir_->path() / "data", "train", 600, 1);
    write_idx(dir_->path() / "data", "t10k", 200, 2);
    const auto cfg = nlohmann::json::parse(R"({
      "name": "kill", "seed": 5,
      "data": {"name": "mnist", "val_fraction": 0.2},
      "model": {"arch": "resnet_cifar", "depth": 8, "width": 8, "in_channels": 1,
                "num_classes": 10, "input_size": 28},
      "train": {"epochs": 3, "batch_size": 32, "lr_backbone": 0.003, "lr_final_head": 0.003,
                "augment": {"kind": "crop-flip"}, "workers": 1, "patience": 10},
      "trace": {"batch_size": 32, "workers": 1,
                "distortions": [{"name": "none"}, {"name": "gaussian_noise", "severity": 5},
                                {"name": "gaussian_blur", "severity": 2}]}
    })");
    auto c = cfg;
    c["data"]["root"] = (dir_->path() / "data").string();
    c["cache_dir"] = (dir_->path() / "cache").string();
    config_ = dir_->write("kill.json", c.dump(2)).string();
    // The uninterrupted reference run, timed: kill moments are fractions of it.
    const auto t0 = Clock::now();
    train_rc_ = wait_exit(spawn({"train", "--config", config_, "--out", ref_model().string()}));
    train_seconds_ = std::chrono::duration<double>(Clock::now() - t0).count();
  }
  static void TearDownTestSuite() { delete dir_; }

  static fs::path ref_model() { return dir_->path() / "ref_model"; }

  static TempDir* dir_;
  static std::string config_;
  static int train_rc_;
  static double train_seconds_;
};
TempDir* KillTest::dir_ = nullptr;
std::string KillTest::config_;
int KillTest::train_rc_ = -1;
double KillTest::train_seconds_ = 0;

TEST_F(KillTest, TrainKilledThenResumedEndsWithIdenticalWeights) {
  ASSERT_EQ(train_rc_, 0) << "reference training failed";
  const auto ref_best = archive_entries(ref_model() / "best.pt");
  const auto ref_last = archive_entries(ref_model() / "last.pt");
  ASSERT_FALSE(ref_best.empty());
  ASSERT_FALSE(ref_last.empty());
  int resumed = 0, restarted = 0;
  // Seeds 1-4: a uniform moment of the run. Seeds 5-7: while an epoch's files are being written
  // (the moment train_state.json of epoch 1 or 2 appears, plus a few seeded milliseconds).
  for (std::uint64_t seed = 1; seed <= 7; ++seed) {
    SCOPED_TRACE("kill seed " + std::to_string(seed));
    const fs::path out = dir_->path() / ("model" + std::to_string(seed));
    const pid_t pid = spawn({"train", "--config", config_, "--out", out.string()});
    const auto start = Clock::now();
    const auto deadline =
        start + std::chrono::microseconds(static_cast<std::int64_t>(train_seconds_ * 3e6));
    bool killed = false;
    if (seed <= 4) {
      killed = kill_when(
          pid, [] { return true; }, seeded_delay(seed, train_seconds_, 0.05, 0.95), deadline);
    } else {
      const int epoch = seed == 6 ? 2 : 1;
      const auto state = out / "train_state.json";
      killed = kill_when(
          pid,
          [&] {
            std::error_code ec;
            if (!fs::exists(state, ec)) return false;
            const auto j = nlohmann::json::parse(read_all(state), nullptr, false);
            return j.is_object() && j.value("epochs_done", 0) >= epoch;
          },
          seeded_delay(seed, 0.05, 0.0, 1.0), deadline);
    }
    if (!killed) {
      ADD_FAILURE() << "the run ended before the kill";
      continue;
    }
    CliResult r;
    if (fs::exists(out / "train_state.json")) {
      r = run_cli("--threads 1 train --config " + shell_quote(config_) + " --out " +
                  shell_quote(out.string()) + " --resume");
      ++resumed;
    } else {
      // Killed before the first epoch was saved: nothing to resume, said clearly; start over.
      r = run_cli("--threads 1 train --config " + shell_quote(config_) + " --out " +
                  shell_quote(out.string()) + " --resume");
      EXPECT_EQ(r.rc, 4) << r.output;
      EXPECT_EQ(count_error_lines(r.output), 1) << r.output;
      EXPECT_NE(r.output.find("nothing to resume"), std::string::npos) << r.output;
      r = run_cli("--threads 1 train --config " + shell_quote(config_) + " --out " +
                  shell_quote(out.string()) + " --force");
      ++restarted;
    }
    ASSERT_EQ(r.rc, 0) << r.output;
    EXPECT_TRUE(archive_entries(out / "best.pt") == ref_best) << "best.pt differs";
    EXPECT_TRUE(archive_entries(out / "last.pt") == ref_last) << "last.pt differs";
    const auto res = nlohmann::json::parse(read_all(out / "train_result.json"));
    const auto ref = nlohmann::json::parse(read_all(ref_model() / "train_result.json"));
    EXPECT_EQ(res["test_accuracy"], ref["test_accuracy"]);
    EXPECT_EQ(res["best_epoch"], ref["best_epoch"]);
  }
  // The write-time kills (seeds 5-7) always leave a state to resume from.
  EXPECT_GE(resumed, 3) << "restarted " << restarted;
  std::printf(
      "train killed 7 times: %d resumed, %d started over (killed before epoch 1 was saved)\n",
      resumed, restarted);
}

// The trace directories of `dir` that a later run would serve (a manifest in place), by name.
std::map<std::string, fs::path> served_traces(const fs::path& dir) {
  std::map<std::string, fs::path> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.is_directory() && fs::exists(e.path() / "manifest.json"))
      out[e.path().filename().string()] = e.path();
  return out;
}

void expect_same_trace_files(const fs::path& got, const fs::path& want) {
  for (const auto& e : fs::directory_iterator(want)) {
    const auto name = e.path().filename();
    EXPECT_TRUE(fs::exists(got / name)) << got / name;
    EXPECT_TRUE(read_all(got / name) == read_all(e.path())) << got / name << " differs";
  }
}

TEST_F(KillTest, TraceKilledMidWriteNeverLeavesAServedEntry) {
  ASSERT_EQ(train_rc_, 0) << "reference training failed";
  const std::string ck = (ref_model() / "best.pt").string();
  const fs::path ref = dir_->path() / "ref_traces";
  const auto t0 = Clock::now();
  auto r = run_cli("--threads 1 trace --config " + shell_quote(config_) + " --checkpoint " +
                   shell_quote(ck) + " --out " + shell_quote(ref.string()));
  const double trace_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto want = served_traces(ref);
  ASSERT_EQ(want.size(), 3u);

  // Seeds 1-4: a uniform moment of the run. Seeds 5-9: while a trace directory is being written
  // (a temporary ".tmp-" directory has appeared), plus a seeded 0-20 ms.
  int mid_write = 0;  // kills that left a half-written temporary trace directory behind
  for (std::uint64_t seed = 1; seed <= 9; ++seed) {
    SCOPED_TRACE("kill seed " + std::to_string(seed));
    const fs::path out = dir_->path() / ("traces" + std::to_string(seed));
    const pid_t pid =
        spawn({"trace", "--config", config_, "--checkpoint", ck, "--out", out.string()});
    if (seed <= 4) {
      kill_when(
          pid, [] { return true; }, seeded_delay(seed, trace_seconds, 0.05, 0.95), Clock::now());
    } else {
      const auto deadline =
          Clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(trace_seconds * 3e6));
      const std::size_t nth = seed % 3;  // the first, second or third trace being written
      kill_when(
          pid,
          [&] {
            std::error_code ec;
            if (!fs::is_directory(out, ec)) return false;
            std::size_t tmp = 0, done = 0;
            for (const auto& e : fs::directory_iterator(out, ec)) {
              const auto n = e.path().filename().string();
              tmp += n.rfind(".tmp-", 0) == 0;
              done += n.rfind(".tmp-", 0) != 0;
            }
            return tmp > 0 && done >= nth;
          },
          seeded_delay(seed, 0.02, 0.0, 1.0), deadline);
    }
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(out, ec))
      if (e.path().filename().string().rfind(".tmp-", 0) == 0) {
        ++mid_write;
        break;
      }
    // Whatever a later run would serve is complete and equal to the uninterrupted run's.
    for (const auto& [name, path] : served_traces(out)) {
      ASSERT_TRUE(want.count(name)) << "unexpected trace directory " << path;
      EXPECT_NO_THROW(trace::read_trace(path)) << path;
      expect_same_trace_files(path, want.at(name));
    }
    // The next run reuses the complete ones, recomputes the rest, and ends where the reference is.
    r = run_cli("--threads 1 trace --config " + shell_quote(config_) + " --checkpoint " +
                shell_quote(ck) + " --out " + shell_quote(out.string()));
    ASSERT_EQ(r.rc, 0) << r.output;
    const auto got = served_traces(out);
    ASSERT_EQ(got.size(), want.size());
    for (const auto& [name, path] : want) {
      ASSERT_TRUE(got.count(name)) << name;
      expect_same_trace_files(got.at(name), path);
    }
  }
  // The write-triggered kills must really have hit a write at least once.
  EXPECT_GE(mid_write, 1);
  std::printf("trace killed 9 times, %d of them while a trace directory was being written\n",
              mid_write);
}

}  // namespace
}  // namespace isplitee::testing
