// isplitee: command-line experiment runner for split computing with early exits.
// main() only wires subcommands and maps failures to exit codes (docs/architecture.md):
//   0 ok, 1 internal error, 2 usage/config error, 3 bad data, 4 I/O error.
// Every failure is one line "isplitee: error: …" on stderr (under mpirun: printed once, by rank 0,
// or naming the rank that failed; parallel.hpp). No LibTorch or OpenCV header here:
// the vision side comes in through vision_hooks.hpp, so this file builds in the light build too.

#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/progress.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/version.hpp"
#include "parallel.hpp"
#include "vision_hooks.hpp"

namespace isplitee::app {

CLI::Validator output_file() {
  return CLI::Validator(
      [](std::string& path) {
        check_output_file(path);  // throws Error(kIo), which main() reports like any other
        return std::string();
      },
      "FILE", "output file");
}

}  // namespace isplitee::app

namespace {

std::string version_text() {
  return std::string("isplitee ") + isplitee::kVersion + " (git " + isplitee::kGitHash +
         isplitee::app::vision_versions() + ")";
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::get("isplitee");
  const auto& group = isplitee::app::work_group();
  if (!logger) {
    logger = spdlog::stderr_color_mt("isplitee");
    logger->set_pattern(group.size() > 1 ? "%^[%l]%$ [rank " + std::to_string(group.rank()) + "] %v"
                                         : std::string("%^[%l]%$ %v"));
  }
  auto lvl = spdlog::level::from_str(level);
  // In an MPI job rank 0 tells the story; the others only warn (or debug when asked).
  if (group.rank() != 0 && lvl == spdlog::level::info) lvl = spdlog::level::warn;
  logger->set_level(lvl);
}

/// The command line after argv[0], with `help [COMMAND]` rewritten to `[COMMAND] --help`. Throws
/// Error(kUsage) "unknown subcommand 'lst'; did you mean 'list'?" when the first word that is
/// not a global option names no subcommand (CLI11 would only say "A subcommand is required").
std::vector<std::string> checked_arguments(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::vector<std::string> names;
  for (const auto* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    names.push_back(sub->get_name());
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") break;
    if (a.size() > 1 && a[0] == '-') {
      // A global option: skip its value when it takes one and it is not given as --opt=value.
      const auto eq = a.find('=');
      const auto* opt = app.get_option_no_throw(a.substr(0, eq));
      if (opt != nullptr && eq == std::string::npos && opt->get_items_expected_max() > 0) ++i;
      continue;
    }
    if (std::find(names.begin(), names.end(), a) != names.end()) return args;
    if (a == "help") {
      args.erase(args.begin() + static_cast<std::ptrdiff_t>(i));
      args.emplace_back("--help");  // `help replay` = `replay --help`
      return args;
    }
    const std::string near = isplitee::nearest_word(a, names);
    isplitee::fail(isplitee::ErrorCode::kUsage, "unknown subcommand '", a, "'",
                   near.empty() ? " (valid: " + isplitee::join(names, ", ") + ")"
                                : "; did you mean '" + near + "'?");
  }
  return args;
}

/// CLI11's message on one line (some span two), with a pointer to the help.
std::string one_line(const CLI::ParseError& e) {
  std::string msg = e.what();
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  while (!msg.empty() && msg.back() == ' ') msg.pop_back();
  return msg + " (see isplitee --help)";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace isplitee::app;
  const ParallelScope parallel(&argc, &argv);  // MPI_Init under mpirun/srun (built with MPI)
  CLI::App app{"isplitee: split computing with early exits (I-SplitEE and relatives)", "isplitee"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_text());
  // Subcommands hand options they do not know to this app, so the global options below also work
  // after the subcommand (`isplitee replay … --threads 1 -q`).
  app.fallthrough();
  GlobalOptions g;
  app.add_option("--log-level", g.log_level, "log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--threads", g.threads,
                 "threads: LibTorch intra-op threads, and the replay's (0 = all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_flag("-q,--quiet", g.quiet, "no progress bars");

  CommandList commands = add_vision_commands(app, g);
  commands.emplace_back("replay", add_replay_command(app, g));
  commands.emplace_back("report", add_report_command(app, g));
  commands.emplace_back("list", add_list_command(app, g));
  commands.emplace_back("config", add_config_command(app, g));
  commands.emplace_back("completion", add_completion_command(app, g));  // last: sees the others

  bool parsing = true;  // a command-line error is the same on every rank: printed once, no abort
  try {
    auto args = checked_arguments(app, argc, argv);
    std::reverse(args.begin(), args.end());  // CLI11 takes the vector back to front
    try {
      app.parse(args);
    } catch (const CLI::ParseError& e) {
      if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
      return report_failure(one_line(e), static_cast<int>(isplitee::ErrorCode::kUsage), true);
    }
    setup_logging(g.log_level);
    isplitee::set_progress_enabled(!g.quiet && work_group().rank() == 0);
    configure_vision_runtime(g);
    parsing = false;
    for (const auto& [name, action] : commands) {
      if (!app.got_subcommand(name)) continue;
      // Only run and trace spread over the ranks of mpirun/srun; any other command runs once.
      if (work_group().size() > 1 && name != "run" && name != "trace") {
        if (work_group().rank() != 0) continue;
        spdlog::get("isplitee")
            ->warn("`isplitee {}` does not spread over MPI ranks: rank 0 runs it", name);
      }
      action();
    }
  } catch (const isplitee::Error& e) {
    return report_failure(e.what(), static_cast<int>(e.code()),
                          parsing || dynamic_cast<const isplitee::GroupError*>(&e) != nullptr);
  } catch (const std::exception& e) {
    const std::string vision = describe_vision_error(e);
    if (work_group().size() > 1)
      return report_failure(vision.empty() ? std::string("internal error: ") + e.what() : vision, 1,
                            false);
    if (!vision.empty()) {
      std::fprintf(stderr, "isplitee: %s\n", vision.c_str());
      return 1;
    }
    std::fprintf(stderr, "isplitee: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
