// `isplitee trace`: record what every exit says about every sample under every distortion of a
// config. Thin: parse, find or train the checkpoint, call tracegen::ensure_traces, print.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/pipeline/experiment.hpp"
#include "isplitee/pipeline/plan.hpp"
#include "isplitee/tracegen/generate.hpp"
#include "isplitee/train/trainer.hpp"
#include "parallel.hpp"

namespace isplitee::app {
namespace {
struct TraceOptions {
  std::string config;
  std::vector<std::string> sets;
  std::string checkpoint;
  std::string out;
  bool force = false;
  bool dry_run = false;
};
}  // namespace

Action add_trace_command(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<TraceOptions>();
  auto* cmd = app.add_subcommand("trace",
                                 "run a checkpoint over a dataset split under every distortion of "
                                 "a config; write one trace each");
  cmd->add_option("-c,--config", o->config, "experiment config (JSON)")->required();
  cmd->add_option("--set", o->sets,
                  "override a config value, e.g. --set trace.max_samples=500 (repeatable)");
  cmd->add_option(
      "--checkpoint", o->checkpoint,
      "multi-exit checkpoint (default: the config's checkpoint, else its cached/trained model)");
  cmd->add_option("-o,--out", o->out, "trace directory (default: <cache_dir>/traces)");
  cmd->add_flag("--force", o->force, "recompute traces even when a matching one is cached");
  cmd->add_flag("--dry-run", o->dry_run,
                "print the model and every trace, cached or to compute (with an ETA), and stop");
  (void)g;
  return [o] {
    // Under mpirun every rank runs this: rank 0 checks the config and trains the model, the ranks
    // share the trace shards, rank 0 merges and prints.
    auto& group = work_group();
    if (group.size() > 1)
      group.on_root("config", [&] {
        pipeline::load_experiment(o->config, o->sets);
        return std::string();
      });
    const auto cfg = pipeline::load_experiment(o->config, o->sets);
    if (o->dry_run && group.rank() != 0) return;
    if (o->dry_run) {
      auto m = pipeline::plan_model(cfg);
      if (!o->checkpoint.empty()) {
        m.checkpoint = o->checkpoint;
        m.state = pipeline::JobState::kGiven;
      }
      auto traces = pipeline::plan_traces(cfg, m, o->out);
      if (o->force) {
        auto m2 = m;
        m2.state = pipeline::JobState::kCompute;  // every trace recomputed: estimate them all
        const auto est = pipeline::plan_traces(cfg, m2, o->out);
        for (std::size_t i = 0; i < traces.size(); ++i) {
          traces[i].state = pipeline::JobState::kCompute;
          traces[i].eta = est[i].eta;
        }
      }
      std::printf("%s\n%s", pipeline::format_model_job(m).c_str(),
                  pipeline::format_trace_jobs(traces).c_str());
      return;
    }
    const std::filesystem::path ck = group.on_root("model", [&] {
      if (!o->checkpoint.empty()) return o->checkpoint;
      return train::ensure_model(pipeline::make_train_job(cfg)).string();  // cfg.checkpoint first
    });
    auto req = pipeline::make_trace_request(cfg, ck);
    if (!o->out.empty()) req.trace_dir = o->out;
    req.force = o->force;
    const auto arts = tracegen::ensure_traces(req, group);
    if (group.rank() != 0) return;
    std::printf("%-28s %-7s %-10s %s\n", "trace", "cached", "img/s",
                "per-exit accuracy %  ->  directory");
    for (const auto& a : arts) {
      std::string acc;
      char buf[16];
      for (double v : a.exit_accuracy) {
        std::snprintf(buf, sizeof buf, "%5.1f ", v);
        acc += buf;
      }
      std::printf("%-28s %-7s %-10.0f %s -> %s\n", a.name.c_str(), a.reused ? "yes" : "no",
                  a.images_per_s, acc.c_str(), a.directory.string().c_str());
    }
  };
}
}  // namespace isplitee::app
