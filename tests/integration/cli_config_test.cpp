// Bad configurations fail fast, with one line naming the file, the key and the valid range, and the
// documented exit code (2 usage/config, 3 data, 4 I/O). None of these may train or trace anything.

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "support/cli.hpp"

namespace isplitee::testing {
namespace {

// A valid config whose model/train/trace work would be expensive: every case below must fail first.
nlohmann::json base_config(const std::filesystem::path& dir) {
  return {{"name", "bad-config-test"},
          {"output_dir", (dir / "run").string()},
          {"cache_dir", (dir / "cache").string()},
          {"data", {{"name", "fashion-mnist"}}},
          {"model",
           {{"arch", "resnet_cifar"},
            {"depth", 8},
            {"in_channels", 1},
            {"num_classes", 10},
            {"input_size", 28}}},
          {"trace", {{"distortions", {{{"name", "none"}}}}}},
          {"policies", {{{"name", "i-splitee"}}, {{"name", "final-exit"}}}}};
}

struct Case {
  const char* name;
  std::function<void(nlohmann::json&)> edit;  // edits the base config
  std::string extra_args;                     // after --config FILE
  int rc;
  std::vector<std::string> expected;  // substrings of the error line
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class BadConfig : public ::testing::TestWithParam<Case> {};

TEST_P(BadConfig, FailsWithOneClearLine) {
  const Case& c = GetParam();
  TempDir dir(std::string("badcfg_") + c.name);
  auto cfg = base_config(dir.path());
  if (c.edit) c.edit(cfg);
  const auto file = dir.write("cfg.json", cfg.dump(2));
  const auto r = run_cli("run --config " + shell_quote(file.string()) + " " + c.extra_args);
  EXPECT_EQ(r.rc, c.rc) << r.output;
  for (const auto& s : c.expected)
    EXPECT_NE(r.output.find(s), std::string::npos) << "missing '" << s << "' in: " << r.output;
  EXPECT_EQ(count_error_lines(r.output), 1) << r.output;
  EXPECT_EQ(r.output.find("Traceback"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "cache" / "models"))
      << "work started: " << r.output;
}

const Case kCases[] = {
    {"unknown_top_key",
     [](nlohmann::json& j) { j["seeed"] = 1; },
     "",
     2,
     {"cfg.json: seeed: unknown key; did you mean 'seed'?"}},
    {"unknown_nested_key",
     [](nlohmann::json& j) {
       j["cost"] = {{"alpah", 0.5}};
     },
     "",
     2,
     {"cfg.json: cost.alpah: unknown key; did you mean 'alpha'?"}},
    {"wrong_type",
     [](nlohmann::json& j) {
       j["cost"] = {{"alpha", "high"}};
     },
     "",
     2,
     {"cost.alpha: expected a number, got string \"high\""}},
    {"alpha_out_of_range",
     [](nlohmann::json& j) {
       j["cost"] = {{"alpha", 1.5}};
     },
     "",
     2,
     {"cost.alpha: value 1.5 is out of range [0, 1]"}},
    {"negative_offload_cost",
     [](nlohmann::json& j) {
       j["cost"] = {{"offload", -0.5}};
     },
     "",
     2,
     {"cost.offload: value -0.5 is out of range"}},
    {"unknown_policy",
     [](nlohmann::json& j) {
       j["policies"] = {{{"name", "i-splite"}}};
     },
     "",
     2,
     {"policies[0].name", "did you mean 'i-splitee'?"}},
    {"unknown_policy_param",
     [](nlohmann::json& j) {
       j["policies"] = {{{"name", "sw-ucb"}, {"tua", 100}}};
     },
     "",
     2,
     {"policies[0].tua: unknown key", "did you mean 'tau'?"}},
    {"policy_without_name",
     [](nlohmann::json& j) { j["policies"] = {nlohmann::json::object()}; },
     "",
     2,
     {"policies[0].name: missing required key"}},
    {"section_wrong_type",
     [](nlohmann::json& j) { j["cost"] = 5; },
     "",
     2,
     {"cfg.json: cost: expected an object, got integer"}},
    {"schedule_missing_trace",
     [](nlohmann::json& j) {
       j["streams"] = {{"schedules",
                        {{{"name", "drift"},
                          {"segments",
                           {{{"trace", "none"}, {"length", 10}},
                            {{"trace", "gaussian_blur@9"}, {"length", 10}}}}}}}};
     },
     "",
     2,
     {"schedule 'drift'", "unknown trace 'gaussian_blur@9'", "available: none"}},
    {"bad_set_syntax",
     nullptr,
     "--set cost.alpha",
     2,
     {"--set cost.alpha: expected KEY.PATH=VALUE"}},
    {"set_unknown_key",
     nullptr,
     "--set cost.alpah=0.4",
     2,
     {"cost.alpah: unknown key; did you mean 'alpha'?"}},
    {"set_out_of_range",
     nullptr,
     "--set experiment.repeats=0",
     2,
     {"experiment.repeats: value 0 is out of range [1, 10000]"}},
    {"bad_sweep_key",
     nullptr,
     "--sweep model.depth=8,14",
     2,
     {"--sweep model.depth=8,14: key 'model.depth' cannot be swept"}},
    {"unknown_distortion",
     [](nlohmann::json& j) {
       j["trace"]["distortions"] = {{{"name", "gausian_noise"}}};
     },
     "",
     2,
     {"trace.distortions[0].name", "did you mean 'gaussian_noise'?"}},
    {"unreadable_dataset",
     [](nlohmann::json& j) {
       j["data"] = {{"name", "cifar10"}, {"root", "/nonexistent/cifar"}};
     },
     "",
     4,
     {"/nonexistent/cifar", "scripts/download-cifar10.sh"}},
};

INSTANTIATE_TEST_SUITE_P(Cli, BadConfig, ::testing::ValuesIn(kCases),
                         [](const auto& p) { return std::string(p.param.name); });

TEST(CliConfig, MalformedJsonNamesLineAndColumn) {
  TempDir dir("malformed");
  const auto file = dir.write("cfg.json", "{\n  \"name\": \"x\",\n  \"seed\": ,\n}\n");
  const auto r = run_cli("run --config " + shell_quote(file.string()));
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find("cfg.json: malformed JSON at line 3, column 11"), std::string::npos)
      << r.output;
}

TEST(CliConfig, MissingConfigFile) {
  const auto r = run_cli("run --config /nonexistent/cfg.json");
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find("/nonexistent/cfg.json: config file not found"), std::string::npos)
      << r.output;
}

TEST(CliConfig, UnknownOptionIsUsageError) {
  const auto r = run_cli("run --config x.json --frobnicate");
  EXPECT_EQ(r.rc, 2) << r.output;
  EXPECT_NE(r.output.find("frobnicate"), std::string::npos) << r.output;
}

TEST(CliConfig, ThreadsOutOfRangeIsUsageError) {
  const auto r = run_cli("--threads -3 list");
  EXPECT_EQ(r.rc, 2) << r.output;
}

TEST(CliConfig, ExistingRunDirectoryNeedsForce) {
  TempDir dir("existing");
  auto cfg = base_config(dir.path());
  dir.write("run/report.md", "previous run");
  const auto file = dir.write("cfg.json", cfg.dump(2));
  const auto r = run_cli("run --config " + shell_quote(file.string()));
  EXPECT_EQ(r.rc, 4) << r.output;
  EXPECT_NE(r.output.find("already exists and is not empty (use --force to overwrite)"),
            std::string::npos)
      << r.output;
}

TEST(Cli, HelpVersionAndList) {
  auto r = run_cli("--help");
  EXPECT_EQ(r.rc, 0);
  for (const char* sub :
       {"run", "train", "trace", "replay", "report", "distort", "profile", "list"})
    EXPECT_NE(r.output.find(sub), std::string::npos) << sub;
  r = run_cli("--version");
  EXPECT_EQ(r.rc, 0);
  EXPECT_NE(r.output.find("isplitee 0."), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("LibTorch 1.13"), std::string::npos) << r.output;
  r = run_cli("list --json");
  ASSERT_EQ(r.rc, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_GE(j["policies"].size(), 14u);
  EXPECT_GE(j["distortions"].size(), 21u);  // 19 ImageNet-C + paper noise/blur variants + none
  EXPECT_NE(j["datasets"].dump().find("fashion-mnist"), std::string::npos);
  EXPECT_NE(j["models"].dump().find("mobilenet_v2"), std::string::npos);
}

}  // namespace
}  // namespace isplitee::testing
