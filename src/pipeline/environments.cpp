#include "isplitee/pipeline/environments.hpp"

#include "isplitee/common/error.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/cost/cost_model.hpp"
#include "isplitee/distort/spec.hpp"
#include "isplitee/live/live.hpp"

namespace isplitee::pipeline {
namespace {

/// The live provider's inputs: the run's data and distortions, and from its traces (same model,
/// same samples) the exit depths, calibration temperatures and per-exit accuracies.
live::LiveSetup live_setup(const ExperimentConfig& cfg, const TraceSet& t) {
  live::LiveSetup s;
  s.checkpoint = t.checkpoint;
  s.fold_batchnorm = cfg.trace.fold_batchnorm;
  s.data = cfg.data;
  s.split = cfg.trace.split;
  s.max_samples = cfg.trace.max_samples;
  s.seed = cfg.seed;
  s.live = cfg.live;
  ISPLITEE_CHECK(t.names.size() == cfg.trace.distortions.size(), "live: ", t.names.size(),
                 " traces for ", cfg.trace.distortions.size(), " distortions");
  for (std::size_t i = 0; i < t.names.size(); ++i) {
    ISPLITEE_CHECK(t.names[i] == distort::label(cfg.trace.distortions[i]), "live: trace '",
                   t.names[i], "' does not match distortion '",
                   distort::label(cfg.trace.distortions[i]), "'");
    s.sources.push_back({t.names[i], cfg.trace.distortions[i]});
    s.exit_accuracy.push_back(trace::exit_accuracy(*t.traces[i]));
  }
  if (!t.traces.empty()) {
    s.calibration = t.traces.front()->manifest.calibration;
    s.exits = t.traces.front()->manifest.exits;
  }
  return s;
}

}  // namespace

const std::vector<EnvironmentMode>& environment_modes() {
  static const std::vector<EnvironmentMode> kModes = {
      {"replay", "replay the cached confidence traces (no network runs during the policies)",
       [](const ExperimentConfig& cfg, const TraceSet& t) {
         return std::make_shared<const sim::TraceProvider>(t.traces, t.names,
                                                           cost::exit_rule_of(cfg.cost));
       }},
      {"live",
       "run the network on the edge image by image, offloading to a cloud through the live "
       "protocol (the `live` section)",
       [](const ExperimentConfig& cfg, const TraceSet& t) {
         return std::make_shared<const live::LiveProvider>(live_setup(cfg, t));
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
