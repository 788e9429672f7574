// `isplitee train`: joint multi-exit training (docs/method.md §8). Thin: parse, call
// train::train_model, print.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/pipeline/experiment.hpp"
#include "isplitee/pipeline/plan.hpp"
#include "isplitee/train/trainer.hpp"

namespace isplitee::app {
namespace {
struct TrainOptions {
  std::string config;
  std::vector<std::string> sets;
  std::string out;
  bool resume = false;
  bool force = false;
  bool dry_run = false;
};
}  // namespace

Action add_train_command(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<TrainOptions>();
  auto* cmd = app.add_subcommand(
      "train", "train the multi-exit network of a config (data, model, train sections)");
  cmd->add_option("-c,--config", o->config, "experiment config (JSON)")->required();
  cmd->add_option("--set", o->sets,
                  "override a config value, e.g. --set train.epochs=3 (repeatable)");
  cmd->add_option("-o,--out", o->out,
                  "output directory (default: <cache_dir>/models/<name>-<hash>, where `isplitee "
                  "run` finds it)");
  cmd->add_flag("--resume", o->resume,
                "continue an interrupted run in the output directory exactly");
  cmd->add_flag("--force", o->force, "start over in a non-empty output directory");
  cmd->add_flag("--dry-run", o->dry_run,
                "print whether the model is cached or to train (with an ETA) and stop");
  (void)g;
  return [o] {
    ISPLITEE_CHECK(!(o->resume && o->force), "--resume and --force exclude each other");
    const auto cfg = pipeline::load_experiment(o->config, o->sets);
    if (o->dry_run) {
      const auto m = pipeline::plan_model(cfg, o->out);
      std::printf("%s\n", pipeline::format_model_job(m).c_str());
      return;
    }
    auto job = pipeline::make_train_job(cfg);
    job.output_dir = o->out.empty() ? train::model_cache_dir(job) : std::filesystem::path(o->out);
    job.resume = o->resume;
    job.force = o->force;
    const auto r = train::train_model(job);
    std::printf("trained %lld epochs in %.1f s%s; best epoch %lld (val loss %.4f)\n",
                static_cast<long long>(r.epochs_run), r.seconds,
                r.stopped_early ? " (early stop)" : "", static_cast<long long>(r.best_epoch),
                r.best_val_loss);
    std::printf(
        "%s", train::format_accuracy_table(r.exit_blocks, r.val_accuracy, r.test_accuracy).c_str());
    std::printf("best checkpoint: %s\nmetrics: %s\n", r.best_checkpoint.string().c_str(),
                (r.output_dir / "metrics.jsonl").string().c_str());
  };
}
}  // namespace isplitee::app
