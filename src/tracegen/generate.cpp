#include "isplitee/tracegen/generate.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>
#include <utility>

#include <torch/torch.h>

#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/common/progress.hpp"
#include "isplitee/common/sha256.hpp"
#include "isplitee/common/work_group.hpp"
#include "isplitee/data/dataset.hpp"
#include "isplitee/data/loader.hpp"
#include "isplitee/model/checkpoint.hpp"
#include "isplitee/model/exit_outputs.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/profile.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/tracegen/calibration.hpp"
#include "isplitee/version.hpp"

namespace isplitee::tracegen {
namespace fs = std::filesystem;
namespace {

// A file-system-safe directory name for a trace label ("gaussian_noise@3" stays as is).
std::string safe_name(const std::string& label) {
  std::string s = label;
  for (char& ch : s)
    if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '@' || ch == '-' || ch == '_' ||
          ch == '.' || ch == '+'))
      ch = '_';
  return s;
}

std::shared_ptr<const data::Dataset> open_limited(const data::DatasetConfig& data,
                                                  const TraceConfig& cfg) {
  auto ds = data::open_split(data, cfg.split);
  ISPLITEE_CHECK_CODE(ds->size() > 0, ErrorCode::kData, "trace: the ", cfg.split, " split of ",
                      ds->name(), " is empty");
  if (cfg.max_samples > 0 && static_cast<std::size_t>(cfg.max_samples) < ds->size()) {
    std::vector<std::size_t> idx(static_cast<std::size_t>(cfg.max_samples));
    std::iota(idx.begin(), idx.end(), 0);
    return std::make_shared<data::Subset>(ds, std::move(idx), ds->name());
  }
  return ds;
}

// Everything a trace run needs once per checkpoint.
struct Loaded {
  model::LoadedCheckpoint ck;
  std::string sha256;
  trace::CalibrationInfo calibration;  ///< fitted once per checkpoint, shared by every trace
};

Loaded load_for_tracing(const TraceRequest& req) {
  ISPLITEE_CHECK_CODE(fs::exists(req.checkpoint), ErrorCode::kIo, "trace: checkpoint ",
                      req.checkpoint.string(), " not found (train one with `isplitee train`)");
  Loaded l{model::load_checkpoint(req.checkpoint), sha256_file(req.checkpoint), {}};
  l.ck.net->to(torch::Device(model::check_device(req.device)));
  l.ck.net->train(false);
  // The fast inference path folds BatchNorm and gives the folded LibTorch results bit for bit, so
  // traces cached under fold_batchnorm stay valid; without the engine (a build without oneDNN, a
  // GPU) the folded NCHW LibTorch pass computes the same; unfolded traces keep the plain pass.
  const bool cpu = torch::Device(model::check_device(req.device)).is_cpu();
  if (req.trace.fold_batchnorm && cpu && model::MultiExitNetImpl::fast_path_available())
    l.ck.net->optimize_for_inference();
  else if (req.trace.fold_batchnorm)
    l.ck.net->fold_batchnorm();
  // Fitted on the network as it will trace (fast path included), so temperatures and traces agree.
  l.calibration = fit_calibration(req, *l.ck.net, torch::Device(model::check_device(req.device)));
  logger()->debug("trace: inference by {}", l.ck.net->inference_engine());
  return l;
}

// The images of one trace: the (limited) split and the seeded distortion applied by the loader.
struct TraceInput {
  std::shared_ptr<const data::Dataset> ds;
  std::shared_ptr<const distort::Distortion> dist;
  data::SampleTransform transform;
};

TraceInput open_trace_input(const TraceRequest& req, const Loaded& l,
                            const distort::DistortionSpec& spec) {
  TraceInput in;
  in.ds = open_limited(req.data, req.trace);
  ISPLITEE_CHECK(static_cast<std::int64_t>(in.ds->num_classes()) == l.ck.config.num_classes,
                 "trace: checkpoint ", req.checkpoint.string(), " has ", l.ck.config.num_classes,
                 " classes but ", in.ds->name(), " has ", in.ds->num_classes());
  const cv::Mat first = in.ds->image(0);
  in.dist = distort::make_distortion(spec, std::min(first.rows, first.cols));
  if (spec.name != "none") {
    const std::uint64_t seed = req.seed;
    in.transform = [dist = in.dist, ds = in.ds, seed](const cv::Mat& img, std::size_t index) {
      return distort::apply_seeded(*dist, img, seed, ds->sample_id(index));
    };
  }
  return in;
}

trace::Trace empty_trace(std::size_t n, std::size_t k_exits, std::size_t classes, bool logits,
                         bool calibrated) {
  trace::Trace t;
  t.num_samples = n;
  t.num_exits = k_exits;
  t.conf.resize(n * k_exits);
  t.pred.resize(n * k_exits);
  t.entropy.resize(n * k_exits);
  t.margin.resize(n * k_exits);
  t.label.resize(n);
  if (logits) t.logits.resize(n * k_exits * classes);
  if (calibrated) {
    t.conf_cal.resize(n * k_exits);
    t.entropy_cal.resize(n * k_exits);
    t.margin_cal.resize(n * k_exits);
  }
  t.manifest.sample_ids.resize(n);
  return t;
}

// Rows [row, row + N) of the trace from one batch: the per-exit outputs share the trace's
// row-major N × K (× C) layout, so they are copied as blocks. The calibrated columns come from
// the same logits (o.logits is kept whenever the trace is calibrated), divided by the temperatures.
void store_batch(trace::Trace& t, std::size_t row, const model::ExitOutputs& o,
                 const trace::CalibrationInfo& cal, const data::Batch& b) {
  const std::size_t at = row * t.num_exits;
  std::copy(o.max_prob.begin(), o.max_prob.end(), t.conf.begin() + static_cast<std::ptrdiff_t>(at));
  std::copy(o.pred.begin(), o.pred.end(), t.pred.begin() + static_cast<std::ptrdiff_t>(at));
  std::copy(o.entropy.begin(), o.entropy.end(),
            t.entropy.begin() + static_cast<std::ptrdiff_t>(at));
  std::copy(o.margin.begin(), o.margin.end(), t.margin.begin() + static_cast<std::ptrdiff_t>(at));
  if (!t.logits.empty())
    std::copy(
        o.logits.begin(), o.logits.end(),
        t.logits.begin() + static_cast<std::ptrdiff_t>(at * static_cast<std::size_t>(o.classes)));
  if (!cal.empty()) {
    const auto z = torch::from_blob(const_cast<float*>(o.logits.data()), {o.n, o.k, o.classes},
                                    torch::kFloat32);
    std::vector<torch::Tensor> per_exit;
    for (std::int64_t e = 0; e < o.k; ++e) per_exit.push_back(z.select(1, e).contiguous());
    add_calibrated_rows(per_exit, cal, row, t);
  }
  const auto labels = b.labels.cpu().contiguous();
  const auto ids = b.sample_ids.cpu().contiguous();
  for (std::size_t i = 0; i < static_cast<std::size_t>(o.n); ++i) {
    t.label[row + i] = static_cast<std::int32_t>(labels.data_ptr<std::int64_t>()[i]);
    t.manifest.sample_ids[row + i] = ids.data_ptr<std::int64_t>()[i];
  }
}

// Everything but the sample ids; no timings, so equal inputs give byte-identical manifests.
void fill_manifest(trace::Manifest& m, const TraceRequest& req, const Loaded& l,
                   const distort::DistortionSpec& spec, const distort::Distortion& dist,
                   const std::string& key) {
  const auto& net = *l.ck.net;
  m.format_version = trace::kTraceFormatVersion;
  m.arch = l.ck.config.arch;
  m.num_classes = l.ck.config.num_classes;
  m.exits = model::to_exit_infos(net.profile());
  m.checkpoint_sha256 = l.sha256;
  m.calibration = l.calibration;
  m.dataset = req.data.name;
  m.split = req.trace.split;
  m.distortion = {{"name", spec.name},
                  {"label", distort::label(spec)},
                  {"description", dist.describe()},
                  {"spec", distort::to_json(spec)}};
  m.seed = req.seed;
  m.tool_version = std::string(kVersion);
  m.extra = {{"cache_key", key},
             {"generator", kGeneratorVersion},
             {"data", data::to_json(req.data)},
             {"model", model::to_json(l.ck.config)},
             {"exit_blocks", net.exit_blocks()},
             {"max_samples", req.trace.max_samples},
             {"batch_size", req.trace.batch_size},
             {"fold_batchnorm", req.trace.fold_batchnorm}};
}

// One trace: the loader decodes and distorts the next batch on its worker threads while the
// network runs on this one (data::BatchLoader prefetches), so loading overlaps compute; every
// image's distortion is seeded by its sample id, so the result does not depend on threads.
// Rows [begin, end) only (a shard) when `end` is given: its batches are those of the whole trace
// when `begin` is a multiple of the batch size.
trace::Trace run_trace(const TraceRequest& req, Loaded& l, const distort::DistortionSpec& spec,
                       const std::string& key, double* seconds, std::size_t begin = 0,
                       std::size_t end = static_cast<std::size_t>(-1)) {
  const auto t0 = std::chrono::steady_clock::now();
  auto& net = *l.ck.net;
  const torch::Device device(model::check_device(req.device));
  const TraceInput in = open_trace_input(req, l, spec);
  end = std::min(end, in.ds->size());
  ISPLITEE_ASSERT(begin <= end, "trace rows [", begin, ", ", end, ") out of range");
  const std::size_t n = end - begin;
  const bool calibrated = !l.calibration.empty();
  trace::Trace t = empty_trace(n, static_cast<std::size_t>(net.num_exits()),
                               static_cast<std::size_t>(l.ck.config.num_classes),
                               req.trace.save_logits, calibrated);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), begin);
  data::BatchLoader loader(in.ds, order, static_cast<std::size_t>(req.trace.batch_size),
                           req.data.preprocess, in.transform, static_cast<int>(req.trace.workers));
  Progress bar("trace " + distort::label(spec), n, "img", req.progress && progress_enabled());
  data::Batch b;
  std::size_t row = 0;
  while (loader.next(b)) {
    const auto o = model::exit_outputs(net, b.images.to(device), net.num_exits(), {},
                                       req.trace.save_logits || calibrated);
    store_batch(t, row, o, l.calibration, b);
    row += static_cast<std::size_t>(o.n);
    bar.tick(static_cast<std::uint64_t>(o.n));
  }
  bar.finish();
  ISPLITEE_ASSERT(row == n, "loader returned ", row, " of ", n, " samples");
  fill_manifest(t.manifest, req, l, spec, *in.dist, key);
  if (seconds)
    *seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return t;
}

// Refuses a cached trace whose manifest disagrees with the inputs it is filed under.
void check_cached(const trace::Trace& t, const fs::path& dir, const std::string& key,
                  const std::string& sha, const TraceRequest& req,
                  const distort::DistortionSpec& spec) {
  const auto& m = t.manifest;
  auto refuse = [&](const std::string& field, const std::string& got, const std::string& want) {
    fail(ErrorCode::kData, "trace ", dir.string(), ": manifest.json ", field, " is ", got,
         ", expected ", want,
         " (the manifest was edited or the directory holds another trace); rerun with --force to "
         "recompute");
  };
  const std::string got_key =
      m.extra.is_object() && m.extra.contains("cache_key") && m.extra["cache_key"].is_string()
          ? m.extra["cache_key"].get<std::string>()
          : std::string("(missing)");
  if (got_key != key) refuse("extra.cache_key", got_key, key);
  if (m.checkpoint_sha256 != sha) refuse("checkpoint_sha256", m.checkpoint_sha256, sha);
  if (m.split != req.trace.split) refuse("split", m.split, req.trace.split);
  if (m.seed != req.seed) refuse("seed", std::to_string(m.seed), std::to_string(req.seed));
  const auto want_spec = distort::to_json(spec);
  const auto got_spec = m.distortion.is_object() && m.distortion.contains("spec")
                            ? m.distortion["spec"]
                            : nlohmann::json();
  if (got_spec != want_spec) refuse("distortion.spec", got_spec.dump(), want_spec.dump());
  if (m.sample_ids.size() != t.num_samples)
    refuse("sample_ids length", std::to_string(m.sample_ids.size()), std::to_string(t.num_samples));
}

// Writes the whole directory under a temporary name and renames it into place, so an interrupted
// run never leaves a half-written trace where the cache would find it.
void write_trace_dir(const fs::path& dir, const trace::Trace& t) {
  const fs::path tmp =
      dir.parent_path() / (".tmp-" + dir.filename().string() + "-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(tmp, ec);
  trace::write_trace(tmp, t);
  fs::remove_all(dir, ec);
  fs::rename(tmp, dir, ec);
  ISPLITEE_CHECK_CODE(!ec, ErrorCode::kIo, "cannot move ", tmp.string(), " to ", dir.string(), ": ",
                      ec.message());
}

// Marks `a` reused (with its accuracies) when the cache holds the trace, after validating it;
// leaves it to compute otherwise (or with --force).
void reuse_cached(const TraceRequest& req, const std::string& sha,
                  const distort::DistortionSpec& spec, TraceArtifact& a) {
  if (req.force || !fs::exists(a.directory / "manifest.json")) return;
  trace::Trace t;
  try {
    t = trace::read_trace(a.directory);
  } catch (const Error& e) {
    fail(ErrorCode::kData, "cached trace is invalid: ", e.what(),
         "; rerun with --force to recompute it");
  }
  check_cached(t, a.directory, a.cache_key, sha, req, spec);
  a.reused = true;
  a.exit_accuracy = trace::exit_accuracy(t);
  logger()->info("trace {}: reusing {}", a.name, a.directory.string());
}

// The checkpoint's SHA-256, after checking that the request can be served at all.
std::string checkpoint_sha(const TraceRequest& req) {
  ISPLITEE_CHECK(!req.trace_dir.empty(), "trace: no output directory for traces");
  ISPLITEE_CHECK_CODE(fs::exists(req.checkpoint), ErrorCode::kIo, "trace: checkpoint ",
                      req.checkpoint.string(), " not found (train one with `isplitee train`)");
  return sha256_file(req.checkpoint);
}

// Every trace of the request, in config order: its key and directory, and when the cache holds
// it, validated and marked reused.
std::vector<TraceArtifact> look_up(const TraceRequest& req, const std::string& sha) {
  std::vector<TraceArtifact> out;
  for (const auto& spec : req.trace.distortions) {
    TraceArtifact a;
    a.name = distort::label(spec);
    a.cache_key = trace_cache_key(sha, req.data, req.trace, spec, req.seed);
    a.directory = req.trace_dir / trace_directory_name(a.name, a.cache_key);
    reuse_cached(req, sha, spec, a);
    out.push_back(std::move(a));
  }
  return out;
}

// ---- ensure_traces over a WorkGroup: shards computed by the ranks, merged by rank 0 ------------

nlohmann::json artifact_json(const TraceArtifact& a) {
  return {{"name", a.name},
          {"directory", a.directory.string()},
          {"cache_key", a.cache_key},
          {"reused", a.reused},
          {"exit_accuracy", a.exit_accuracy},
          {"seconds", a.seconds},
          {"images_per_s", a.images_per_s}};
}

TraceArtifact artifact_from_json(const nlohmann::json& j) {
  TraceArtifact a;
  a.name = j.at("name").get<std::string>();
  a.directory = j.at("directory").get<std::string>();
  a.cache_key = j.at("cache_key").get<std::string>();
  a.reused = j.at("reused").get<bool>();
  a.exit_accuracy = j.at("exit_accuracy").get<std::vector<double>>();
  a.seconds = j.at("seconds").get<double>();
  a.images_per_s = j.at("images_per_s").get<double>();
  return a;
}

// Where the shards of a trace directory live until rank 0 merges them (a sibling, hidden).
fs::path shard_root(const fs::path& trace_directory) {
  return trace_directory.parent_path() / (".shards-" + trace_directory.filename().string());
}

fs::path shard_dir(const fs::path& trace_directory, std::pair<std::size_t, std::size_t> r) {
  return shard_root(trace_directory) / (std::to_string(r.first) + "-" + std::to_string(r.second));
}

// Rank 0's look-up: every trace's key and directory, reused when cached, and the sample count.
nlohmann::json lookup_traces(const TraceRequest& req) {
  nlohmann::json traces = nlohmann::json::array();
  bool any = false;
  for (const auto& a : look_up(req, checkpoint_sha(req))) {
    std::error_code ec;
    if (req.force) fs::remove_all(shard_root(a.directory), ec);  // recompute every shard too
    any = any || !a.reused;
    traces.push_back(artifact_json(a));
  }
  const std::size_t n = any ? open_limited(req.data, req.trace)->size() : 0;
  return {{"samples", n}, {"traces", traces}};
}

// One shard: reused when a complete one of the same trace is there, else computed and written
// atomically. Returns {"seconds": s} (0 when reused).
nlohmann::json compute_shard(const TraceRequest& req, std::optional<Loaded>& loaded,
                             const distort::DistortionSpec& spec, const TraceArtifact& a,
                             std::pair<std::size_t, std::size_t> r) {
  const fs::path dir = shard_dir(a.directory, r);
  if (fs::exists(dir / "manifest.json")) {
    try {
      const auto t = trace::read_trace(dir);
      const auto& x = t.manifest.extra;
      if (t.num_samples == r.second - r.first && x.is_object() &&
          x.value("cache_key", std::string()) == a.cache_key) {
        logger()->info("trace {}: reusing shard {}", a.name, dir.string());
        return {{"seconds", 0.0}};
      }
    } catch (const Error& e) {
      logger()->warn("trace {}: recomputing shard {} ({})", a.name, dir.string(), e.what());
    }
  }
  if (!loaded) loaded = load_for_tracing(req);
  double seconds = 0;
  const auto t = run_trace(req, *loaded, spec, a.cache_key, &seconds, r.first, r.second);
  fs::create_directories(dir.parent_path());
  write_trace_dir(dir, t);
  return {{"seconds", seconds}};
}

template <typename T>
void append(std::vector<T>& to, const std::vector<T>& from) {
  to.insert(to.end(), from.begin(), from.end());
}

// The shards of one trace, in row order, as the trace one process computes. Every shard must
// carry the same manifest but for its sample ids (same model, calibration and inputs).
trace::Trace merge_shards(const fs::path& directory,
                          const std::vector<std::pair<std::size_t, std::size_t>>& ranges) {
  trace::Trace out;
  nlohmann::json first;
  for (const auto& r : ranges) {
    const fs::path dir = shard_dir(directory, r);
    auto t = trace::read_trace(dir);
    auto m = trace::manifest_to_json(t.manifest);
    m.erase("sample_ids");
    if (out.num_samples == 0) {
      out.manifest = t.manifest;
      out.manifest.sample_ids.clear();
      out.num_exits = t.num_exits;
      first = m;
    }
    ISPLITEE_CHECK_CODE(m == first, ErrorCode::kData, "trace shard ", dir.string(),
                        ": its manifest differs from the first shard's (ranks with another model, "
                        "calibration or library version?); rerun with --force");
    out.num_samples += t.num_samples;
    using Column = std::pair<std::vector<float>*, const std::vector<float>*>;
    for (const Column& c : std::initializer_list<Column>{{&out.conf, &t.conf},
                                                         {&out.entropy, &t.entropy},
                                                         {&out.margin, &t.margin},
                                                         {&out.logits, &t.logits},
                                                         {&out.conf_cal, &t.conf_cal},
                                                         {&out.entropy_cal, &t.entropy_cal},
                                                         {&out.margin_cal, &t.margin_cal}})
      append(*c.first, *c.second);
    append(out.pred, t.pred);
    append(out.label, t.label);
    append(out.manifest.sample_ids, t.manifest.sample_ids);
  }
  return out;
}

}  // namespace

std::vector<std::pair<std::size_t, std::size_t>> shard_ranges(std::size_t n, std::size_t batch,
                                                              std::size_t shards) {
  ISPLITEE_CHECK(batch > 0 && shards > 0, "shard_ranges: batch and shards must be > 0");
  const std::size_t batches = (n + batch - 1) / batch;
  std::vector<std::pair<std::size_t, std::size_t>> out;
  for (std::size_t s = 0; s < shards; ++s) {
    const std::size_t b0 = batches * s / shards, b1 = batches * (s + 1) / shards;
    if (b1 > b0) out.emplace_back(b0 * batch, std::min(n, b1 * batch));
  }
  return out;
}

std::vector<TraceArtifact> ensure_traces(const TraceRequest& req, WorkGroup& group) {
  if (group.size() == 1) return ensure_traces(req);
  const auto plan = nlohmann::json::parse(
      group.on_root("trace cache look-up", [&] { return lookup_traces(req).dump(); }));
  std::vector<TraceArtifact> arts;
  for (const auto& j : plan.at("traces")) arts.push_back(artifact_from_json(j));
  const auto ranges = shard_ranges(plan.at("samples").get<std::size_t>(),
                                   static_cast<std::size_t>(req.trace.batch_size), group.size());
  struct Item {
    std::size_t trace;
    std::pair<std::size_t, std::size_t> range;
  };
  std::vector<Item> items;
  std::vector<std::string> names;
  for (std::size_t d = 0; d < arts.size(); ++d)
    for (const auto& r : arts[d].reused ? decltype(ranges){} : ranges) {
      items.push_back({d, r});
      names.push_back("trace " + arts[d].name + " samples [" + std::to_string(r.first) + ", " +
                      std::to_string(r.second) + ")");
    }
  std::optional<Loaded> loaded;  // once per rank, for its first shard
  const auto t0 = std::chrono::steady_clock::now();
  auto since = [](std::chrono::steady_clock::time_point t) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
  };
  const auto done = group.run_items(names, [&](std::size_t i) {
    const auto& it = items[i];
    return compute_shard(req, loaded, req.trace.distortions[it.trace], arts[it.trace], it.range)
        .dump();
  });
  const double shard_s = since(t0);
  const auto merged = nlohmann::json::parse(group.on_root("merge trace shards", [&] {
    const auto t1 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < items.size(); ++i)
      arts[items[i].trace].seconds += nlohmann::json::parse(done[i]).at("seconds").get<double>();
    nlohmann::json out = nlohmann::json::array();
    for (auto& a : arts) {
      if (!a.reused) {
        const auto t = merge_shards(a.directory, ranges);
        write_trace_dir(a.directory, t);
        std::error_code ec;
        fs::remove_all(shard_root(a.directory), ec);
        a.exit_accuracy = trace::exit_accuracy(t);
        a.images_per_s = a.seconds > 0 ? static_cast<double>(t.num_samples) / a.seconds : 0.0;
        logger()->info(
            "trace {}: {} samples in {} shards, {:.1f} s of work ({:.0f} img/s per rank) -> {}",
            a.name, t.num_samples, ranges.size(), a.seconds, a.images_per_s, a.directory.string());
      }
      out.push_back(artifact_json(a));
    }
    if (!items.empty())
      logger()->info(
          "trace shards: {} over {} ranks in {:.1f} s (wall, model and calibration "
          "included), merged by rank 0 in {:.1f} s",
          items.size(), group.size(), shard_s, since(t1));
    return out.dump();
  }));
  std::vector<TraceArtifact> out;
  for (const auto& j : merged) out.push_back(artifact_from_json(j));
  return out;
}

std::string trace_cache_key(const std::string& checkpoint_sha256, const data::DatasetConfig& data,
                            const TraceConfig& cfg, const distort::DistortionSpec& spec,
                            std::uint64_t seed) {
  const nlohmann::json j = {{"generator", kGeneratorVersion},
                            {"format_version", trace::kTraceFormatVersion},
                            {"checkpoint_sha256", checkpoint_sha256},
                            {"data", data::to_json(data)},
                            {"split", cfg.split},
                            {"max_samples", cfg.max_samples},
                            {"batch_size", cfg.batch_size},
                            {"distortion", distort::to_json(spec)},
                            {"seed", seed},
                            {"save_logits", cfg.save_logits},
                            {"fold_batchnorm", cfg.fold_batchnorm}};
  return sha256_hex(j.dump());
}

trace::Trace generate_trace(const TraceRequest& req, const distort::DistortionSpec& spec,
                            double* seconds) {
  auto l = load_for_tracing(req);
  const auto key = trace_cache_key(l.sha256, req.data, req.trace, spec, req.seed);
  return run_trace(req, l, spec, key, seconds);
}

std::string trace_directory_name(const std::string& label, const std::string& cache_key) {
  return safe_name(label) + "-" + cache_key.substr(0, 12);
}

std::vector<TraceArtifact> ensure_traces(const TraceRequest& req) {
  auto out = look_up(req, checkpoint_sha(req));
  std::optional<Loaded> loaded;  // loaded lazily: a fully cached request never touches the network
  for (std::size_t d = 0; d < out.size(); ++d) {
    auto& a = out[d];
    if (a.reused) continue;
    if (!loaded) loaded = load_for_tracing(req);
    const auto t = run_trace(req, *loaded, req.trace.distortions[d], a.cache_key, &a.seconds);
    write_trace_dir(a.directory, t);
    a.exit_accuracy = trace::exit_accuracy(t);
    a.images_per_s = a.seconds > 0 ? static_cast<double>(t.num_samples) / a.seconds : 0.0;
    logger()->info("trace {}: {} samples in {:.1f} s ({:.0f} img/s) -> {}", a.name, t.num_samples,
                   a.seconds, a.images_per_s, a.directory.string());
  }
  return out;
}

}  // namespace isplitee::tracegen
