// Fuzz target `config`: an experiment config file plus `--set` overrides, as `isplitee run`,
// `train`, `trace` and `profile` read them. Lines of the input that start with "--set " are the
// overrides (applied in order, to an empty config when the rest is not valid JSON); the other
// lines are the JSON (comments allowed, as in config files). Invariant: the resolved config of an
// accepted one (config.resolved.json) parses back to the same resolved config.

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/pipeline/experiment_config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string json;
  std::vector<std::string> sets;
  std::istringstream lines(input);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("--set ", 0) == 0)
      sets.push_back(line.substr(6));
    else
      json += line + "\n";
  }
  config::Document doc = config::Document::parse("{}", "empty");
  fuzz::accepts([&] { doc = config::Document::parse(json, "fuzz.json"); });
  for (const auto& s : sets) fuzz::accepts([&] { doc.apply_override(s); });
  pipeline::ExperimentConfig cfg;
  if (!fuzz::accepts([&] { cfg = pipeline::parse_experiment(doc); })) return 0;
  const auto resolved = pipeline::resolved_json(cfg);
  fuzz::accepts([&] {
    const auto again =
        pipeline::parse_experiment(config::Document::from_json(resolved, "config.resolved.json"));
    ISPLITEE_FUZZ_CHECK_MSG(pipeline::resolved_json(again) == resolved, resolved.dump());
  });
  return 0;
}
