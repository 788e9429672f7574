#include "isplitee/pipeline/experiment.hpp"

#include <set>

#include "isplitee/common/error.hpp"
#include "isplitee/version.hpp"

namespace isplitee::pipeline {
namespace {

ExperimentSection parse_experiment_section(const config::Node& n) {
  ExperimentSection s;
  s.repeats = static_cast<std::size_t>(n.integer("repeats", 5, 1, 10000));
  s.threads = static_cast<std::size_t>(n.integer("threads", 0, 0, 1024));
  s.record_steps = n.boolean("record_steps", false);
  s.curve_points = static_cast<std::size_t>(n.integer("curve_points", 100, 2, 100000));
  s.plots = n.boolean("plots", true);
  s.mode = n.choice("mode", "replay", environment_mode_names());
  n.finish();
  return s;
}

nlohmann::json to_json(const ExperimentSection& s) {
  return {
      {"repeats", s.repeats},           {"threads", s.threads}, {"record_steps", s.record_steps},
      {"curve_points", s.curve_points}, {"plots", s.plots},     {"mode", s.mode}};
}

}  // namespace

ExperimentConfig parse_experiment(const config::Document& doc) {
  config::Node root(doc);
  ExperimentConfig c;
  c.source = doc.source();
  c.name = root.string("name", "experiment");
  ISPLITEE_CHECK(!c.name.empty() && c.name.find('/') == std::string::npos, doc.source(),
                 ": name: must be a non-empty name without '/'");
  c.seed = static_cast<std::uint64_t>(root.integer("seed", 0, 0, (std::int64_t{1} << 53)));
  c.output_dir = root.string("output_dir", "runs/" + c.name);
  c.cache_dir = root.string("cache_dir", "cache");
  c.device = root.choice("device", "cpu", {"cpu", "cuda"});
  c.checkpoint = root.string("checkpoint", "");
  c.data = data::parse_dataset_config(root.object("data"));
  c.model = model::parse_model_config(root.object("model"));
  c.train = train::parse_train_config(root.object("train"));
  c.trace = tracegen::parse_trace_config(root.object("trace"));
  c.cost = cost::parse_cost_config(root.object("cost"));
  if (root.has("policies")) {
    std::set<std::string> labels;
    for (const auto& n : root.objects("policies")) {
      auto spec = policy::parse_policy_spec(n);
      if (!labels.insert(spec.label).second)
        n.fail("label",
               "two policies share the label '" + spec.label + "'; give one a distinct \"label\"");
      c.policies.push_back(std::move(spec));
    }
    if (c.policies.empty()) root.fail("policies", "the list is empty; name at least one policy");
  } else {
    c.policies = policy::default_policy_specs();
  }
  c.streams = stream::parse_streams_config(root.object("streams"));
  c.experiment = parse_experiment_section(root.object("experiment"));
  root.string("isplitee_version", "");  // written into config.resolved.json; informative only
  root.string("git_hash", "");
  root.finish();
  // Every schedule must name a planned trace: fail now, before any training or tracing.
  stream::resolve_streams(c.streams, tracegen::planned_trace_names(c.trace));
  return c;
}

ExperimentConfig load_experiment(const std::filesystem::path& path,
                                 const std::vector<std::string>& overrides) {
  auto doc = config::Document::load(path);
  doc.apply_overrides(overrides);
  return parse_experiment(doc);
}

nlohmann::json resolved_json(const ExperimentConfig& c) {
  nlohmann::json policies = nlohmann::json::array();
  for (const auto& p : c.policies) policies.push_back(policy::to_json(p));
  return {{"name", c.name},
          {"seed", c.seed},
          {"output_dir", c.output_dir.string()},
          {"cache_dir", c.cache_dir.string()},
          {"device", c.device},
          {"checkpoint", c.checkpoint.string()},
          {"data", data::to_json(c.data)},
          {"model", model::to_json(c.model)},
          {"train", train::to_json(c.train)},
          {"trace", tracegen::to_json(c.trace)},
          {"cost", cost::to_json(c.cost)},
          {"policies", policies},
          {"streams", stream::to_json(c.streams)},
          {"experiment", to_json(c.experiment)},
          {"isplitee_version", kVersion},
          {"git_hash", kGitHash}};
}

train::TrainJob make_train_job(const ExperimentConfig& c) {
  train::TrainJob job;
  // Models are cached per dataset and architecture (plus the config hash), not per experiment name,
  // so experiments that differ only in cost, policies or streams share one trained network.
  job.name = c.data.name + "-" + c.model.arch;
  job.data = c.data;
  job.model = c.model;
  job.train = c.train;
  job.seed = c.seed;
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
  req.seed = c.seed;
  req.trace_dir = c.cache_dir / "traces";
  req.device = c.device;
  return req;
}

}  // namespace isplitee::pipeline
