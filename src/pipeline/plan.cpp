#include "isplitee/pipeline/plan.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <numeric>
#include <sstream>
#include <thread>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/common/rng.hpp"
#include "isplitee/common/sha256.hpp"
#include "isplitee/data/dataset.hpp"
#include "isplitee/distort/distortion.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/pipeline/experiment.hpp"
#include "isplitee/pipeline/run.hpp"
#include "isplitee/sim/experiment.hpp"
#include "isplitee/tracegen/calibration.hpp"

namespace isplitee::pipeline {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Training images per second ≈ forward images per second / kTrainStepCost: a backward pass costs
// about two forward passes, plus the optimizer step (checked against the cached Fashion-MNIST
// model: see BENCHMARKS.md, "Run plan ETA").
constexpr double kTrainStepCost = 3.0;

/// Measured inference throughput (images/s, all exits) of the configured network on this machine,
/// with random weights (speed does not depend on them): batches of `batch` for about half a second.
/// Memoised per (model, device, batch): train and trace planning share one measurement.
double measure_forward_ips(const ExperimentConfig& cfg, std::int64_t batch) {
  static std::mutex mu;
  static std::map<std::string, double> memo;
  const std::string key = model::to_json(cfg.model).dump() + cfg.device + std::to_string(batch);
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = memo.find(key); it != memo.end()) return it->second;
  model::ModelConfig mc = cfg.model;
  mc.pretrained.clear();  // weights do not change the speed; do not read a file for them
  auto net = model::MultiExitNet(mc);
  net->train(false);
  const torch::Device device(model::check_device(cfg.device));
  net->to(device);
  torch::InferenceMode guard;
  const auto x = torch::randn({batch, mc.in_channels, mc.input_size, mc.input_size}).to(device);
  net->forward(x);  // warm-up (allocations, lazy initialisation)
  std::size_t images = 0;
  const auto t0 = Clock::now();
  do {
    net->forward(x);
    images += static_cast<std::size_t>(batch);
  } while (seconds_since(t0) < 0.5);
  const double ips = static_cast<double>(images) / seconds_since(t0);
  memo[key] = ips;
  return ips;
}

// Opening the split also proves the dataset readable before anything is trained or traced.
std::size_t split_size(const data::DatasetConfig& d, const std::string& split) {
  const std::size_t n = data::open_split(d, split)->size();
  ISPLITEE_CHECK_CODE(n > 0, ErrorCode::kData, "data: split '", split, "' of ", d.name,
                      " is empty");
  return n;
}

// The training estimate of a model directory holding an interrupted run: its own epoch times.
bool resume_estimate(const fs::path& dir, const std::string& hash, ModelJob& m,
                     std::int64_t epochs) {
  const auto state =
      nlohmann::json::parse(read_text_file(dir / "train_state.json"), nullptr, false);
  if (!state.is_object() || state.value("config_hash", "") != hash) return false;
  const auto done = state.value("epochs_done", std::int64_t{0});
  double total = 0;
  std::size_t n = 0;
  if (state.contains("history") && state["history"].is_array())
    for (const auto& e : state["history"])
      if (e.is_object() && e.contains("seconds")) {
        total += e["seconds"].get<double>();
        ++n;
      }
  m.state = JobState::kResume;
  m.epochs = std::max<std::int64_t>(0, epochs - done);
  if (n == 0) return false;
  m.eta.seconds = static_cast<double>(m.epochs) * total / static_cast<double>(n);
  m.eta.source = "measured: mean of " + std::to_string(n) + " finished epochs of this model";
  return true;
}

// Rows of a synthetic trace shaped like `cfg`'s model, for timing the replay when no trace exists.
std::shared_ptr<trace::Trace> timing_trace(const ExperimentConfig& cfg, std::size_t n) {
  model::ModelConfig mc = cfg.model;
  mc.pretrained.clear();
  const auto net = model::MultiExitNet(mc);
  auto t = std::make_shared<trace::Trace>();
  const std::size_t k = static_cast<std::size_t>(net->num_exits());
  t->num_samples = n;
  t->num_exits = k;
  t->manifest.num_classes = mc.num_classes;
  for (auto b : net->exit_blocks()) {
    trace::ExitInfo x;
    x.depth_blocks = static_cast<double>(b);
    x.macs_millions = static_cast<double>(b);
    x.activation_bytes = 1000;
    t->manifest.exits.push_back(x);
  }
  Rng rng(0);
  const auto classes = static_cast<std::uint64_t>(mc.num_classes);
  for (std::size_t i = 0; i < n; ++i) {
    t->label.push_back(static_cast<std::int32_t>(rng.uniform_int(classes)));
    for (std::size_t e = 0; e < k; ++e) {
      const auto c = static_cast<float>(rng.uniform());
      t->conf.push_back(c);
      t->pred.push_back(static_cast<std::int32_t>(rng.uniform_int(classes)));
      t->entropy.push_back(1.0f - c);
      t->margin.push_back(c / 2);
    }
  }
  t->conf_cal = t->conf;
  t->entropy_cal = t->entropy;
  t->margin_cal = t->margin;
  return t;
}

// Decisions per second of `cfg`'s policies, measured on one repeat of a short replay.
double measure_replay_rate(const ExperimentConfig& cfg, std::shared_ptr<const trace::Trace> t) {
  constexpr std::size_t kSteps = 2000;
  sim::ExperimentSpec spec;
  spec.trace_names = {"timing"};
  spec.traces = {std::move(t)};
  spec.streams.per_trace = true;
  spec.streams.length = kSteps;
  spec.policies = cfg.policies;
  spec.cost = cfg.cost;
  spec.repeats = 1;
  spec.threads = 1;
  spec.curve_points = cfg.experiment.curve_points;
  const auto t0 = Clock::now();
  sim::run_experiment(spec);
  const double s = std::max(seconds_since(t0), 1e-6);
  return static_cast<double>(kSteps * cfg.policies.size()) / s;
}

std::string job_line(const std::string& what, JobState s, const Eta& eta) {
  std::string line = what + "  [" + to_string(s) + "]";
  if (s == JobState::kCompute || s == JobState::kResume)
    line += eta.source.empty() ? "  ETA unknown"
                               : "  ETA " + format_duration(eta.seconds) + " (" + eta.source + ")";
  return line;
}

}  // namespace

const char* to_string(JobState s) {
  switch (s) {
    case JobState::kCached:
      return "cached";
    case JobState::kCompute:
      return "to compute";
    case JobState::kResume:
      return "to resume";
    case JobState::kGiven:
      return "given";
  }
  return "?";
}

double RunPlan::eta_seconds() const {
  double s = model.eta.seconds + replay.seconds;
  for (const auto& t : traces) s += t.eta.seconds;
  return s;
}

std::string format_duration(double seconds) {
  char buf[32];
  if (seconds < 90)
    std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  else if (seconds < 5400)
    std::snprintf(buf, sizeof buf, "%.1f min", seconds / 60);
  else
    std::snprintf(buf, sizeof buf, "%.1f h", seconds / 3600);
  return buf;
}

ModelJob plan_model(const ExperimentConfig& cfg, const fs::path& directory) {
  const auto job = make_train_job(cfg);
  ModelJob m;
  m.name = job.name;
  if (!cfg.checkpoint.empty()) {
    ISPLITEE_CHECK_CODE(fs::exists(cfg.checkpoint), ErrorCode::kIo, cfg.source,
                        ": checkpoint: ", cfg.checkpoint.string(), " not found");
    m.checkpoint = cfg.checkpoint;
    m.state = JobState::kGiven;
    return m;
  }
  m.config_hash = train::train_config_hash(job);
  m.directory = directory.empty() ? train::model_cache_dir(job) : directory;
  m.checkpoint = m.directory / "best.pt";
  if (fs::exists(m.checkpoint) && fs::exists(m.directory / "train_result.json")) {
    const auto j =
        nlohmann::json::parse(read_text_file(m.directory / "train_result.json"), nullptr, false);
    if (j.is_object() && j.value("config_hash", "") == m.config_hash) {
      m.state = JobState::kCached;
      return m;
    }
  }
  m.train_samples = split_size(cfg.data, "train");
  m.epochs = cfg.train.epochs;
  if (fs::exists(m.directory / "train_state.json") &&
      resume_estimate(m.directory, m.config_hash, m, cfg.train.epochs))
    return m;
  const double ips = measure_forward_ips(cfg, cfg.train.batch_size);
  const std::size_t val = cfg.data.val_fraction > 0 ? split_size(cfg.data, "val") : 0;
  const double epoch_s =
      (static_cast<double>(m.train_samples) * kTrainStepCost + static_cast<double>(val)) / ips;
  m.eta.seconds = static_cast<double>(m.epochs) * epoch_s;
  char buf[160];
  std::snprintf(buf, sizeof buf,
                "estimated: forward pass measured at %.0f img/s, training step ~%.0fx a forward",
                ips, kTrainStepCost);
  m.eta.source = buf;
  return m;
}

std::vector<TraceJob> plan_traces(const ExperimentConfig& cfg, const ModelJob& model,
                                  const fs::path& trace_dir) {
  const fs::path dir = trace_dir.empty() ? cfg.cache_dir / "traces" : trace_dir;
  const bool have_checkpoint = model.state == JobState::kCached || model.state == JobState::kGiven;
  const std::string sha = have_checkpoint ? sha256_file(model.checkpoint) : std::string();
  std::size_t samples = split_size(cfg.data, cfg.trace.split);
  if (cfg.trace.max_samples > 0)
    samples = std::min(samples, static_cast<std::size_t>(cfg.trace.max_samples));
  const auto seed = make_trace_request(cfg, model.checkpoint).seed;
  std::vector<TraceJob> out;
  std::size_t to_compute = 0;
  for (const auto& spec : cfg.trace.distortions) {
    TraceJob t;
    t.name = distort::label(spec);
    t.samples = samples;
    if (have_checkpoint) {
      t.cache_key = tracegen::trace_cache_key(sha, cfg.data, cfg.trace, spec, seed);
      t.directory = dir / (tracegen::trace_directory_name(t.name, t.cache_key));
      if (fs::exists(t.directory / "manifest.json")) t.state = JobState::kCached;
    }
    to_compute += t.state == JobState::kCompute ? 1 : 0;
    out.push_back(std::move(t));
  }
  if (to_compute > 0) {
    const double ips = measure_forward_ips(cfg, cfg.trace.batch_size);
    // One calibration pass over the validation split precedes the first computed trace.
    const double calib = cfg.data.val_fraction > 0
                             ? static_cast<double>(std::min(split_size(cfg.data, "val"),
                                                            tracegen::kMaxCalibrationSamples)) /
                                   ips / static_cast<double>(to_compute)
                             : 0.0;
    char buf[96];
    std::snprintf(buf, sizeof buf, "estimated: forward pass measured at %.0f img/s", ips);
    for (auto& t : out)
      if (t.state == JobState::kCompute)
        t.eta = {static_cast<double>(t.samples) / ips + calib, buf};
  }
  return out;
}

std::vector<PlanPoint> plan_points(const config::Document& doc, const RunOptions& options,
                                   std::vector<std::string>* sweep_keys) {
  std::vector<PlanPoint> points;
  points.push_back({{}, parse_experiment(doc)});
  std::vector<SweepAxis> axes;
  for (const auto& s : options.sweeps) axes.push_back(parse_sweep(s));
  if (sweep_keys)
    for (const auto& a : axes) sweep_keys->push_back(a.key);
  for (const auto& assignment : sweep_grid(axes))
    points.push_back({assignment, parse_experiment(with_sweep_assignment(doc, assignment))});
  return points;
}

RunPlan plan_run(const config::Document& doc, const RunOptions& options) {
  RunPlan p;
  p.cfg = parse_experiment(doc);
  model::check_device(p.cfg.device);
  p.points = plan_points(doc, options, &p.sweep_keys);
  p.run_dir = run_directory(doc, p.cfg, options);

  p.model = plan_model(p.cfg);
  p.traces = plan_traces(p.cfg, p.model);
  if (options.retrace)
    for (auto& t : p.traces)
      if (t.state == JobState::kCached) t.state = JobState::kCompute;
  if (options.retrace && !p.traces.empty() && p.traces.front().eta.source.empty()) {
    // All were cached when planned: estimate them now that they are to be recomputed.
    ModelJob unknown = p.model;
    unknown.state = JobState::kCompute;
    const auto est = plan_traces(p.cfg, unknown);
    for (std::size_t i = 0; i < p.traces.size(); ++i) p.traces[i].eta = est[i].eta;
  }

  std::vector<std::string> names;
  std::vector<std::size_t> sizes, offsets;
  for (const auto& t : p.traces) {
    offsets.push_back(std::accumulate(sizes.begin(), sizes.end(), std::size_t{0}));
    names.push_back(t.name);
    sizes.push_back(t.samples);
  }
  const auto defs = stream::resolve_streams(p.cfg.streams, names);
  std::vector<std::size_t> steps;
  for (const auto& d : defs) {
    p.streams.push_back(d.name);
    steps.push_back(stream::build_stream(d, sizes, offsets, names, 0, 0).size());
  }
  std::size_t decisions = 0;
  for (std::size_t pt = 0; pt < p.points.size(); ++pt) {
    const auto& c = p.points[pt].cfg;
    for (std::size_t s = 0; s < defs.size(); ++s)
      for (std::size_t pol = 0; pol < c.policies.size(); ++pol)
        for (std::size_t r = 0; r < c.experiment.repeats; ++r) {
          p.cells.push_back({pt, s, pol, r, steps[s]});
          decisions += steps[s];
        }
  }
  if (decisions > 0 && !p.cfg.policies.empty()) {
    // Only an estimate: a replay that cannot be timed here (it fails the same way in the run,
    // with its own message) leaves the ETA unknown rather than failing the plan.
    try {
      std::shared_ptr<const trace::Trace> t;
      if (!p.traces.empty() && p.traces.front().state == JobState::kCached)
        t = std::make_shared<trace::Trace>(trace::read_trace(p.traces.front().directory));
      else
        t = timing_trace(p.cfg, 2000);
      const double rate = measure_replay_rate(p.cfg, t);
      const std::size_t threads = p.cfg.experiment.threads > 0
                                      ? p.cfg.experiment.threads
                                      : std::max(1u, std::thread::hardware_concurrency());
      p.replay.seconds = static_cast<double>(decisions) / rate / static_cast<double>(threads);
      char buf[128];
      std::snprintf(buf, sizeof buf, "measured: %.2f M decisions/s on one thread, %zu threads",
                    rate / 1e6, threads);
      p.replay.source = buf;
    } catch (const Error& e) {
      logger()->debug("plan: the replay could not be timed: {}", e.what());
    }
  }
  return p;
}

std::string format_model_job(const ModelJob& m) {
  std::string what = "model   " + m.name;
  if (m.state == JobState::kGiven)
    return job_line(what + "  " + m.checkpoint.string(), m.state, {});
  what += "  " + m.directory.string();
  if (m.state == JobState::kCompute || m.state == JobState::kResume)
    what += "  (" + std::to_string(m.epochs) + " epochs over " + std::to_string(m.train_samples) +
            " images)";
  return job_line(what, m.state, m.eta);
}

std::string format_trace_jobs(const std::vector<TraceJob>& traces) {
  std::ostringstream os;
  std::size_t width = 0;
  for (const auto& t : traces) width = std::max(width, t.name.size());
  for (const auto& t : traces) {
    std::string what = "trace   " + t.name + std::string(width - t.name.size(), ' ') + "  " +
                       std::to_string(t.samples) + " img  ";
    what += t.cache_key.empty() ? std::string("key known once the model is trained")
                                : "key " + t.cache_key.substr(0, 12) + "  " + t.directory.string();
    os << job_line(what, t.state, t.eta) << "\n";
  }
  return os.str();
}

std::string format_plan(const RunPlan& p) {
  std::ostringstream os;
  os << "plan for " << p.cfg.name << " (" << p.cfg.source << ")\n";
  os << "run dir " << p.run_dir.string() << "\n";
  os << format_model_job(p.model) << "\n" << format_trace_jobs(p.traces);
  std::size_t decisions = 0;
  for (const auto& c : p.cells) decisions += c.steps;
  const auto& c = p.cfg;
  os << "replay  " << p.streams.size() << " streams x " << c.policies.size() << " policies x "
     << c.experiment.repeats << " repeats";
  if (p.points.size() > 1) {
    os << " x " << p.points.size() << " points (base + " << p.points.size() - 1
       << " sweep points over";
    for (const auto& k : p.sweep_keys) os << ' ' << k;
    os << ')';
  }
  os << " = " << p.cells.size() << " cells, " << decisions << " decisions";
  if (p.replay.source.empty())
    os << "  ETA unknown\n";
  else
    os << "  ETA " << format_duration(p.replay.seconds) << " (" << p.replay.source << ")\n";
  std::size_t cached = 0;
  for (const auto& t : p.traces) cached += t.state == JobState::kCached ? 1 : 0;
  os << "total   ETA " << format_duration(p.eta_seconds())
     << " (model: " << to_string(p.model.state) << "; traces: " << cached << " cached, "
     << p.traces.size() - cached << " to compute)\n";
  return os.str();
}

}  // namespace isplitee::pipeline
