// isplitee run --config FILE [--set k=v]… [--sweep k=v1,v2]… [--output DIR] [--force] [--retrace]
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/pipeline/run.hpp"

namespace isplitee::app {

Action add_run_command(CLI::App& app, const GlobalOptions&) {
  struct Options {
    std::string config;
    std::vector<std::string> sets, sweeps;
    std::string output;
    bool force = false, retrace = false;
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
  return [o] {
    auto doc = config::Document::load(o->config);
    doc.apply_overrides(o->sets);
    pipeline::RunOptions ro;
    ro.force = o->force;
    ro.retrace = o->retrace;
    ro.output_dir = o->output;
    ro.sweeps = o->sweeps;
    const auto out = pipeline::run(doc, ro);
    std::printf("\n%s\n", report::render_terminal_table(out.report).c_str());
    std::printf("report: %s\n", (out.run_dir / "report.md").c_str());
    std::printf("run directory: %s (%zu files)\n", out.run_dir.c_str(), out.files.size());
  };
}

}  // namespace isplitee::app
