// isplitee config show FILE [--set k=v]…: the resolved configuration, every default filled in,
// exactly as a run writes it to config.resolved.json. Needs no model, data or LibTorch.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/pipeline/experiment_config.hpp"

namespace isplitee::app {

Action add_config_command(CLI::App& app, const GlobalOptions&) {
  struct Options {
    std::string file;
    std::vector<std::string> sets;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand("config",
                                 "Inspect experiment configs (`isplitee list configs` "
                                 "lists the ones in configs/)");
  cmd->require_subcommand(1);
  auto* show = cmd->add_subcommand(
      "show",
      "print the resolved config (every default filled in, as config.resolved.json of a run)");
  show->add_option("file", o->file, "experiment config (JSON)")->required();
  show->add_option("--set", o->sets, "override a config value: a.b.c=value (repeatable)");
  return [o] {
    auto doc = config::Document::load(o->file);
    doc.apply_overrides(o->sets);
    const auto cfg = pipeline::parse_experiment(doc);
    std::printf("%s\n", pipeline::resolved_json(cfg).dump(2).c_str());
  };
}

}  // namespace isplitee::app
