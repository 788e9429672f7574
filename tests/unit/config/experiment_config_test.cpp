// The experiment config as the light build sees it: every section parses, resolves and round-trips
// in isplitee::core alone, `--set` typos are blamed on the `--set`, and the registries the parsers
// use (backbones, distortions) are complete.
#include "isplitee/pipeline/experiment_config.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "isplitee/common/error.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/distort/spec.hpp"
#include "isplitee/model/backbones.hpp"
#include "isplitee/model/config.hpp"
#include "support/temp_dir.hpp"

namespace isplitee::pipeline {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(ErrorCode::kUsage));
    return e.what();
  }
  ADD_FAILURE() << "no isplitee::Error thrown";
  return "";
}

TEST(ExperimentConfig, ResolvedJsonReparsesToItself) {
  auto doc = config::Document::parse(
      R"({"name": "x", "description": "one line", "seed": 3,
          "model": {"arch": "resnet_cifar", "depth": 14, "width": 12, "in_channels": 1},
          "trace": {"distortions": [{"name": "none"}, {"name": "gaussian_blur", "severity": 2},
                                    {"name": "gaussian_noise", "params": {"sigma": 20, "units": "px"}}]},
          "policies": [{"name": "sw-ucb", "tau": 500}]})",
      "x.json");
  doc.apply_override("cost.alpha=0.7");
  const auto c = parse_experiment(doc);
  EXPECT_EQ(c.description, "one line");
  EXPECT_EQ(c.cost.alpha, 0.7);
  EXPECT_EQ(c.model.input_size, 32);
  ASSERT_EQ(c.trace.distortions.size(), 3u);
  EXPECT_EQ(distort::label(c.trace.distortions[1]), "gaussian_blur@2");
  EXPECT_EQ(distort::label(c.trace.distortions[2]), "gaussian_noise(sigma=20px)");
  const auto j = resolved_json(c);
  const auto again = resolved_json(parse_experiment(config::Document::from_json(j, "resolved")));
  EXPECT_EQ(j, again);
  EXPECT_EQ(j["description"], "one line");
}

// train.seed and experiment.seed default to the top-level seed, can be set apart, and resolve into
// config.resolved.json; the top-level seed alone keeps its old meaning for both.
TEST(ExperimentConfig, TrainAndExperimentSeedsDefaultToTheTopLevelSeed) {
  auto doc = config::Document::parse(R"({"name": "s", "seed": 3})", "s.json");
  auto c = parse_experiment(doc);
  EXPECT_EQ(train_seed(c), 3u);
  EXPECT_EQ(experiment_seed(c), 3u);
  doc.apply_override("experiment.seed=1");
  c = parse_experiment(doc);
  EXPECT_EQ(train_seed(c), 3u);
  EXPECT_EQ(experiment_seed(c), 1u);
  const auto j = resolved_json(c);
  EXPECT_EQ(j["train"]["seed"], 3);
  EXPECT_EQ(j["experiment"]["seed"], 1);
  const auto again = parse_experiment(config::Document::from_json(j, "resolved"));
  EXPECT_EQ(train_seed(again), 3u);
  EXPECT_EQ(experiment_seed(again), 1u);
  doc.apply_override("train.seed=7");
  c = parse_experiment(doc);
  EXPECT_EQ(train_seed(c), 7u);
  EXPECT_EQ(experiment_seed(c), 1u);
  EXPECT_NE(error_of([&] {
              auto d = doc;
              d.apply_override("experiment.seed=-1");
              parse_experiment(d);
            }).find("experiment.seed"),
            std::string::npos);
}

TEST(ExperimentConfig, SetTyposAreBlamedOnTheSet) {
  auto doc = config::Document::parse(R"({"cost": {"alpha": 0.5}})", "c.json");
  doc.apply_override("cost.alhpa=0.7");
  EXPECT_EQ(error_of([&] { parse_experiment(doc); }),
            "--set cost.alhpa=0.7: cost.alhpa: unknown key; did you mean 'alpha'?");

  auto arr = config::Document::parse(R"({"policies": [{"name": "sw-ucb"}]})", "c.json");
  arr.apply_override("policies.0.tua=5");
  EXPECT_EQ(error_of([&] { parse_experiment(arr); }),
            "--set policies.0.tua=5: policies[0].tua: unknown key; did you mean 'tau'?");

  // A whole object set at once: a bad key inside it is still the --set's.
  auto obj = config::Document::parse("{}", "c.json");
  obj.apply_override(R"(model={"arch": "resnet_cifar", "dept": 8})");
  EXPECT_NE(error_of([&] {
              parse_experiment(obj);
            }).find(R"(--set model={"arch": "resnet_cifar", "dept": 8}: model.dept: unknown key)"),
            std::string::npos);

  // A --set elsewhere does not take the blame for the file's own typo, nor a prefix-alike key.
  auto file = config::Document::parse(R"({"cost": {"alhpa": 0.5}, "seedx": 1})", "c.json");
  file.apply_override("cost.mu=2");
  file.apply_override("seed=4");
  EXPECT_EQ(file.origin("cost.alhpa"), "c.json");
  EXPECT_EQ(file.origin("seedx"), "c.json");
  EXPECT_EQ(file.origin("seed"), "--set seed=4");
  EXPECT_EQ(error_of([&] { parse_experiment(file); }).rfind("c.json: ", 0), 0u);
}

TEST(ExperimentConfig, UnknownArchitectureNamesThePathAndTheNearest) {
  const auto doc = config::Document::parse(R"({"model": {"arch": "resnet19"}})", "c.json");
  const auto msg = error_of([&] { parse_experiment(doc); });
  EXPECT_EQ(msg.rfind("c.json: model.arch: unknown value 'resnet19'", 0), 0u) << msg;
  EXPECT_NE(msg.find("did you mean 'resnet18'?"), std::string::npos) << msg;
}

TEST(ExperimentConfig, FindConfigsListsGoodAndBrokenFiles) {
  testing::TempDir dir("find_configs");
  dir.write("b.json", R"({"name": "bee", "description": "the b config"})");
  dir.write("a.json", R"({"name": "ay", "cost": {"alpha": 2}})");
  dir.write("notes.txt", "not a config");
  const auto found = find_configs(dir.path());
  ASSERT_EQ(found.size(), 2u);
  EXPECT_EQ(found[0].file.filename(), "a.json");
  EXPECT_NE(found[0].problem.find("cost.alpha: value 2 is out of range [0, 1]"), std::string::npos)
      << found[0].problem;
  EXPECT_EQ(found[1].name, "bee");
  EXPECT_EQ(found[1].description, "the b config");
  EXPECT_EQ(found[1].problem, "");
  EXPECT_TRUE(find_configs(dir.path() / "missing").empty());
}

TEST(ExperimentConfig, RepositoryConfigsAllParseWithDescriptions) {
  const auto found = find_configs(std::filesystem::path(ISPLITEE_SOURCE_DIR) / "configs");
  ASSERT_GE(found.size(), 4u);
  for (const auto& c : found) {
    EXPECT_EQ(c.problem, "") << c.file;
    EXPECT_FALSE(c.description.empty()) << c.file;
  }
}

TEST(BackboneRegistry, NamesAreTheArchitecturesAndKeysAreRealModelKeys) {
  std::vector<std::string> names;
  const model::ModelConfig default_config;
  const auto defaults = model::to_json(default_config);
  for (const auto& b : model::builtin_backbones()) {
    names.push_back(b.name);
    EXPECT_FALSE(b.description.empty()) << b.name;
    EXPECT_EQ(model::find_backbone(b.name), &b);
    // Every key the registry names is one the model section accepts for that architecture.
    nlohmann::json section = {{"arch", b.name}};
    for (const auto& k : b.knobs) section[k] = defaults.at(k);
    for (const auto& k : model::common_model_keys()) ASSERT_TRUE(defaults.contains(k)) << k;
    const auto doc = config::Document::from_json({{"model", section}}, "registry");
    EXPECT_NO_THROW(model::parse_model_config(config::Node(doc).object("model"))) << b.name;
  }
  EXPECT_EQ(names, model::architecture_names());
  EXPECT_EQ(model::find_backbone("resnet19"), nullptr);
}

TEST(DistortionRegistry, SpecsParseWithoutImageCode) {
  std::size_t with_severity = 0;
  for (const auto& d : distort::builtin_distortions()) {
    EXPECT_EQ(distort::find_distortion(d.name), &d);
    if (!d.has_severity) continue;
    ++with_severity;
    const auto doc = config::Document::from_json({{"name", d.name}, {"severity", 3}}, "spec");
    const auto spec = distort::parse_distortion_spec(config::Node(doc));
    EXPECT_EQ(distort::label(spec), d.name + "@3");
  }
  EXPECT_EQ(with_severity, 19u);  // the 15 common + 4 extra ImageNet-C corruptions
  const auto doc = config::Document::from_json({{"name", "gausian_noise"}}, "spec");
  EXPECT_NE(error_of([&] {
              distort::parse_distortion_spec(config::Node(doc));
            }).find("did you mean 'gaussian_noise'?"),
            std::string::npos);
}

}  // namespace
}  // namespace isplitee::pipeline
