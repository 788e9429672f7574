#include "isplitee/pipeline/run.hpp"

#include <chrono>
#include <ctime>
#include <iomanip>
#include <memory>
#include <sstream>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/common/progress.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/data/dataset.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/pipeline/environments.hpp"
#include "isplitee/sim/experiment.hpp"
#include "isplitee/trace/trace.hpp"
#include "isplitee/tracegen/generate.hpp"
#include "isplitee/train/trainer.hpp"
#include "isplitee/version.hpp"

namespace isplitee::pipeline {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string utc_stamp(const char* format) {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::ostringstream os;
  os << std::put_time(&tm, format);
  return os.str();
}

// Every combination of the axes' values (first axis slowest).
std::vector<std::vector<std::pair<std::string, nlohmann::json>>> grid(
    const std::vector<SweepAxis>& axes) {
  std::vector<std::vector<std::pair<std::string, nlohmann::json>>> points{{}};
  for (const auto& axis : axes) {
    std::vector<std::vector<std::pair<std::string, nlohmann::json>>> next;
    for (const auto& p : points)
      for (const auto& v : axis.values) {
        auto q = p;
        q.emplace_back(axis.key, v);
        next.push_back(std::move(q));
      }
    points = std::move(next);
  }
  return points;
}

config::Document with_assignment(const config::Document& doc,
                                 const std::vector<std::pair<std::string, nlohmann::json>>& a) {
  config::Document d = doc;
  for (const auto& [k, v] : a)
    d.apply_override(k + "=" + v.dump(), "--sweep " + k + "=" + v.dump());
  return d;
}

sim::ExperimentSpec make_spec(const ExperimentConfig& c, const TraceSet& traces) {
  sim::ExperimentSpec spec;
  spec.environment = make_environment(c, traces);
  spec.streams = c.streams;
  spec.policies = c.policies;
  spec.cost = c.cost;
  spec.repeats = c.experiment.repeats;
  spec.seed = c.seed;
  spec.threads = c.experiment.threads;
  spec.record_steps = c.experiment.record_steps;
  spec.curve_points = c.experiment.curve_points;
  if (c.experiment.mode == "live") spec.decision_batch = c.live.batch;  // the edge's batch
  return spec;
}

/// The run's checks, done before any training or tracing: config, sweep grid, schedules, dataset
/// readability, run directory.
struct Checked {
  ExperimentConfig cfg;
  std::vector<SweepAxis> axes;
  std::vector<std::vector<std::pair<std::string, nlohmann::json>>> points;
  std::vector<ExperimentConfig> point_cfgs;
  fs::path run_dir;
};

Checked check_everything(const config::Document& doc, const RunOptions& options) {
  Checked c{parse_experiment(doc), {}, {}, {}, {}};
  model::check_device(c.cfg.device);
  for (const auto& s : options.sweeps) c.axes.push_back(parse_sweep(s));
  if (!c.axes.empty()) c.points = grid(c.axes);
  for (const auto& p : c.points) c.point_cfgs.push_back(parse_experiment(with_assignment(doc, p)));
  c.run_dir = run_directory(doc, c.cfg, options);
  const auto& cfg = c.cfg;
  if (cfg.checkpoint.empty() || !cfg.trace.distortions.empty()) {
    auto ds = data::open_split(cfg.data, cfg.trace.split);  // an unreadable dataset fails here
    ISPLITEE_CHECK_CODE(ds->size() > 0, ErrorCode::kData, cfg.source, ": data: split '",
                        cfg.trace.split, "' of ", cfg.data.name, " is empty");
  }
  prepare_output_dir(c.run_dir, options.force);
  return c;
}

/// Stages 2–3: every trace (reused or computed), read back, with its report summary.
TraceSet load_traces(const ExperimentConfig& cfg, const fs::path& checkpoint, bool retrace,
                     report::RunReport& rep, nlohmann::json& timings) {
  auto log = logger();
  auto t0 = Clock::now();
  auto request = make_trace_request(cfg, checkpoint);
  request.force = retrace;
  const auto artifacts = tracegen::ensure_traces(request);
  timings["traces"] = seconds_since(t0);
  std::size_t reused = 0;
  for (const auto& a : artifacts) reused += a.reused ? 1 : 0;
  log->info("[2/4] traces: {} ({} reused, {} computed, {:.1f} s)", artifacts.size(), reused,
            artifacts.size() - reused, timings["traces"].get<double>());

  t0 = Clock::now();
  TraceSet set;
  set.checkpoint = checkpoint;
  for (const auto& a : artifacts) {
    auto t = std::make_shared<trace::Trace>(trace::read_trace(a.directory));
    auto summary = report::summarize_trace(*t, a.name);
    summary.directory = a.directory.string();
    summary.reused = a.reused;
    rep.traces.push_back(std::move(summary));
    set.names.push_back(a.name);
    set.traces.push_back(std::move(t));
  }
  const auto defs = stream::resolve_streams(cfg.streams, set.names);
  timings["streams"] = seconds_since(t0);
  log->info("[3/4] streams: {} ({} repeats each)", defs.size(), cfg.experiment.repeats);
  return set;
}

/// Stage 4: the configured experiment and every sweep point, under one progress bar.
void run_policies(const Checked& c, const TraceSet& traces, report::RunReport& rep) {
  const std::size_t streams = stream::resolve_streams(c.cfg.streams, traces.names).size();
  std::size_t total = streams * c.cfg.policies.size() * c.cfg.experiment.repeats;
  for (const auto& pc : c.point_cfgs) total += streams * pc.policies.size() * pc.experiment.repeats;
  Progress bar("[4/4] policies", total, "run");
  auto progress = [&](std::size_t, std::size_t) { bar.tick(1); };
  rep.result = sim::run_experiment(make_spec(c.cfg, traces), progress);
  for (std::size_t i = 0; i < c.points.size(); ++i) {
    report::SweepPoint sp;
    sp.assignment = c.points[i];
    sp.result = sim::run_experiment(make_spec(c.point_cfgs[i], traces), progress);
    rep.sweep.push_back(std::move(sp));
  }
  bar.finish();
  for (const auto& a : c.axes) rep.sweep_keys.push_back(a.key);
}

/// report.json's "meta": version, model profile from the first trace's manifest, runtime.
nlohmann::json run_meta(const ExperimentConfig& cfg, const TraceSet& traces) {
  const auto& m = traces.traces.front()->manifest;
  std::ostringstream summary;
  summary << m.arch << ", " << m.exits.size() << " exits at blocks";
  for (const auto& e : m.exits) summary << ' ' << e.depth_blocks;
  summary << ", " << format_number(m.exits.back().macs_millions) << " MMAC to the final exit";
  nlohmann::json exits = nlohmann::json::array();
  for (const auto& e : m.exits)
    exits.push_back({{"depth_blocks", e.depth_blocks},
                     {"macs_millions", e.macs_millions},
                     {"activation_bytes", e.activation_bytes},
                     {"activation_shape", e.activation_shape}});
  return {{"isplitee_version", kVersion},
          {"git_hash", kGitHash},
          {"written_at", utc_stamp("%Y-%m-%dT%H:%M:%SZ")},
          {"config_source", cfg.source},
          {"checkpoint", traces.checkpoint.string()},
          {"checkpoint_sha256", m.checkpoint_sha256},
          {"torch_threads", model::torch_threads()},
          {"blas", model::blas_description()},
          {"model", {{"arch", m.arch}, {"summary", summary.str()}, {"exits", exits}}}};
}
}  // namespace

SweepAxis parse_sweep(const std::string& text) {
  const auto eq = text.find('=');
  ISPLITEE_CHECK(eq != std::string::npos && eq > 0 && eq + 1 < text.size(), "--sweep ", text,
                 ": expected KEY=V1,V2,… (e.g. cost.offload=0.1,0.3,0.5)");
  SweepAxis axis;
  axis.key = text.substr(0, eq);
  bool allowed = false;
  for (const char* prefix : {"cost.", "policies.", "streams.", "experiment."})
    allowed = allowed || axis.key.rfind(prefix, 0) == 0;
  ISPLITEE_CHECK(
      allowed, "--sweep ", text, ": key '", axis.key,
      "' cannot be swept (valid: keys under cost., policies., streams., experiment.; the "
      "model and traces are fixed within one run)");
  for (const auto& v : split(text.substr(eq + 1), ',')) {
    ISPLITEE_CHECK(!v.empty(), "--sweep ", text, ": empty value in the list");
    try {
      axis.values.push_back(nlohmann::json::parse(v));
    } catch (const nlohmann::json::parse_error&) {
      axis.values.emplace_back(v);
    }
  }
  return axis;
}

fs::path run_directory(const config::Document& doc, const ExperimentConfig& c,
                       const RunOptions& o) {
  if (!o.output_dir.empty()) return o.output_dir;
  if (doc.json().contains("output_dir")) return c.output_dir;
  return fs::path("runs") / (c.name + "-" + utc_stamp("%Y%m%d-%H%M%S"));
}

RunOutcome run(const config::Document& doc, const RunOptions& options) {
  const auto t_start = Clock::now();
  auto log = logger();
  const Checked checked = check_everything(doc, options);
  const ExperimentConfig& cfg = checked.cfg;
  log->info("run directory: {}", checked.run_dir.string());
  write_text_atomic(checked.run_dir / "config.resolved.json", resolved_json(cfg).dump(2) + "\n");

  nlohmann::json timings = nlohmann::json::object();
  auto t0 = Clock::now();
  const fs::path checkpoint = train::ensure_model(make_train_job(cfg));
  timings["model"] = seconds_since(t0);
  log->info("[1/4] model: {} ({:.1f} s)", checkpoint.string(), timings["model"].get<double>());

  report::RunReport rep;
  const TraceSet traces = load_traces(cfg, checkpoint, options.retrace, rep, timings);
  t0 = Clock::now();
  run_policies(checked, traces, rep);
  timings["policies"] = seconds_since(t0);

  rep.config = resolved_json(cfg);
  rep.meta = run_meta(cfg, traces);
  timings["total"] = seconds_since(t_start);
  rep.meta["timings"] = timings;
  RunOutcome out;
  out.run_dir = checked.run_dir;
  if (cfg.experiment.record_steps) {
    report::write_steps_csv(out.run_dir / "steps.csv", rep.result);
    out.files.push_back("steps.csv");
  }
  auto files = report::write_report_files(out.run_dir, rep, cfg.experiment.plots);
  out.files.insert(out.files.begin(), "config.resolved.json");
  out.files.insert(out.files.end(), files.begin(), files.end());
  out.report = std::move(rep);
  return out;
}

}  // namespace isplitee::pipeline
