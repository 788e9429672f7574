#include "isplitee/pipeline/experiment_config.hpp"

#include <algorithm>
#include <set>

#include "isplitee/common/error.hpp"
#include "isplitee/transport/link.hpp"
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
  if (n.has("seed"))
    s.seed = static_cast<std::uint64_t>(n.integer("seed", 0, 0, std::int64_t{1} << 53));
  n.finish();
  return s;
}

nlohmann::json to_json(const ExperimentSection& s) {
  nlohmann::json j = {
      {"repeats", s.repeats},           {"threads", s.threads}, {"record_steps", s.record_steps},
      {"curve_points", s.curve_points}, {"plots", s.plots},     {"mode", s.mode}};
  if (s.seed) j["seed"] = *s.seed;
  return j;
}

/// A live run has no stored trace: no oracle side information, no oracle policies (their
/// hindsight needs every exit's score of every sample).
void check_live(const config::Node& root, ExperimentConfig& c) {
  // The link trace and the token are read now, so a bad file stops the run before any work.
  if (c.live.network != "none") (void)transport::load_link_trace(c.live.network);
  if (c.live.cloud != "embedded") (void)transport::read_token(c.live.token_file, "live.token_file");
  if (c.cost.side_info == cost::SideInfo::kOracle)
    root.object("cost").fail(
        "side_info",
        "\"oracle\" needs the stored final score of every sample, which a live "
        "run does not have (experiment.mode is \"live\"); use \"strict\" or "
        "\"proxy\"");
  if (!root.has("policies")) {  // the default list without the oracles
    std::vector<policy::PolicySpec> kept;
    for (auto& p : c.policies)
      if (policy::builtin_policies().at(p.name).role != policy::Role::kOracle)
        kept.push_back(std::move(p));
    c.policies = std::move(kept);
    return;
  }
  for (const auto& p : c.policies)
    if (policy::builtin_policies().at(p.name).role == policy::Role::kOracle)
      root.fail("policies",
                "policy '" + p.label +
                    "' is an oracle (it needs hindsight from a stored trace) and cannot "
                    "run live (experiment.mode is \"live\"); remove it or use replay");
}

}  // namespace

std::uint64_t train_seed(const ExperimentConfig& c) { return c.train.seed.value_or(c.seed); }

std::uint64_t experiment_seed(const ExperimentConfig& c) {
  return c.experiment.seed.value_or(c.seed);
}

const std::vector<std::string>& environment_mode_names() {
  static const std::vector<std::string> kModes = {"replay", "live"};
  return kModes;
}

ExperimentConfig parse_experiment(const config::Document& doc) {
  config::Node root(doc);
  ExperimentConfig c;
  c.source = doc.source();
  c.name = root.string("name", "experiment");
  if (c.name.empty() || c.name.find('/') != std::string::npos)
    root.fail("name", "must be a non-empty name without '/'");
  c.description = root.string("description", "");
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
  // One top-level seed keeps older configs' numbers; the two sections can be reseeded apart.
  if (!c.train.seed) c.train.seed = c.seed;
  if (!c.experiment.seed) c.experiment.seed = c.seed;
  c.live = live::parse_live_config(root.object("live"));
  if (c.experiment.mode == "live") check_live(root, c);
  if (c.cost.mode == cost::CostMode::kMeasured && c.experiment.mode != "live")
    root.object("cost").fail("mode",
                             "\"measured\" charges what a live run measures: set "
                             "experiment.mode to \"live\" or use \"paper\"");
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
          {"description", c.description},
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
          {"live", live::to_json(c.live)},
          {"isplitee_version", kVersion},
          {"git_hash", kGitHash}};
}

std::vector<ConfigSummary> find_configs(const std::filesystem::path& dir) {
  std::vector<ConfigSummary> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return out;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
    if (entry.is_regular_file(ec) && entry.path().extension() == ".json")
      out.push_back({entry.path(), entry.path().stem().string(), "", ""});
  std::sort(out.begin(), out.end(),
            [](const ConfigSummary& a, const ConfigSummary& b) { return a.file < b.file; });
  for (auto& s : out) {
    try {
      const auto c = load_experiment(s.file);
      s.name = c.name;
      s.description = c.description;
    } catch (const Error& e) {
      s.problem = e.what();
    }
  }
  return out;
}

}  // namespace isplitee::pipeline
