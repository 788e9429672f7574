// isplitee report RUN_DIR [--no-plots]: re-renders tables and plots from report.json.
#include <cstdio>
#include <memory>

#include "commands.hpp"
#include "isplitee/common/atomic_file.hpp"
#include "isplitee/report/report.hpp"

namespace isplitee::app {

Action add_report_command(CLI::App& app, const GlobalOptions&) {
  struct Options {
    std::string dir;
    bool no_plots = false;
    bool print = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "report",
      "Re-render report.md, summary.csv and plots of a run directory from its report.json");
  cmd->add_option("run_dir", o->dir, "run directory written by `isplitee run`")->required();
  cmd->add_flag("--no-plots", o->no_plots, "skip the plots");
  cmd->add_flag("--print", o->print, "also print report.md");
  return [o] {
    const auto rep = report::read_run_report(o->dir);
    const auto files = report::write_report_files(o->dir, rep, !o->no_plots);
    if (o->print)  // the report.md just written, with its plots section as written
      std::printf("%s\n", read_text_file(std::filesystem::path(o->dir) / "report.md").c_str());
    std::printf("%s\n", report::render_terminal_table(rep).c_str());
    std::printf("re-rendered %zu files in %s\n", files.size(), o->dir.c_str());
  };
}

}  // namespace isplitee::app
