#pragma once
/// \file What an experiment config asks of the vision side: its training job and its trace
/// request. The config itself (every section, parsing, resolving) is experiment_config.hpp.

#include <filesystem>

#include "isplitee/pipeline/experiment_config.hpp"
#include "isplitee/tracegen/generate.hpp"
#include "isplitee/train/trainer.hpp"

namespace isplitee::pipeline {

/// The training job of this experiment (models cached under <cache_dir>/models/).
train::TrainJob make_train_job(const ExperimentConfig& c);

/// The trace request of this experiment for `checkpoint` (traces cached under <cache_dir>/traces/).
tracegen::TraceRequest make_trace_request(const ExperimentConfig& c,
                                          const std::filesystem::path& checkpoint);

}  // namespace isplitee::pipeline
