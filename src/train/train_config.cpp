#include "isplitee/train/train_config.hpp"

#include <cmath>

#include "isplitee/common/error.hpp"

namespace isplitee::train {
namespace {

constexpr double kPi = 3.14159265358979323846;

AugmentConfig parse_augment(const config::Node& n) {
  AugmentConfig a;
  a.kind = n.choice("kind", a.kind, {"none", "crop-flip", "caltech-jitter"});
  a.crop_padding = n.integer("crop_padding", a.crop_padding, 0, 64);
  a.flip = n.boolean("flip", a.flip);
  a.jitter = n.number("jitter", a.jitter, 0.0, 1.0);
  a.scale_min = n.number("scale_min", a.scale_min, 0.05, 1.0);
  n.finish();
  return a;
}

}  // namespace

TrainConfig parse_train_config(const config::Node& n) {
  TrainConfig c;
  c.optimizer = n.choice("optimizer", c.optimizer, {"adam", "sgd"});
  c.lr_backbone = n.number("lr_backbone", c.lr_backbone, 0.0, 10.0);
  c.lr_exit_heads = n.number("lr_exit_heads", c.lr_exit_heads, 0.0, 10.0);
  c.lr_final_head = n.number("lr_final_head", c.lr_final_head, 0.0, 10.0);
  c.momentum = n.number("momentum", c.momentum, 0.0, 0.999999);
  c.nesterov = n.boolean("nesterov", c.nesterov);
  c.weight_decay = n.number("weight_decay", c.weight_decay, 0.0, 1.0);
  c.schedule = n.choice("schedule", c.schedule, {"cosine", "step", "constant"});
  c.t_max = n.integer("t_max", c.t_max, 1, 100000);
  c.eta_min = n.number("eta_min", c.eta_min, 0.0, 1.0);
  c.step_size = n.integer("step_size", c.step_size, 1, 100000);
  c.gamma = n.number("gamma", c.gamma, 0.0, 1.0);
  c.warmup_epochs = n.integer("warmup_epochs", c.warmup_epochs, 0, 1000);
  c.epochs = n.integer("epochs", c.epochs, 1, 100000);
  c.batch_size = n.integer("batch_size", c.batch_size, 1, 65536);
  c.eval_batch_size = n.integer("eval_batch_size", c.eval_batch_size, 1, 65536);
  c.patience = n.integer("patience", c.patience, 1, 100000);
  c.exit_weights = n.numbers("exit_weights", c.exit_weights, 0.0, 100.0);
  if (!c.exit_weights.empty()) {
    double sum = 0;
    for (double w : c.exit_weights) sum += w;
    if (!(sum > 0)) n.fail("exit_weights", "at least one weight must be > 0");
  }
  c.label_smoothing = n.number("label_smoothing", c.label_smoothing, 0.0, 0.5);
  c.augment = parse_augment(n.object("augment"));
  c.max_train_samples = n.integer("max_train_samples", c.max_train_samples, 0, INT64_MAX);
  c.max_val_samples = n.integer("max_val_samples", c.max_val_samples, 0, INT64_MAX);
  c.max_test_samples = n.integer("max_test_samples", c.max_test_samples, 0, INT64_MAX);
  c.evaluate_test = n.boolean("evaluate_test", c.evaluate_test);
  c.workers = n.integer("workers", c.workers, 0, 256);
  c.log_every = n.integer("log_every", c.log_every, 0, INT64_MAX);
  c.init_checkpoint = n.string("init_checkpoint", c.init_checkpoint);
  if (n.has("seed"))
    c.seed = static_cast<std::uint64_t>(n.integer("seed", 0, 0, std::int64_t{1} << 53));
  n.finish();
  return c;
}

nlohmann::json to_json(const TrainConfig& c) {
  nlohmann::json j = {
      {"optimizer", c.optimizer},
      {"lr_backbone", c.lr_backbone},
      {"lr_exit_heads", c.lr_exit_heads},
      {"lr_final_head", c.lr_final_head},
      {"momentum", c.momentum},
      {"nesterov", c.nesterov},
      {"weight_decay", c.weight_decay},
      {"schedule", c.schedule},
      {"t_max", c.t_max},
      {"eta_min", c.eta_min},
      {"step_size", c.step_size},
      {"gamma", c.gamma},
      {"warmup_epochs", c.warmup_epochs},
      {"epochs", c.epochs},
      {"batch_size", c.batch_size},
      {"eval_batch_size", c.eval_batch_size},
      {"patience", c.patience},
      {"exit_weights", c.exit_weights},
      {"label_smoothing", c.label_smoothing},
      {"augment",
       {{"kind", c.augment.kind},
        {"crop_padding", c.augment.crop_padding},
        {"flip", c.augment.flip},
        {"jitter", c.augment.jitter},
        {"scale_min", c.augment.scale_min}}},
      {"max_train_samples", c.max_train_samples},
      {"max_val_samples", c.max_val_samples},
      {"max_test_samples", c.max_test_samples},
      {"evaluate_test", c.evaluate_test},
      {"workers", c.workers},
      {"log_every", c.log_every},
      {"init_checkpoint", c.init_checkpoint},
  };
  if (c.seed) j["seed"] = *c.seed;
  return j;
}

std::vector<double> resolve_exit_weights(const std::vector<double>& configured,
                                         std::int64_t num_exits) {
  ISPLITEE_CHECK(num_exits > 0, "a multi-exit network needs at least one exit, got ", num_exits);
  if (!configured.empty()) {
    ISPLITEE_CHECK(static_cast<std::int64_t>(configured.size()) == num_exits,
                   "train.exit_weights has ", configured.size(), " values but the model has ",
                   num_exits, " exits (give exactly ", num_exits,
                   " weights, or none for the default)");
    return configured;
  }
  // docs/method.md §8: the reference weights for the 7 MobileNetV2 exits.
  if (num_exits == 7) return {1.0, 1.0, 1.0, 0.7, 0.7, 0.7, 0.5};
  return std::vector<double>(static_cast<std::size_t>(num_exits), 1.0);
}

double lr_factor(const TrainConfig& c, std::int64_t epoch) {
  if (epoch < c.warmup_epochs) return static_cast<double>(epoch + 1) / (c.warmup_epochs + 1);
  const auto e = static_cast<double>(epoch - c.warmup_epochs);
  if (c.schedule == "cosine") {
    // Closed form of torch.optim.lr_scheduler.CosineAnnealingLR (docs/method.md §8: T_max = 10).
    return c.eta_min + (1.0 - c.eta_min) * (1.0 + std::cos(kPi * e / c.t_max)) / 2.0;
  }
  if (c.schedule == "step")
    return std::pow(c.gamma, std::floor(e / static_cast<double>(c.step_size)));
  return 1.0;
}

}  // namespace isplitee::train
