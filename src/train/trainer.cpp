#include "isplitee/train/trainer.hpp"

#include "isplitee/train/step.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <numeric>
#include <sstream>

#include <torch/torch.h>
#include <opencv2/imgproc.hpp>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/common/progress.hpp"
#include "isplitee/common/rng.hpp"
#include "isplitee/common/sha256.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/data/dataset.hpp"
#include "isplitee/data/loader.hpp"
#include "isplitee/model/checkpoint.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"

namespace isplitee::train {
namespace fs = std::filesystem;
namespace {

// Bump when a change to the trainer changes the weights it produces (invalidates cached models).
constexpr const char* kTrainerVersion = "isplitee-train-1";
constexpr int kStateVersion = 1;

// Independent random streams derived from the job seed (common/rng.hpp): each depends only on
// (seed, stream, epoch[, sample id]), so a resumed run replays exactly what it would have drawn.
constexpr std::uint64_t kInitStream = 1;
constexpr std::uint64_t kShuffleStream = 2;
constexpr std::uint64_t kAugmentStream = 3;
constexpr std::uint64_t kTorchStream = 4;
constexpr std::uint64_t kSubsetStream = 5;

std::uint64_t stream_seed(std::uint64_t seed, std::initializer_list<std::uint64_t> ids) {
  Rng r(seed, ids);
  // torch::manual_seed takes uint64 but some generators only use the low 63 bits well.
  return r.next_u64() >> 1;
}

double elapsed_s(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// ---- augmentation (train images only) --------------------------------------------------------

// Random resized crop (area in [scale_min, 1], aspect in [3/4, 4/3]) to out×out, as
// torchvision's RandomResizedCrop, followed by colour jitter: the Caltech recipe (docs/method.md
// §8).
cv::Mat random_resized_crop(const cv::Mat& img, int out, double scale_min, Rng& rng) {
  const double area = static_cast<double>(img.rows) * img.cols;
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * rng.uniform(scale_min, 1.0);
    const double log_ratio = rng.uniform(std::log(3.0 / 4.0), std::log(4.0 / 3.0));
    const double ratio = std::exp(log_ratio);
    const int w = static_cast<int>(std::lround(std::sqrt(target * ratio)));
    const int h = static_cast<int>(std::lround(std::sqrt(target / ratio)));
    if (w > 0 && h > 0 && w <= img.cols && h <= img.rows) {
      const int x = static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(img.cols - w + 1)));
      const int y = static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(img.rows - h + 1)));
      cv::Mat dst;
      cv::resize(img(cv::Rect(x, y, w, h)), dst, cv::Size(out, out), 0, 0, cv::INTER_LINEAR);
      return dst;
    }
  }
  const int s = std::min(img.rows, img.cols);
  cv::Mat dst;
  cv::resize(img(cv::Rect((img.cols - s) / 2, (img.rows - s) / 2, s, s)), dst, cv::Size(out, out),
             0, 0, cv::INTER_LINEAR);
  return dst;
}

// Brightness, contrast and (for RGB) saturation factors drawn from [1 - j, 1 + j].
cv::Mat color_jitter(const cv::Mat& img, double j, Rng& rng) {
  if (j <= 0) return img;
  const double b = rng.uniform(1.0 - j, 1.0 + j);
  const double c = rng.uniform(1.0 - j, 1.0 + j);
  const double s = rng.uniform(1.0 - j, 1.0 + j);
  cv::Mat f;
  img.convertTo(f, CV_32F, b);
  cv::Mat gray;
  if (f.channels() == 3)
    cv::cvtColor(f, gray, cv::COLOR_RGB2GRAY);
  else
    gray = f;
  const double mean = cv::mean(gray)[0];
  f = (f - cv::Scalar::all(mean)) * c + cv::Scalar::all(mean);
  if (f.channels() == 3) {
    cv::cvtColor(f, gray, cv::COLOR_RGB2GRAY);
    cv::Mat gray3;
    cv::cvtColor(gray, gray3, cv::COLOR_GRAY2RGB);
    f = gray3 + (f - gray3) * s;
  }
  cv::Mat out;
  f.convertTo(out, img.type());  // saturating cast clips to [0, 255]
  return out;
}

data::SampleTransform make_augmentation(const AugmentConfig& a, const data::Preprocess& p,
                                        std::shared_ptr<const data::Dataset> ds, std::uint64_t seed,
                                        std::int64_t epoch) {
  if (a.kind == "none") return {};
  return [a, p, ds, seed, epoch](const cv::Mat& img, std::size_t index) {
    Rng rng(seed, {kAugmentStream, static_cast<std::uint64_t>(epoch),
                   static_cast<std::uint64_t>(ds->sample_id(index))});
    cv::Mat out;
    if (a.kind == "crop-flip") {
      const int size = std::min(img.rows, img.cols);
      out = a.crop_padding > 0 ? data::random_crop(img, size, static_cast<int>(a.crop_padding), rng)
                               : img;
    } else {  // caltech-jitter
      const int side =
          p.resize > 0 ? p.resize : (p.crop > 0 ? p.crop : std::min(img.rows, img.cols));
      out = color_jitter(random_resized_crop(img, side, a.scale_min, rng), a.jitter, rng);
    }
    if (a.flip) out = data::random_hflip(out, rng);
    return out;
  };
}

// ---- model, optimizer -------------------------------------------------------------------------

struct GroupedOptimizer {
  std::unique_ptr<torch::optim::Optimizer> opt;
  std::vector<double> base_lr;  // per param group actually present
  std::vector<int> role;        // 0 backbone, 1 exit heads, 2 final head
};

GroupedOptimizer make_optimizer(model::MultiExitNetImpl& net, const TrainConfig& c) {
  GroupedOptimizer g;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  const std::vector<std::vector<torch::Tensor>> params = {
      net.backbone_parameters(), net.exit_head_parameters(), net.final_head_parameters()};
  const double lrs[3] = {c.lr_backbone, c.lr_exit_heads, c.lr_final_head};
  for (int r = 0; r < 3; ++r) {
    if (params[r].empty()) continue;
    std::unique_ptr<torch::optim::OptimizerOptions> o;
    if (c.optimizer == "adam")
      o = std::make_unique<torch::optim::AdamOptions>(
          torch::optim::AdamOptions(lrs[r]).weight_decay(c.weight_decay));
    else
      o = std::make_unique<torch::optim::SGDOptions>(torch::optim::SGDOptions(lrs[r])
                                                         .momentum(c.momentum)
                                                         .nesterov(c.nesterov && c.momentum > 0)
                                                         .weight_decay(c.weight_decay));
    groups.emplace_back(params[r], std::move(o));
    g.base_lr.push_back(lrs[r]);
    g.role.push_back(r);
  }
  ISPLITEE_ASSERT(!groups.empty(), "the network has no parameters");
  if (c.optimizer == "adam")
    g.opt = std::make_unique<torch::optim::Adam>(
        std::move(groups), torch::optim::AdamOptions(c.lr_backbone).weight_decay(c.weight_decay));
  else
    g.opt = std::make_unique<torch::optim::SGD>(
        std::move(groups), torch::optim::SGDOptions(c.lr_backbone).momentum(c.momentum));
  return g;
}

std::vector<double> set_learning_rates(GroupedOptimizer& g, double factor) {
  std::vector<double> lr(3, 0.0);
  for (std::size_t i = 0; i < g.base_lr.size(); ++i) {
    g.opt->param_groups()[i].options().set_lr(g.base_lr[i] * factor);
    lr[static_cast<std::size_t>(g.role[i])] = g.base_lr[i] * factor;
  }
  return lr;
}

torch::Tensor weighted_loss(const std::vector<torch::Tensor>& logits, const torch::Tensor& y,
                            const std::vector<double>& w, double smoothing,
                            std::vector<torch::Tensor>* per_exit) {
  namespace F = torch::nn::functional;
  torch::Tensor total;
  for (std::size_t k = 0; k < logits.size(); ++k) {
    auto ce =
        F::cross_entropy(logits[k], y, F::CrossEntropyFuncOptions().label_smoothing(smoothing));
    if (per_exit) per_exit->push_back(ce.detach());
    auto term = ce * w[k];
    total = total.defined() ? total + term : term;
  }
  return total;
}

}  // namespace

StepLosses joint_step(model::MultiExitNetImpl& net, torch::optim::Optimizer& opt,
                      const torch::Tensor& x, const torch::Tensor& y,
                      const std::vector<double>& weights, double label_smoothing) {
  StepLosses out;
  const auto outs = net.forward(x);
  auto loss = weighted_loss(outs, y, weights, label_smoothing, &out.per_exit);
  net.zero_grad(/*set_to_none=*/true);
  loss.backward();
  opt.step();
  out.loss = loss.detach();
  return out;
}

namespace {

// ---- evaluation -------------------------------------------------------------------------------

Evaluation evaluate_net(model::MultiExitNetImpl& net, std::shared_ptr<const data::Dataset> ds,
                        const data::Preprocess& p, std::int64_t batch_size, int workers,
                        const torch::Device& device, const std::string& what, bool progress) {
  const bool was_training = net.is_training();
  net.train(false);
  torch::NoGradGuard no_grad;
  const auto k_exits = static_cast<std::size_t>(net.num_exits());
  std::vector<double> loss(k_exits, 0.0);
  std::vector<std::int64_t> correct(k_exits, 0);
  std::vector<std::size_t> order(ds->size());
  std::iota(order.begin(), order.end(), 0);
  data::BatchLoader loader(ds, order, static_cast<std::size_t>(batch_size), p, {}, workers);
  Progress bar(what, ds->size(), "img", progress && progress_enabled());
  data::Batch b;
  std::int64_t n = 0;
  while (loader.next(b)) {
    const auto x = b.images.to(device);
    const auto y = b.labels.to(device);
    const auto outs = net.forward(x);
    for (std::size_t k = 0; k < k_exits; ++k) {
      loss[k] +=
          torch::nn::functional::cross_entropy(
              outs[k], y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
              .item<double>();
      correct[k] += outs[k].argmax(1).eq(y).sum().item<std::int64_t>();
    }
    n += b.images.size(0);
    bar.tick(static_cast<std::uint64_t>(b.images.size(0)));
  }
  bar.finish();
  net.train(was_training);
  Evaluation e;
  e.samples = n;
  for (std::size_t k = 0; k < k_exits; ++k) {
    e.accuracy.push_back(n > 0 ? 100.0 * static_cast<double>(correct[k]) / n : 0.0);
    e.exit_loss.push_back(n > 0 ? loss[k] / n : 0.0);
  }
  return e;
}

double weighted_sum(const std::vector<double>& v, const std::vector<double>& w) {
  double s = 0;
  for (std::size_t k = 0; k < v.size(); ++k) s += v[k] * w[k];
  return s;
}

// A seeded subset of at most `max` samples (positions kept in increasing order).
std::shared_ptr<const data::Dataset> limit(std::shared_ptr<const data::Dataset> ds,
                                           std::int64_t max, std::uint64_t seed,
                                           std::uint64_t which) {
  if (max <= 0 || static_cast<std::size_t>(max) >= ds->size()) return ds;
  std::vector<std::size_t> idx(ds->size());
  std::iota(idx.begin(), idx.end(), 0);
  Rng rng(seed, {kSubsetStream, which});
  rng.shuffle(idx.begin(), idx.end());
  idx.resize(static_cast<std::size_t>(max));
  std::sort(idx.begin(), idx.end());
  return std::make_shared<data::Subset>(ds, std::move(idx), ds->name());
}

void check_dataset_matches(const data::Dataset& ds, const model::ModelConfig& m,
                           const std::string& split) {
  ISPLITEE_CHECK(static_cast<std::int64_t>(ds.num_classes()) == m.num_classes,
                 "model.num_classes is ", m.num_classes, " but the ", split, " split of ",
                 ds.name(), " has ", ds.num_classes(), " classes (set model.num_classes to ",
                 ds.num_classes(), ")");
  ISPLITEE_CHECK(ds.size() > 0, "the ", split, " split of ", ds.name(),
                 " is empty (check data.val_fraction / data.max_per_split)");
}

void check_batch_shape(const torch::Tensor& x, const model::ModelConfig& m) {
  ISPLITEE_CHECK(x.size(1) == m.in_channels, "model.in_channels is ", m.in_channels,
                 " but data preprocessing gives ", x.size(1),
                 "-channel images (set data.preprocess.channels or model.in_channels)");
  ISPLITEE_CHECK(x.size(2) == m.input_size && x.size(3) == m.input_size, "model.input_size is ",
                 m.input_size, " but data preprocessing gives ", x.size(2), "x", x.size(3),
                 " images (set data.preprocess.resize/crop or model.input_size)");
}

// ---- persistent state -------------------------------------------------------------------------

struct RunState {
  std::string config_hash;
  std::int64_t epochs_done = 0;
  double best_val_loss = std::numeric_limits<double>::infinity();
  std::int64_t best_epoch = 0;
  std::int64_t bad_epochs = 0;
  std::int64_t global_step = 0;
  bool stopped_early = false;
  bool completed = false;
  std::string last_sha256, optim_sha256;
  std::vector<EpochRecord> history;
  std::vector<nlohmann::json> steps;
};

nlohmann::json state_to_json(const RunState& s) {
  nlohmann::json h = nlohmann::json::array();
  for (const auto& r : s.history) h.push_back(to_json(r));
  return {{"state_version", kStateVersion},
          {"config_hash", s.config_hash},
          {"epochs_done", s.epochs_done},
          {"best_val_loss", s.best_val_loss},
          {"best_epoch", s.best_epoch},
          {"bad_epochs", s.bad_epochs},
          {"global_step", s.global_step},
          {"stopped_early", s.stopped_early},
          {"completed", s.completed},
          {"last_sha256", s.last_sha256},
          {"optim_sha256", s.optim_sha256},
          {"history", h},
          {"steps", s.steps}};
}

RunState state_from_json(const nlohmann::json& j, const std::string& source) {
  RunState s;
  try {
    ISPLITEE_CHECK_CODE(j.at("state_version").get<int>() == kStateVersion, ErrorCode::kData, source,
                        ": state_version ", j.at("state_version").dump(), " is not ",
                        kStateVersion);
    s.config_hash = j.at("config_hash").get<std::string>();
    s.epochs_done = j.at("epochs_done").get<std::int64_t>();
    s.best_val_loss = j.at("best_val_loss").is_null() ? std::numeric_limits<double>::infinity()
                                                      : j.at("best_val_loss").get<double>();
    s.best_epoch = j.at("best_epoch").get<std::int64_t>();
    s.bad_epochs = j.at("bad_epochs").get<std::int64_t>();
    s.global_step = j.at("global_step").get<std::int64_t>();
    s.stopped_early = j.at("stopped_early").get<bool>();
    s.completed = j.at("completed").get<bool>();
    s.last_sha256 = j.at("last_sha256").get<std::string>();
    s.optim_sha256 = j.at("optim_sha256").get<std::string>();
    for (const auto& r : j.at("history")) s.history.push_back(epoch_record_from_json(r, source));
    for (const auto& r : j.at("steps")) s.steps.push_back(r);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kData, source, ": malformed training state (", e.what(), ")");
  }
  return s;
}

void write_metrics(const fs::path& path, const RunState& s) {
  // Rewritten whole (atomically) after each epoch, so a resumed run never duplicates lines.
  write_file_atomic(path, [&](std::ostream& os) {
    std::size_t si = 0;
    for (const auto& r : s.history) {
      while (si < s.steps.size() && s.steps[si].value("epoch", 0) <= r.epoch)
        os << s.steps[si++].dump() << '\n';
      os << to_json(r).dump() << '\n';
    }
    while (si < s.steps.size()) os << s.steps[si++].dump() << '\n';
  });
}

nlohmann::json result_to_json(const TrainResult& r) {
  return {{"config_hash", r.config_hash},
          {"best_checkpoint", r.best_checkpoint.filename().string()},
          {"exit_blocks", r.exit_blocks},
          {"epochs_run", r.epochs_run},
          {"best_epoch", r.best_epoch},
          {"best_val_loss", r.best_val_loss},
          {"stopped_early", r.stopped_early},
          {"val_accuracy", r.val_accuracy},
          {"test_accuracy", r.test_accuracy},
          {"seconds", r.seconds}};
}

std::string format_epoch_line(const EpochRecord& r, std::int64_t epochs) {
  std::ostringstream os;
  os << "epoch " << r.epoch << "/" << epochs << ": train loss " << fmt("%.4f", r.train_loss)
     << ", val loss " << fmt("%.4f", r.val_loss) << (r.best ? " (best)" : "") << ", "
     << fmt("%.0f", r.images_per_s) << " img/s, " << fmt("%.1f", r.seconds) << " s";
  return os.str();
}

}  // namespace

// ---- public -----------------------------------------------------------------------------------

nlohmann::json to_json(const EpochRecord& r) {
  return {{"type", "epoch"},
          {"epoch", r.epoch},
          {"train_loss", r.train_loss},
          {"train_exit_loss", r.train_exit_loss},
          {"val_loss", r.val_loss},
          {"val_exit_loss", r.val_exit_loss},
          {"val_accuracy", r.val_accuracy},
          {"lr", r.lr},
          {"seconds", r.seconds},
          {"images_per_s", r.images_per_s},
          {"best", r.best}};
}

EpochRecord epoch_record_from_json(const nlohmann::json& j, const std::string& source) {
  EpochRecord r;
  try {
    r.epoch = j.at("epoch").get<std::int64_t>();
    r.train_loss = j.at("train_loss").get<double>();
    r.train_exit_loss = j.at("train_exit_loss").get<std::vector<double>>();
    r.val_loss = j.at("val_loss").get<double>();
    r.val_exit_loss = j.at("val_exit_loss").get<std::vector<double>>();
    r.val_accuracy = j.at("val_accuracy").get<std::vector<double>>();
    r.lr = j.at("lr").get<std::vector<double>>();
    r.seconds = j.at("seconds").get<double>();
    r.images_per_s = j.at("images_per_s").get<double>();
    r.best = j.at("best").get<bool>();
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kData, source, ": malformed epoch record (", e.what(), ")");
  }
  return r;
}

std::string train_config_hash(const TrainJob& job) {
  auto t = to_json(job.train);
  // Keys that do not change the trained weights; the seed is hashed once, as job.seed (so a config
  // that spells out train.seed hashes like one that inherits the same top-level seed).
  for (const char* k :
       {"workers", "log_every", "evaluate_test", "max_test_samples", "eval_batch_size", "seed"})
    t.erase(k);
  const nlohmann::json j = {{"trainer", kTrainerVersion},
                            {"data", data::to_json(job.data)},
                            {"model", model::to_json(job.model)},
                            {"train", t},
                            {"seed", job.seed}};
  return sha256_hex(j.dump());
}

std::string format_accuracy_table(const std::vector<std::int64_t>& exit_blocks,
                                  const std::vector<double>& val_accuracy,
                                  const std::vector<double>& test_accuracy) {
  std::ostringstream os;
  os << "exit  blocks  val acc %" << (test_accuracy.empty() ? "" : "  test acc %") << '\n';
  for (std::size_t k = 0; k < val_accuracy.size(); ++k) {
    char line[96];
    std::snprintf(line, sizeof line, "%4zu  %6lld  %9.2f", k + 1,
                  static_cast<long long>(k < exit_blocks.size() ? exit_blocks[k] : 0),
                  val_accuracy[k]);
    os << line;
    if (k < test_accuracy.size()) {
      std::snprintf(line, sizeof line, "  %10.2f", test_accuracy[k]);
      os << line;
    }
    os << '\n';
  }
  return os.str();
}

Evaluation evaluate_checkpoint(const fs::path& checkpoint, const data::DatasetConfig& data,
                               const std::string& split, std::int64_t max_samples,
                               std::int64_t batch_size, int workers, const std::string& device) {
  const torch::Device dev(model::check_device(device));
  auto ck = model::load_checkpoint(checkpoint);
  ck.net->to(dev);
  auto ds = limit(data::open_split(data, split), max_samples, 0, 3);
  check_dataset_matches(*ds, ck.config, split);
  return evaluate_net(*ck.net, ds, data.preprocess, batch_size, workers, dev, split, true);
}

namespace {

// The files of one training run directory.
struct RunPaths {
  explicit RunPaths(const fs::path& d)
      : dir(d),
        last(d / "last.pt"),
        optim(d / "last.optim.pt"),
        best(d / "best.pt"),
        state(d / "train_state.json"),
        metrics(d / "metrics.jsonl"),
        result(d / "train_result.json") {}
  fs::path dir, last, optim, best, state, metrics, result;
};

// Reads the state of an interrupted run (and its last.pt unless it had completed), or prepares a
// new run (fresh init from the job seed, or the init checkpoint). The net is null only for a
// resumed run that had already completed.
model::MultiExitNet start_or_resume(const TrainJob& job, const RunPaths& paths,
                                    const std::string& hash, RunState& st) {
  if (job.resume) {
    ISPLITEE_CHECK_CODE(fs::exists(paths.state), ErrorCode::kIo, "--resume: ", paths.state.string(),
                        " not found (nothing to resume in ", paths.dir.string(), ")");
    st = state_from_json(nlohmann::json::parse(read_text_file(paths.state), nullptr, false),
                         paths.state.string());
    ISPLITEE_CHECK(st.config_hash == hash, "--resume: the run in ", paths.dir.string(),
                   " was started with a different configuration (hash ",
                   st.config_hash.substr(0, 12), ", now ", hash.substr(0, 12),
                   "); use the same config or start over with --force");
    logger()->info("resuming {} after epoch {}", paths.dir.string(), st.epochs_done);
    if (st.completed) return model::MultiExitNet{nullptr};
    ISPLITEE_CHECK_CODE(
        sha256_file(paths.last) == st.last_sha256 && sha256_file(paths.optim) == st.optim_sha256,
        ErrorCode::kData, "--resume: ", paths.last.string(), " or ", paths.optim.string(),
        " does not match ", paths.state.string(),
        " (interrupted while saving?); start over with --force");
    return model::load_checkpoint(paths.last, job.model).net;
  }
  prepare_output_dir(paths.dir, job.force);
  st.config_hash = hash;
  torch::manual_seed(stream_seed(job.seed, {kInitStream}));
  if (!job.train.init_checkpoint.empty()) {
    logger()->info("fine-tuning from {}", job.train.init_checkpoint);
    return model::load_checkpoint(job.train.init_checkpoint, job.model).net;
  }
  return model::build_model(job.model);
}

// What every epoch of one run shares.
struct EpochContext {
  const TrainJob& job;
  const RunPaths& paths;
  const std::string& hash;
  std::shared_ptr<const data::Dataset> train_ds, val_ds;
  GroupedOptimizer opt;
  std::vector<double> weights;  // w_k of the loss
  torch::Device device;
  int workers;
  bool show;
  bool first_batch = true;
};

// Sums over the steps of one epoch, and the per-step log window of metrics.jsonl.
struct EpochSums {
  std::vector<double> exit_loss;
  double loss = 0, window_loss = 0;
  std::int64_t seen = 0, window_steps = 0, window_images = 0;
  std::chrono::steady_clock::time_point window_start = std::chrono::steady_clock::now();
};

// One joint step (docs/method.md §8): forward of all exits, Σ_k w_k CE_k, backward, optimizer step.
void train_step(model::MultiExitNetImpl& net, EpochContext& ctx, const data::Batch& b,
                std::int64_t epoch, RunState& st, EpochSums& sums) {
  const TrainConfig& c = ctx.job.train;
  const auto step = joint_step(net, *ctx.opt.opt, b.images.to(ctx.device), b.labels.to(ctx.device),
                               ctx.weights, c.label_smoothing);
  const auto& per_exit = step.per_exit;
  const auto n = b.images.size(0);
  const double l = step.loss.item<double>();
  ISPLITEE_CHECK_CODE(std::isfinite(l), ErrorCode::kData, "training diverged: loss is ", l,
                      " at epoch ", epoch + 1, " step ", st.global_step + 1,
                      " (lower the learning rates in the train section)");
  sums.loss += l * static_cast<double>(n);
  for (std::size_t k = 0; k < per_exit.size(); ++k)
    sums.exit_loss[k] += per_exit[k].item<double>() * static_cast<double>(n);
  sums.seen += n;
  ++st.global_step;
  sums.window_loss += l;
  ++sums.window_steps;
  sums.window_images += n;
  if (c.log_every > 0 && st.global_step % c.log_every == 0) {
    st.steps.push_back({{"type", "step"},
                        {"epoch", epoch + 1},
                        {"step", st.global_step},
                        {"loss", sums.window_loss / static_cast<double>(sums.window_steps)},
                        {"images_per_s", static_cast<double>(sums.window_images) /
                                             std::max(1e-9, elapsed_s(sums.window_start))}});
    sums.window_loss = 0;
    sums.window_steps = 0;
    sums.window_images = 0;
    sums.window_start = std::chrono::steady_clock::now();
  }
}

// Trains one epoch on the shuffled, augmented training split; fills the record's training fields.
// The loader prepares the next batch on its worker threads while this one trains; augmentation is
// seeded per (epoch, sample id), so results do not depend on thread counts or timing.
EpochRecord train_epoch(model::MultiExitNetImpl& net, EpochContext& ctx, std::int64_t epoch,
                        RunState& st) {
  const TrainConfig& c = ctx.job.train;
  const auto t_epoch = std::chrono::steady_clock::now();
  EpochRecord rec;
  rec.epoch = epoch + 1;
  rec.lr = set_learning_rates(ctx.opt, lr_factor(c, epoch));
  // Dropout draws from torch's generator: reseed per epoch so a resumed run replays it.
  torch::manual_seed(stream_seed(ctx.job.seed, {kTorchStream, static_cast<std::uint64_t>(epoch)}));
  std::vector<std::size_t> order(ctx.train_ds->size());
  std::iota(order.begin(), order.end(), 0);
  Rng shuffle_rng(ctx.job.seed, {kShuffleStream, static_cast<std::uint64_t>(epoch)});
  shuffle_rng.shuffle(order.begin(), order.end());
  data::BatchLoader loader(
      ctx.train_ds, order, static_cast<std::size_t>(c.batch_size), ctx.job.data.preprocess,
      make_augmentation(c.augment, ctx.job.data.preprocess, ctx.train_ds, ctx.job.seed, epoch),
      ctx.workers);
  char label[64];
  std::snprintf(label, sizeof label, "epoch %lld/%lld", static_cast<long long>(epoch + 1),
                static_cast<long long>(c.epochs));
  Progress bar(label, ctx.train_ds->size(), "img", ctx.show);
  EpochSums sums;
  sums.exit_loss.assign(static_cast<std::size_t>(net.num_exits()), 0.0);
  data::Batch b;
  while (loader.next(b)) {
    if (ctx.first_batch) {
      check_batch_shape(b.images, ctx.job.model);
      ctx.first_batch = false;
    }
    train_step(net, ctx, b, epoch, st, sums);
    bar.tick(static_cast<std::uint64_t>(b.images.size(0)),
             "loss " + fmt("%.4f", sums.loss / static_cast<double>(sums.seen)));
  }
  const double train_s = elapsed_s(t_epoch);
  const double seen = static_cast<double>(sums.seen);
  bar.finish("loss " + fmt("%.4f", sums.seen ? sums.loss / seen : 0.0));
  rec.train_loss = sums.seen ? sums.loss / seen : 0.0;
  for (double s : sums.exit_loss) rec.train_exit_loss.push_back(sums.seen ? s / seen : 0.0);
  rec.images_per_s = seen / std::max(1e-9, train_s);
  return rec;
}

// Validation, then best.pt (when better), last.pt and the optimizer, then the state that vouches
// for them by hash, so that a run interrupted anywhere in between resumes correctly.
void finish_epoch(model::MultiExitNetImpl& net, EpochContext& ctx, EpochRecord rec,
                  std::chrono::steady_clock::time_point t_epoch, RunState& st) {
  const TrainConfig& c = ctx.job.train;
  const auto ev = evaluate_net(net, ctx.val_ds, ctx.job.data.preprocess, c.eval_batch_size,
                               ctx.workers, ctx.device, "validate", ctx.show);
  rec.val_accuracy = ev.accuracy;
  rec.val_exit_loss = ev.exit_loss;
  rec.val_loss = weighted_sum(ev.exit_loss, ctx.weights);
  ++st.epochs_done;
  const nlohmann::json extra = {{"epoch", rec.epoch},
                                {"config_hash", ctx.hash},
                                {"val_loss", rec.val_loss},
                                {"val_accuracy", rec.val_accuracy}};
  const auto* preprocess = &ctx.job.data.preprocess;
  if (rec.val_loss < st.best_val_loss) {
    st.best_val_loss = rec.val_loss;
    st.best_epoch = rec.epoch;
    st.bad_epochs = 0;
    rec.best = true;
    model::save_checkpoint(ctx.paths.best, net, ctx.job.model, extra, preprocess);
  } else {
    ++st.bad_epochs;
  }
  rec.seconds = elapsed_s(t_epoch);
  st.history.push_back(rec);
  if (st.bad_epochs >= c.patience) st.stopped_early = true;
  if (st.stopped_early || st.epochs_done >= c.epochs) st.completed = true;

  model::save_checkpoint(ctx.paths.last, net, ctx.job.model, extra, preprocess);
  const auto tmp = temporary_sibling(ctx.paths.optim);
  torch::save(*ctx.opt.opt, tmp.string());
  commit_file(tmp, ctx.paths.optim);
  st.last_sha256 = sha256_file(ctx.paths.last);
  st.optim_sha256 = sha256_file(ctx.paths.optim);
  write_text_atomic(ctx.paths.state, state_to_json(st).dump(1));
  write_metrics(ctx.paths.metrics, st);

  logger()->info("{}", format_epoch_line(rec, c.epochs));
  logger()->info("per-exit validation accuracy:\n{}",
                 format_accuracy_table(net.exit_blocks(), rec.val_accuracy, {}));
  if (st.stopped_early)
    logger()->info("early stop: no better validation loss for {} epochs", c.patience);
}

// The epochs still to run (all of them, or up to job.stop_after_epochs of this call).
void run_epochs(model::MultiExitNetImpl& net, EpochContext& ctx, RunState& st) {
  std::int64_t ran = 0;
  for (std::int64_t epoch = st.epochs_done; epoch < ctx.job.train.epochs; ++epoch) {
    if (ctx.job.stop_after_epochs > 0 && ran >= ctx.job.stop_after_epochs) break;
    const auto t_epoch = std::chrono::steady_clock::now();
    EpochRecord rec = train_epoch(net, ctx, epoch, st);
    finish_epoch(net, ctx, std::move(rec), t_epoch, st);
    ++ran;
    if (st.stopped_early) break;
  }
}

// Per-exit test accuracy of best.pt (when asked for) and train_result.json.
void finish_run(const TrainJob& job, const RunPaths& paths, const torch::Device& device,
                TrainResult& res, std::chrono::steady_clock::time_point t_start) {
  const TrainConfig& c = job.train;
  auto ck = model::load_checkpoint(paths.best, job.model);
  res.exit_blocks = ck.net->exit_blocks();
  if (c.evaluate_test) {
    ck.net->to(device);
    auto test_ds = limit(data::open_split(job.data, "test"), c.max_test_samples, 0, 3);
    check_dataset_matches(*test_ds, job.model, "test");
    res.test_accuracy = evaluate_net(*ck.net, test_ds, job.data.preprocess, c.eval_batch_size,
                                     static_cast<int>(c.workers), device, "test",
                                     job.progress && progress_enabled())
                            .accuracy;
    logger()->info(
        "best checkpoint (epoch {}), per-exit accuracy:\n{}", res.best_epoch,
        format_accuracy_table(ck.net->exit_blocks(), res.val_accuracy, res.test_accuracy));
  }
  res.seconds = elapsed_s(t_start);
  write_text_atomic(paths.result, result_to_json(res).dump(2) + "\n");
}

}  // namespace

TrainResult train_model(const TrainJob& job) {
  const auto t_start = std::chrono::steady_clock::now();
  const TrainConfig& c = job.train;
  ISPLITEE_CHECK(!job.output_dir.empty(),
                 "train: no output directory given (set output_dir or --out)");
  const torch::Device device(model::check_device(job.device));
  const RunPaths paths(job.output_dir);
  const std::string hash = train_config_hash(job);

  // Data first: a missing dataset should fail before anything is written.
  auto train_ds = limit(data::open_split(job.data, "train"), c.max_train_samples, job.seed, 1);
  auto val_ds = limit(data::open_split(job.data, "val"), c.max_val_samples, job.seed, 2);
  check_dataset_matches(*train_ds, job.model, "train");
  check_dataset_matches(*val_ds, job.model, "val");

  RunState st;
  model::MultiExitNet net = start_or_resume(job, paths, hash, st);
  if (!st.completed) {
    net->to(device);
    net->train(true);
    EpochContext ctx{job,
                     paths,
                     hash,
                     train_ds,
                     val_ds,
                     make_optimizer(*net, c),
                     resolve_exit_weights(c.exit_weights, net->num_exits()),
                     device,
                     static_cast<int>(c.workers),
                     job.progress && progress_enabled()};
    if (job.resume) torch::load(*ctx.opt.opt, paths.optim.string());
    run_epochs(*net, ctx, st);
  }

  TrainResult res;
  res.output_dir = paths.dir;
  res.best_checkpoint = paths.best;
  res.last_checkpoint = paths.last;
  res.config_hash = hash;
  res.epochs_run = st.epochs_done;
  res.best_epoch = st.best_epoch;
  res.best_val_loss = st.best_val_loss;
  res.stopped_early = st.stopped_early;
  res.completed = st.completed;
  res.history = st.history;
  for (const auto& r : st.history)
    if (r.epoch == st.best_epoch) res.val_accuracy = r.val_accuracy;
  res.seconds = elapsed_s(t_start);
  if (st.completed) finish_run(job, paths, device, res, t_start);
  return res;
}

fs::path model_cache_dir(const TrainJob& job) {
  return job.cache_dir / "models" / (job.name + "-" + train_config_hash(job).substr(0, 16));
}

fs::path ensure_model(const TrainJob& job) {
  if (!job.checkpoint.empty()) {
    ISPLITEE_CHECK_CODE(fs::exists(job.checkpoint), ErrorCode::kIo, "model checkpoint ",
                        job.checkpoint.string(), " not found");
    model::load_checkpoint(job.checkpoint, job.model);  // validates it against the model section
    return job.checkpoint;
  }
  const std::string hash = train_config_hash(job);
  const fs::path dir = model_cache_dir(job);
  const fs::path best = dir / "best.pt", result = dir / "train_result.json";
  if (fs::exists(best) && fs::exists(result)) {
    const auto j = nlohmann::json::parse(read_text_file(result), nullptr, false);
    if (j.is_object() && j.value("config_hash", "") == hash) {
      logger()->info("reusing trained model {}", best.string());
      return best;
    }
  }
  TrainJob j = job;
  j.output_dir = dir;
  j.resume = fs::exists(dir / "train_state.json");
  j.force =
      true;  // the directory belongs to this hash: leftovers of a failed start are overwritten
  j.stop_after_epochs = 0;
  logger()->info("training model {} into {}", job.name, dir.string());
  const auto r = train_model(j);
  return r.best_checkpoint;
}

}  // namespace isplitee::train
