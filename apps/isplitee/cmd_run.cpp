// isplitee run --config FILE [--set k=v]… [--sweep k=v1,v2]… [--output DIR] [--force] [--retrace]
// [--resume]
// [--dry-run]
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/pipeline/plan.hpp"
#include "isplitee/pipeline/run.hpp"
#include "parallel.hpp"

namespace isplitee::app {

Action add_run_command(CLI::App& app, const GlobalOptions&) {
  struct Options {
    std::string config;
    std::vector<std::string> sets, sweeps;
    std::string output;
    bool force = false, retrace = false, dry_run = false, resume = false;
    std::size_t stop_after_points = 0;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "run", "Run an experiment end to end: model, traces, streams, policies, report");
  cmd->add_option("-c,--config", o->config, "experiment config (JSON)")->required();
  cmd->add_option("--set", o->sets, "override a config key: a.b.c=value (repeatable)");
  cmd->add_option("--sweep", o->sweeps,
                  "sweep a key over values: cost.offload=0.1,0.3,0.5 (repeatable: a grid)");
  cmd->add_option("-o,--output", o->output,
                  "run directory (default: config output_dir or runs/<name>-<time>)");
  cmd->add_flag("--force", o->force, "overwrite an existing run directory");
  cmd->add_flag("--retrace", o->retrace, "recompute the traces even when cached");
  cmd->add_flag("--resume", o->resume,
                "continue an interrupted run in --output DIR (same config and sweep): reuses the "
                "model, traces and finished sweep points");
  cmd->add_option("--stop-after-points", o->stop_after_points,
                  "testing: stop after N replay points as if interrupted")
      ->group("");  // hidden
  cmd->add_flag("--dry-run", o->dry_run,
                "print the plan (model and traces cached or to compute, replay cells, ETA) and "
                "stop without training, tracing or writing anything");
  return [o] {
    // Under mpirun every rank runs this; a bad config fails once, on rank 0 (then nowhere else).
    auto& group = work_group();
    if (group.size() > 1)
      group.on_root("config", [&] {
        config::Document::load(o->config).apply_overrides(o->sets);
        return std::string();
      });
    auto doc = config::Document::load(o->config);
    doc.apply_overrides(o->sets);
    pipeline::RunOptions ro;
    ro.force = o->force;
    ro.retrace = o->retrace;
    ro.output_dir = o->output;
    ro.sweeps = o->sweeps;
    ro.resume = o->resume;
    ro.stop_after_points = o->stop_after_points;
    if (o->dry_run) {
      if (group.rank() == 0)
        std::printf("%s", pipeline::format_plan(pipeline::plan_run(doc, ro)).c_str());
      return;
    }
    const auto out = pipeline::run(doc, ro, group);
    if (group.rank() != 0) return;  // rank 0 wrote the run directory
    std::printf("\n%s\n", report::render_terminal_table(out.report).c_str());
    std::printf("report: %s\n", (out.run_dir / "report.md").c_str());
    std::printf("run directory: %s (%zu files)\n", out.run_dir.c_str(), out.files.size());
  };
}

}  // namespace isplitee::app
