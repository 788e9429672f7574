// The commands of the light build (replay, report, list, config) and the command line itself:
// these run in both builds. Every bad input gets exactly one line "isplitee: error: …", the
// documented exit code, and no work done before it.

#include <algorithm>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "isplitee/trace/trace.hpp"
#include "support/cli.hpp"
#include "support/synthetic_trace.hpp"

namespace isplitee::testing {
namespace {

namespace fs = std::filesystem;

/// Lines of `out` (a trailing newline does not start another line).
std::size_t line_count(const std::string& out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < out.size(); ++i)
    if (out[i] == '\n' || i + 1 == out.size()) ++n;
  return n;
}

/// Expects a failed command: exit code `rc`, exactly one line of output, which is the error line
/// and contains `message`.
void expect_one_error(const CliResult& r, int rc, const std::string& message) {
  EXPECT_EQ(r.rc, rc) << r.output;
  EXPECT_EQ(count_error_lines(r.output), 1) << r.output;
  EXPECT_EQ(line_count(r.output), 1u) << r.output;
  EXPECT_EQ(r.output.rfind("isplitee: error: ", 0), 0u) << r.output;
  EXPECT_NE(r.output.find(message), std::string::npos)
      << "missing '" << message << "' in: " << r.output;
}

class CoreCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::make_unique<TempDir>("core_cli");
    trace_ = dir_->path() / "t";
    trace::write_trace(trace_, *synth::synthetic_trace(400, {0.6, 0.75, 0.9}, /*seed=*/3));
  }
  std::string replay(const std::string& extra) const {
    return "replay --trace " + shell_quote(trace_.string()) +
           " --policy i-splitee --policy final-exit --repeats 2 " + extra;
  }
  std::unique_ptr<TempDir> dir_;
  fs::path trace_;
};

TEST_F(CoreCli, GlobalOptionsWorkAfterTheSubcommand) {
  // run_cli already puts --quiet first; -q and --threads after the subcommand must work too.
  const auto before = run_cli("--threads 1 " + replay("--json"));
  const auto after = run_cli(replay("--json --threads 1 -q"));
  ASSERT_EQ(before.rc, 0) << before.output;
  ASSERT_EQ(after.rc, 0) << after.output;
  const auto a = nlohmann::json::parse(before.output), b = nlohmann::json::parse(after.output);
  EXPECT_EQ(a["threads"], 1);
  EXPECT_EQ(b["threads"], 1);
  EXPECT_EQ(a["cells"], b["cells"]);
  const auto two = nlohmann::json::parse(run_cli(replay("--json --threads=2")).output);
  EXPECT_EQ(two["threads"], 2);
  EXPECT_EQ(two["cells"], a["cells"]);  // bit-identical for any thread count
}

TEST_F(CoreCli, StepsIntoADirectoryFailsBeforeTheWork) {
  const auto r = run_cli(replay("--steps " + shell_quote(dir_->path().string())));
  expect_one_error(r, 4, "cannot write " + dir_->path().string() + ": is a directory");
  const auto missing = dir_->path() / "no" / "such" / "steps.csv";
  const auto m = run_cli(replay("--steps " + shell_quote(missing.string())));
  expect_one_error(m, 4,
                   "directory " + (dir_->path() / "no" / "such").string() + " does not exist");
  EXPECT_FALSE(fs::exists(dir_->path() / "no"));
  // A good path still works and writes the file.
  const auto ok = run_cli(replay("--steps " + shell_quote((dir_->path() / "s.csv").string())));
  EXPECT_EQ(ok.rc, 0) << ok.output;
  EXPECT_TRUE(fs::exists(dir_->path() / "s.csv"));
}

TEST_F(CoreCli, ChoiceParamsAndThePolicyAllList) {
  // A choice-valued parameter: listed with its choices, parsed, and a wrong value is one error
  // line naming the choices.
  const auto j = nlohmann::json::parse(run_cli("list policies --json").output);
  bool seen = false;
  for (const auto& p : j)  // `list policies --json` is the list itself
    for (const auto& a : p["params"])
      if (p["name"] == "glr-ucb" && a["name"] == "reset") {
        seen = true;
        EXPECT_EQ(a["choices"], nlohmann::json({"all", "arm"}));
        EXPECT_EQ(a["default"], "all");
      }
  EXPECT_TRUE(seen);
  EXPECT_NE(run_cli("list policies").output.find("reset=all {all|arm}"), std::string::npos);
  const auto ok = run_cli("replay --trace " + shell_quote(trace_.string()) +
                          " --policy glr-ucb:reset=arm --policy cusum-ucb --repeats 1 --json");
  ASSERT_EQ(ok.rc, 0) << ok.output;
  expect_one_error(
      run_cli("replay --trace " + shell_quote(trace_.string()) + " --policy glr-ucb:reset=never"),
      2, "reset");
  // The synthetic trace has no entropy or margin: 'all' runs every other policy.
  const auto all = run_cli("replay --trace " + shell_quote(trace_.string()) +
                           " --policy all --repeats 1 --json");
  ASSERT_EQ(all.rc, 0) << all.output;
  const auto r = nlohmann::json::parse(all.output);
  const auto policies = r["policies"].get<std::vector<std::string>>();
  EXPECT_EQ(std::count(policies.begin(), policies.end(), "linucb-split"), 0);
  EXPECT_EQ(std::count(policies.begin(), policies.end(), "glr-ucb"), 1);
}

TEST(CoreCliParse, MisspeltSubcommandIsNamed) {
  expect_one_error(run_cli("lst"), 2, "unknown subcommand 'lst'; did you mean 'list'?");
  expect_one_error(run_cli("--threads 2 replya --trace x"), 2,
                   "unknown subcommand 'replya'; did you mean 'replay'?");
  expect_one_error(run_cli("frobnicate"), 2, "unknown subcommand 'frobnicate' (valid: ");
}

TEST(CoreCliParse, HelpPrintsTheHelp) {
  auto r = run_cli("help");
  EXPECT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("Subcommands:"), std::string::npos) << r.output;
  for (const char* sub :
       {"run", "train", "trace", "replay", "report", "distort", "profile", "list", "config"})
    EXPECT_NE(r.output.find(std::string("\n  ") + sub + " "), std::string::npos) << sub;
  r = run_cli("help replay");
  EXPECT_EQ(r.rc, 0) << r.output;
  EXPECT_NE(r.output.find("Usage: isplitee replay"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("--trace"), std::string::npos) << r.output;
}

TEST(CoreCliParse, ParseErrorsAreOneLineWithThePrefix) {
  expect_one_error(run_cli("--threads abc list"), 2, "--threads");
  expect_one_error(run_cli("--threads -3 list"), 2, "--threads");
  expect_one_error(run_cli("list --frobnicate"), 2, "frobnicate");
  expect_one_error(run_cli("list nonsense"), 2, "nonsense");
  expect_one_error(run_cli("replay"), 2, "--trace is required");
  expect_one_error(run_cli(""), 2, "subcommand is required");
}

TEST_F(CoreCli, SetKeyTyposBlameTheSetArgument) {
  expect_one_error(run_cli(replay("--set cost.alhpa=0.7")), 2,
                   "--set cost.alhpa=0.7: cost.alhpa: unknown key; did you mean 'alpha'?");
  const auto cfg = dir_->write("cfg.json", R"({"name": "x", "cost": {"alpha": 0.6}})");
  const std::string show = "config show " + shell_quote(cfg.string());
  expect_one_error(run_cli(show + " --set cost.alhpa=0.7"), 2,
                   "--set cost.alhpa=0.7: cost.alhpa: unknown key; did you mean 'alpha'?");
  expect_one_error(run_cli(show + " --set experiment.repeats=0"), 2,
                   "--set experiment.repeats=0: experiment.repeats: value 0 is out of range");
  expect_one_error(run_cli(show + " --set 'policies=[{\"name\":\"sw-ucb\",\"tua\":5}]'"), 2,
                   "--set policies=[{\"name\":\"sw-ucb\",\"tua\":5}]: policies[0].tua: unknown "
                   "key; did you mean 'tau'?");
  // A typo in the file itself still names the file.
  const auto bad = dir_->write("bad.json", R"({"name": "x", "cost": {"alhpa": 0.6}})");
  expect_one_error(run_cli("config show " + shell_quote(bad.string()) + " --set cost.mu=2"), 2,
                   bad.string() + ": cost.alhpa: unknown key; did you mean 'alpha'?");
}

TEST_F(CoreCli, ConfigShowPrintsTheResolvedConfig) {
  const auto cfg =
      dir_->write("cfg.json", R"({"name": "x", "description": "a test", "cost": {"alpha": 0.6},
                     "model": {"arch": "resnet_cifar", "depth": 8},
                     "trace": {"distortions": [{"name": "gaussian_noise", "severity": 2}]}})");
  const auto r = run_cli("config show " + shell_quote(cfg.string()) + " --set cost.offload=0.25");
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["description"], "a test");
  EXPECT_EQ(j["cost"]["alpha"], 0.6);
  EXPECT_EQ(j["cost"]["offload"], 0.25);
  EXPECT_EQ(j["cost"]["lambda"], 0.1);      // a default filled in
  EXPECT_EQ(j["model"]["input_size"], 32);  // resnet_cifar's default input size
  EXPECT_EQ(j["policies"].size(), 12u);     // the default policy list
  EXPECT_EQ(j["trace"]["distortions"][0]["preset"], "auto");
  EXPECT_EQ(j["train"]["optimizer"], "adam");
  // The resolved config is itself a config that resolves to the same thing.
  const auto again_file = dir_->write("resolved.json", r.output);
  const auto again = run_cli("config show " + shell_quote(again_file.string()));
  ASSERT_EQ(again.rc, 0) << again.output;
  EXPECT_EQ(again.output, r.output);

  expect_one_error(run_cli("config show /tmp"), 2, "/tmp: is a directory, not a config file");
  expect_one_error(run_cli("config show /nonexistent/c.json"), 2,
                   "/nonexistent/c.json: config file not found");
  const auto arch = dir_->write("arch.json", R"({"model": {"arch": "resnet19"}})");
  expect_one_error(run_cli("config show " + shell_quote(arch.string())), 2,
                   "model.arch: unknown value 'resnet19'");
  expect_one_error(run_cli("config show " + shell_quote(arch.string())), 2,
                   "did you mean 'resnet18'?");
  expect_one_error(run_cli("config"), 2, "subcommand is required");
}

TEST(CoreCliList, ConfigsOfTheRepositoryWithDescriptions) {
  const auto r = run_cli("list configs --json", ISPLITEE_SOURCE_DIR);
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  ASSERT_GE(j.size(), 4u) << r.output;
  bool main_job = false;
  for (const auto& c : j) {
    EXPECT_EQ(c["error"], "") << c.dump();
    EXPECT_FALSE(c["description"].get<std::string>().empty()) << c.dump();
    main_job = main_job || c["file"] == "configs/fashion-mnist.json";
  }
  EXPECT_TRUE(main_job) << r.output;
  const auto text = run_cli("list configs", ISPLITEE_SOURCE_DIR);
  EXPECT_NE(text.output.find("configs/fashion-mnist.json"), std::string::npos) << text.output;
  // Elsewhere there is nothing to list, which is not an error.
  TempDir empty("list_configs");
  const auto none = run_cli("list configs", empty.path());
  EXPECT_EQ(none.rc, 0) << none.output;
  EXPECT_NE(none.output.find("configs: none"), std::string::npos) << none.output;
}

TEST(CoreCliList, ModelsComeFromTheBackboneRegistry) {
  const auto r = run_cli("list models --json");
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  std::vector<std::string> names;
  for (const auto& b : j["backbones"]) {
    names.push_back(b["name"]);
    EXPECT_FALSE(b["description"].get<std::string>().empty());
  }
  EXPECT_EQ(names, j["architectures"].get<std::vector<std::string>>());
  EXPECT_EQ(j["backbones"][0]["name"], "mobilenet_v2");
  EXPECT_EQ(j["backbones"][0]["keys"], nlohmann::json({"width_mult", "small_input"}));
  const auto all = nlohmann::json::parse(run_cli("list --json").output);
  EXPECT_GE(all["policies"].size(), 14u);
  EXPECT_GE(all["distortions"].size(), 21u);  // every registry works without vision too
}

TEST(CoreCliBuild, VisionCommandsSayHowToGetThem) {
  const auto v = run_cli("--version");
  EXPECT_EQ(v.rc, 0) << v.output;
#if ISPLITEE_HAS_VISION
  EXPECT_NE(v.output.find("LibTorch"), std::string::npos) << v.output;
#else
  EXPECT_NE(v.output.find("built without vision"), std::string::npos) << v.output;
  for (const char* sub : {"run --config x.json --set a=1", "train -c x.json", "trace", "distort",
                          "profile --arch mobilenet_v2"}) {
    const auto r = run_cli(sub);
    expect_one_error(r, 2,
                     "isplitee was built without vision (LibTorch/OpenCV); rebuild with "
                     "-DISPLITEE_BUILD_VISION=ON");
  }
#endif
}

}  // namespace
}  // namespace isplitee::testing
