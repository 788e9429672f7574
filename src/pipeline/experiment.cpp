#include "isplitee/pipeline/experiment.hpp"

namespace isplitee::pipeline {

train::TrainJob make_train_job(const ExperimentConfig& c) {
  train::TrainJob job;
  // Models are cached per dataset and architecture (plus the config hash), not per experiment name,
  // so experiments that differ only in cost, policies or streams share one trained network.
  job.name = c.data.name + "-" + c.model.arch;
  job.data = c.data;
  job.model = c.model;
  job.train = c.train;
  job.seed = train_seed(c);
  job.device = c.device;
  job.cache_dir = c.cache_dir;
  job.checkpoint = c.checkpoint;
  return job;
}

tracegen::TraceRequest make_trace_request(const ExperimentConfig& c,
                                          const std::filesystem::path& checkpoint) {
  tracegen::TraceRequest req;
  req.checkpoint = checkpoint;
  req.data = c.data;
  req.trace = c.trace;
  req.seed = train_seed(c);  // traces belong to the model: experiment.seed never retraces
  req.trace_dir = c.cache_dir / "traces";
  req.device = c.device;
  return req;
}

}  // namespace isplitee::pipeline
