#include "isplitee/pipeline/run.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>
#include <iomanip>
#include <memory>
#include <optional>
#include <sstream>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/common/progress.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/common/work_group.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/data/dataset.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/pipeline/environments.hpp"
#include "isplitee/pipeline/plan.hpp"
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

sim::ExperimentSpec make_spec(const ExperimentConfig& c, const TraceSet& traces) {
  sim::ExperimentSpec spec;
  spec.environment = make_environment(c, traces);
  spec.streams = c.streams;
  spec.policies = c.policies;
  spec.cost = c.cost;
  spec.repeats = c.experiment.repeats;
  spec.seed = experiment_seed(c);
  spec.threads = c.experiment.threads;
  spec.record_steps = c.experiment.record_steps;
  spec.curve_points = c.experiment.curve_points;
  if (c.experiment.mode == "live") spec.decision_batch = c.live.batch;  // the edge's batch
  return spec;
}

/// Stages 2–3: every trace (reused or computed), read back, with its report summary.
TraceSet load_traces(const ExperimentConfig& cfg, const fs::path& checkpoint, bool retrace,
                     report::RunReport& rep, nlohmann::json& timings, WorkGroup& group) {
  auto log = logger();
  auto t0 = Clock::now();
  auto request = make_trace_request(cfg, checkpoint);
  request.force = retrace;
  const auto artifacts = tracegen::ensure_traces(request, group);  // one process: as before
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

fs::path point_file(const fs::path& run_dir, std::size_t i) {
  return run_dir / "partial" / ("point-" + std::to_string(i) + ".json");
}

/// Puts the result of replay point `i` in the report: the configured experiment, or a sweep point.
void store_point(const RunPlan& plan, std::size_t i, sim::ExperimentResult result,
                 report::RunReport& rep) {
  if (i == 0) {
    rep.result = std::move(result);
    return;
  }
  report::SweepPoint sp;
  sp.assignment = plan.points[i].assignment;
  sp.result = std::move(result);
  rep.sweep.push_back(std::move(sp));
}

/// Stage 4: every replay cell of the plan (the configured experiment, then each sweep point),
/// under one progress bar. Each finished point is saved in partial/; with `resume` a saved point
/// is read back instead of replayed (except the base point when steps.csv needs its steps).
void run_policies(const RunPlan& plan, const TraceSet& traces, const RunOptions& options,
                  report::RunReport& rep) {
  Progress bar("[4/4] policies", plan.cells.size(), "run");
  auto progress = [&](std::size_t, std::size_t) { bar.tick(1); };
  std::vector<std::size_t> cells_of(plan.points.size(), 0);
  for (const auto& c : plan.cells) ++cells_of[c.point];
  std::size_t reused = 0;
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const fs::path saved = point_file(plan.run_dir, i);
    const auto& cfg = plan.points[i].cfg;
    sim::ExperimentResult result;
    if (options.resume && fs::exists(saved) && !(i == 0 && cfg.experiment.record_steps)) {
      result = report::experiment_result_from_json(nlohmann::json::parse(read_text_file(saved)),
                                                   saved.string());
      bar.tick(cells_of[i]);
      ++reused;
    } else {
      result = sim::run_experiment(make_spec(cfg, traces), progress);
      write_text_atomic(saved, report::to_json(result).dump() + "\n");
    }
    store_point(plan, i, std::move(result), rep);
    if (options.stop_after_points > 0 && i + 1 == options.stop_after_points &&
        i + 1 < plan.points.size())
      fail(ErrorCode::kInternal, "stopped after ", i + 1, " of ", plan.points.size(),
           " replay points (testing hook); continue with --resume");
  }
  bar.finish();
  if (reused > 0)
    logger()->info("resume: {} of {} replay points read back from {}", reused, plan.points.size(),
                   (plan.run_dir / "partial").string());
  rep.sweep_keys = plan.sweep_keys;
}

/// A replay work item of a spread run: one policy on one stream of one sweep point (all its
/// repeats: a cell's statistics are over them), or a whole point (point 0 when steps.csv needs its
/// steps, which stay on rank 0; live runs).
struct ReplayItem {
  std::size_t point = 0;
  std::optional<std::size_t> stream;  ///< none: every cell of the point
  std::size_t policy = 0;             ///< index into the point's policies (with a stream)
  std::size_t runs = 0;               ///< policy runs in it (for the progress bar)
  std::string name;                   ///< names the item in errors
};

std::vector<ReplayItem> replay_items(const RunPlan& plan, const TraceSet& traces) {
  std::vector<ReplayItem> items;
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    const auto& cfg = plan.points[i].cfg;
    const auto defs = stream::resolve_streams(cfg.streams, traces.names);
    const std::size_t repeats = cfg.experiment.repeats;
    std::string point = "replay point " + std::to_string(i);
    for (const auto& [k, v] : plan.points[i].assignment) point += " " + k + "=" + v.dump();
    if ((i == 0 && cfg.experiment.record_steps) || cfg.experiment.mode == "live") {
      items.push_back({i, std::nullopt, 0, repeats * cfg.policies.size() * defs.size(), point});
      continue;
    }
    for (std::size_t s = 0; s < defs.size(); ++s)
      for (std::size_t q = 0; q < cfg.policies.size(); ++q)
        items.push_back({i, s, q, repeats,
                         point + " stream " + defs[s].name + " policy " + cfg.policies[q].label});
  }
  return items;
}

fs::path item_file(const fs::path& run_dir, const ReplayItem& item) {
  if (!item.stream) return point_file(run_dir, item.point);
  return run_dir / "partial" /
         ("point-" + std::to_string(item.point) + "-stream-" + std::to_string(*item.stream) +
          "-policy-" + std::to_string(item.policy) + ".json");
}

/// Stage 4 over the ranks of `group`: the work items are the (stream, policy) cells of every sweep
/// point (items go round-robin, item 0 to rank 0, which keeps point 0's steps when steps.csv needs
/// them); results come back to rank 0 as JSON (report::to_json, which reads back exactly) and are
/// merged per point in cell order (sim::merge_partial_results), so the report equals one
/// process's.
/// Each finished item is saved in partial/ by the rank that ran it; `resume` reads it back.
void run_policies_spread(const RunPlan& plan, const TraceSet& traces, const RunOptions& options,
                         report::RunReport& rep, WorkGroup& group) {
  const auto items = replay_items(plan, traces);
  std::vector<std::string> names;
  std::size_t own_runs = 0;
  for (std::size_t k = 0; k < items.size(); ++k) {
    names.push_back(items[k].name);
    if (k % group.size() == group.rank()) own_runs += items[k].runs;
  }
  Progress bar("[4/4] policies (rank 0's share)", own_runs, "run", group.rank() == 0);
  auto progress = [&](std::size_t, std::size_t) { bar.tick(1); };
  std::optional<sim::ExperimentResult> first;  // item 0 when it is point 0 with its steps
  const auto results = group.run_items(names, [&](std::size_t k) {
    const auto& item = items[k];
    const auto& cfg = plan.points[item.point].cfg;
    const fs::path saved = item_file(plan.run_dir, item);
    const bool need_steps = !item.stream && item.point == 0 && cfg.experiment.record_steps;
    if (options.resume && fs::exists(saved) && !need_steps) return read_text_file(saved);
    auto spec = make_spec(cfg, traces);
    if (item.stream) {
      spec.stream_subset = {*item.stream};
      spec.policies = {cfg.policies[item.policy]};
    }
    auto result = sim::run_experiment(spec, progress);
    std::string text = report::to_json(result).dump();
    write_text_atomic(saved, text + "\n");
    if (need_steps) first = std::move(result);
    return text;
  });
  bar.finish();
  if (group.rank() != 0) return;
  std::vector<std::vector<sim::ExperimentResult>> parts(plan.points.size());
  for (std::size_t k = 0; k < items.size(); ++k)
    parts[items[k].point].push_back(
        k == 0 && first
            ? std::move(*first)
            : report::experiment_result_from_json(nlohmann::json::parse(results[k]), names[k]));
  for (std::size_t i = 0; i < plan.points.size(); ++i) {
    store_point(plan, i, sim::merge_partial_results(std::move(parts[i])), rep);
  }
  rep.sweep_keys = plan.sweep_keys;
}

// The first key path where two resolved configs differ ("" when equal).
std::string first_difference(const nlohmann::json& a, const nlohmann::json& b,
                             const std::string& path) {
  // A number read back from a file may be signed where the config's is unsigned: compare values.
  if (a.is_number() && b.is_number()) return a == b ? "" : path;
  if (a.type() != b.type()) return path.empty() ? "(root)" : path;
  if (a.is_object()) {
    for (const auto& [k, v] : a.items()) {
      const std::string p = path.empty() ? k : path + "." + k;
      if (!b.contains(k)) return p;
      const auto d = first_difference(v, b.at(k), p);
      if (!d.empty()) return d;
    }
    for (const auto& [k, v] : b.items())
      if (!a.contains(k)) return path.empty() ? k : path + "." + k;
    return "";
  }
  if (a.is_array()) {
    if (a.size() != b.size()) return path;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const auto d = first_difference(a[i], b[i], path + "." + std::to_string(i));
      if (!d.empty()) return d;
    }
    return "";
  }
  return a == b ? "" : path;
}

// The value at a dotted key path, as JSON text ("(absent)" when there is none).
std::string value_at(const nlohmann::json& j, const std::string& dotted) {
  std::string p = "/" + dotted;
  std::replace(p.begin(), p.end(), '.', '/');
  try {
    return j.at(nlohmann::json::json_pointer(p)).dump();
  } catch (const nlohmann::json::exception&) {
    return "(absent)";
  }
}

/// A resume continues the same run: the directory holds a run of this very config and sweep.
void check_resume(const fs::path& run_dir, const nlohmann::json& resolved,
                  const std::vector<std::string>& sweeps) {
  const fs::path old_file = run_dir / "config.resolved.json";
  ISPLITEE_CHECK_CODE(fs::exists(old_file), ErrorCode::kUsage, "--resume: ", run_dir.string(),
                      " holds no run to continue (no config.resolved.json); run without --resume");
  auto old = nlohmann::json::parse(read_text_file(old_file), nullptr, false);
  ISPLITEE_CHECK_CODE(old.is_object(), ErrorCode::kData, old_file.string(), ": not valid JSON");
  auto now = resolved;
  for (auto* j : {&old, &now}) j->erase("isplitee_version"), j->erase("git_hash");
  const auto diff = first_difference(old, now, "");
  ISPLITEE_CHECK_CODE(diff.empty(), ErrorCode::kUsage, "--resume: ", run_dir.string(),
                      " was run with another config (", diff, " is ", value_at(old, diff),
                      " there, ", value_at(now, diff), " now); resuming would mix two configs");
  const fs::path state = run_dir / "run_state.json";
  const auto saved = fs::exists(state)
                         ? nlohmann::json::parse(read_text_file(state), nullptr, false)
                         : nlohmann::json();
  const nlohmann::json want = sweeps;
  ISPLITEE_CHECK_CODE(saved.is_object() && saved.value("sweeps", nlohmann::json()) == want,
                      ErrorCode::kUsage, "--resume: ", run_dir.string(), " was run with --sweep ",
                      saved.is_object() ? saved.value("sweeps", nlohmann::json()).dump() : "?",
                      ", not ", want.dump(), "; resuming would mix two sweeps");
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
    } catch (const nlohmann::json::exception&) {  // also a number beyond double's range
      axis.values.emplace_back(v);
    }
  }
  return axis;
}

std::vector<SweepAssignment> sweep_grid(const std::vector<SweepAxis>& axes) {
  if (axes.empty()) return {};
  std::vector<SweepAssignment> points{{}};
  for (const auto& axis : axes) {
    std::vector<SweepAssignment> next;
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

config::Document with_sweep_assignment(const config::Document& doc, const SweepAssignment& a) {
  config::Document d = doc;
  for (const auto& [k, v] : a)
    d.apply_override(k + "=" + v.dump(), "--sweep " + k + "=" + v.dump());
  return d;
}

fs::path run_directory(const config::Document& doc, const ExperimentConfig& c,
                       const RunOptions& o) {
  if (!o.output_dir.empty()) return o.output_dir;
  if (doc.json().contains("output_dir")) return c.output_dir;
  return fs::path("runs") / (c.name + "-" + utc_stamp("%Y%m%d-%H%M%S"));
}

/// Says before the model stage what it will cost, so a user can stop a long training in time.
void log_plan(const RunPlan& plan) {
  auto log = logger();
  std::size_t to_compute = 0;
  double trace_s = 0;
  for (const auto& t : plan.traces) {
    to_compute += t.state == JobState::kCached ? 0 : 1;
    trace_s += t.eta.seconds;
  }
  log->info("plan: model {}, traces {} cached / {} to compute, {} replay cells; ETA {}",
            to_string(plan.model.state), plan.traces.size() - to_compute, to_compute,
            plan.cells.size(), format_duration(plan.eta_seconds()));
  const auto& m = plan.model;
  if (m.state == JobState::kCompute || m.state == JobState::kResume)
    log->warn("the model is not cached: {} {} epochs first, ETA {} ({}); Ctrl-C now to stop",
              m.state == JobState::kResume ? "resuming" : "training", m.epochs,
              format_duration(m.eta.seconds), m.eta.source);
  if (to_compute > 0)
    log->info("{} traces to compute, ETA {}", to_compute, format_duration(trace_s));
  if (plan.cfg.experiment.repeats < 3)
    log->warn("experiment.repeats = {}: too few for 95% intervals; tables show \"—\" instead",
              plan.cfg.experiment.repeats);
}

/// Plans the run, prepares its directory and writes config.resolved.json and run_state.json
/// (rank 0's part before the model stage).
RunPlan start_run(const config::Document& doc, const RunOptions& options) {
  auto log = logger();
  RunPlan plan = plan_run(doc, options);
  ExperimentConfig used = plan.cfg;  // what config.resolved.json records: the directory used
  used.output_dir = plan.run_dir;
  if (options.resume) {
    ISPLITEE_CHECK(!options.force, "--resume and --force exclude each other");
    ISPLITEE_CHECK(!options.output_dir.empty() || doc.json().contains("output_dir"),
                   "--resume needs the run directory: --output DIR (or output_dir in the config)");
    check_resume(plan.run_dir, resolved_json(used), options.sweeps);
    log->info("resuming the run in {}", plan.run_dir.string());
  } else {
    prepare_output_dir(plan.run_dir, options.force);
  }
  log->info("run directory: {}", plan.run_dir.string());
  log_plan(plan);
  write_text_atomic(plan.run_dir / "config.resolved.json", resolved_json(used).dump(2) + "\n");
  write_text_atomic(plan.run_dir / "run_state.json",
                    nlohmann::json{{"sweeps", options.sweeps}}.dump(2) + "\n");
  return plan;
}

RunOutcome run(const config::Document& doc, const RunOptions& options) {
  return run(doc, options, local_work_group());
}

RunOutcome run(const config::Document& doc, const RunOptions& options, WorkGroup& group) {
  const auto t_start = Clock::now();
  ISPLITEE_CHECK(!options.dry_run, "run(): a dry run only plans (use plan_run)");
  auto log = logger();
  RunPlan plan;
  const std::string run_dir = group.on_root("plan", [&] {
    plan = start_run(doc, options);
    return plan.run_dir.string();
  });
  if (group.rank() != 0) {  // the other ranks need the sweep points and where partial/ is
    plan.points = plan_points(doc, options, &plan.sweep_keys);
    plan.cfg = plan.points.front().cfg;
    plan.run_dir = run_dir;
  }
  const ExperimentConfig& cfg = plan.cfg;
  ExperimentConfig used = cfg;
  used.output_dir = plan.run_dir;

  nlohmann::json timings = nlohmann::json::object();
  auto t0 = Clock::now();
  const fs::path checkpoint =
      group.on_root("model", [&] { return train::ensure_model(make_train_job(cfg)).string(); });
  timings["model"] = seconds_since(t0);
  log->info("[1/4] model: {} ({:.1f} s)", checkpoint.string(), timings["model"].get<double>());

  report::RunReport rep;
  const TraceSet traces = load_traces(cfg, checkpoint, options.retrace, rep, timings, group);
  t0 = Clock::now();
  if (group.size() == 1)
    run_policies(plan, traces, options, rep);
  else
    run_policies_spread(plan, traces, options, rep, group);
  timings["policies"] = seconds_since(t0);
  RunOutcome out;
  out.run_dir = plan.run_dir;
  if (group.rank() != 0) return out;  // rank 0 writes the run directory

  rep.config = resolved_json(used);
  rep.meta = run_meta(cfg, traces);
  timings["total"] = seconds_since(t_start);
  rep.meta["timings"] = timings;
  if (group.size() > 1) rep.meta["mpi_ranks"] = group.size();
  if (cfg.experiment.record_steps) {
    report::write_steps_csv(out.run_dir / "steps.csv", rep.result);
    out.files.push_back("steps.csv");
  }
  auto files = report::write_report_files(out.run_dir, rep, cfg.experiment.plots);
  std::error_code ec;
  fs::remove_all(out.run_dir / "partial", ec);  // the report now holds every point
  out.files.insert(out.files.begin(), {"config.resolved.json", "run_state.json"});
  out.files.insert(out.files.end(), files.begin(), files.end());
  out.report = std::move(rep);
  return out;
}

}  // namespace isplitee::pipeline
