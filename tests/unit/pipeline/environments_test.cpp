#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "isplitee/pipeline/environments.hpp"
#include "isplitee/pipeline/experiment_config.hpp"

using namespace isplitee;

// The config parser (isplitee::core) validates experiment.mode against a list of names; the
// factories live here (isplitee::vision). Both must name the same modes, in the same order.
TEST(EnvironmentModes, ParserNamesEqualFactories) {
  std::vector<std::string> factories;
  for (const auto& m : pipeline::environment_modes()) {
    factories.push_back(m.name);
    EXPECT_FALSE(m.description.empty()) << m.name;
    EXPECT_TRUE(static_cast<bool>(m.make)) << m.name;
  }
  EXPECT_EQ(factories, pipeline::environment_mode_names());
  EXPECT_EQ(factories.front(), "replay");
}

TEST(EnvironmentModes, UnknownModeIsAConfigError) {
  const auto doc = config::Document::parse(R"({"experiment": {"mode": "replai"}})", "x.json");
  try {
    pipeline::parse_experiment(doc);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("experiment.mode"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("replay"), std::string::npos) << e.what();
  }
}
