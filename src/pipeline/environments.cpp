#include "isplitee/pipeline/environments.hpp"

#include "isplitee/common/error.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/cost/cost_model.hpp"

namespace isplitee::pipeline {

const std::vector<EnvironmentMode>& environment_modes() {
  static const std::vector<EnvironmentMode> kModes = {
      {"replay", "replay the cached confidence traces (no network runs during the policies)",
       [](const ExperimentConfig& cfg, const TraceSet& t) {
         return std::make_shared<const sim::TraceProvider>(t.traces, t.names,
                                                           cost::exit_rule_of(cfg.cost));
       }},
  };
  return kModes;
}


std::shared_ptr<const sim::EnvironmentProvider> make_environment(const ExperimentConfig& cfg,
                                                                 const TraceSet& traces) {
  for (const auto& m : environment_modes())
    if (m.name == cfg.experiment.mode) return m.make(cfg, traces);
  fail(ErrorCode::kUsage, cfg.source, ": experiment.mode: unknown mode '", cfg.experiment.mode,
       "' (valid: ", join(environment_mode_names(), ", "), ")");
}

}  // namespace isplitee::pipeline
