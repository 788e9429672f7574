#pragma once
/// \file Where `isplitee run` takes its outcomes from (`experiment.mode`): one entry per mode, each
/// a factory of the experiment's EnvironmentProvider, like policies in their registry.

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "isplitee/pipeline/experiment.hpp"
#include "isplitee/sim/environment.hpp"
#include "isplitee/trace/trace.hpp"

namespace isplitee::pipeline {

/// What the model and trace stages produced: the checkpoint and one trace per distortion.
struct TraceSet {
  std::filesystem::path checkpoint;
  std::vector<std::string> names;
  std::vector<std::shared_ptr<const trace::Trace>> traces;
};

/// Builds the provider of one experiment (the run's config, or one sweep point's).
using EnvironmentFactory = std::function<std::shared_ptr<const sim::EnvironmentProvider>(
    const ExperimentConfig& cfg, const TraceSet& traces)>;

/// One `experiment.mode`.
struct EnvironmentMode {
  std::string name;
  std::string description;
  EnvironmentFactory make;
};

/// Every mode, "replay" first (the default).
const std::vector<EnvironmentMode>& environment_modes();

/// The provider for cfg.experiment.mode; Error(kUsage) naming the valid modes when unknown.
std::shared_ptr<const sim::EnvironmentProvider> make_environment(const ExperimentConfig& cfg,
                                                                 const TraceSet& traces);

}  // namespace isplitee::pipeline
