#pragma once
// The isplitee CLI: one file per subcommand (thin: parse options, call the library, print).

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

namespace isplitee::app {

/// Options shared by every subcommand.
struct GlobalOptions {
  std::string log_level = "info";
  int threads = 0;  ///< 0 = all cores
  bool quiet = false;
};

/// What a subcommand does once the command line is parsed (options are bound by then).
using Action = std::function<void()>;

/// Subcommands by name, in `isplitee --help` order.
using CommandList = std::vector<std::pair<std::string, Action>>;

/// A CLI11 check for an option naming an output file: runs isplitee::check_output_file while the
/// command line is parsed, so a directory or a missing parent fails before any work starts.
CLI::Validator output_file();

// Each registers its subcommand (named as the function) on `app` and returns its action.
Action add_replay_command(CLI::App& app, const GlobalOptions& g);
Action add_report_command(CLI::App& app, const GlobalOptions& g);
Action add_list_command(CLI::App& app, const GlobalOptions& g);
Action add_config_command(CLI::App& app, const GlobalOptions& g);
/// Registered last: it walks every other subcommand of `app`.
Action add_completion_command(CLI::App& app, const GlobalOptions& g);

// Subcommands that need isplitee::vision (LibTorch/OpenCV); vision_hooks.cpp only.
Action add_run_command(CLI::App& app, const GlobalOptions& g);
Action add_train_command(CLI::App& app, const GlobalOptions& g);
Action add_trace_command(CLI::App& app, const GlobalOptions& g);
Action add_distort_command(CLI::App& app, const GlobalOptions& g);
Action add_profile_command(CLI::App& app, const GlobalOptions& g);
Action add_serve_command(CLI::App& app, const GlobalOptions& g);

}  // namespace isplitee::app
