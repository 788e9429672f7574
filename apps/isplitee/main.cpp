// isplitee: command-line experiment runner for split computing with early exits.
// main() only wires subcommands and maps failures to exit codes (DESIGN.md style rule 4):
//   0 ok, 1 internal error, 2 usage/config error, 3 bad data, 4 I/O error.

#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

#include <c10/util/Exception.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <torch/version.h>
#include <CLI/CLI.hpp>
#include <opencv2/core/version.hpp>

#include "commands.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/progress.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/version.hpp"

namespace {

std::string version_text() {
  return std::string("isplitee ") + isplitee::kVersion + " (git " + isplitee::kGitHash +
         ", LibTorch " + TORCH_VERSION + ", OpenCV " + CV_VERSION + ")";
}

void setup_logging(const std::string& level) {
  auto logger = spdlog::get("isplitee");
  if (!logger) {
    logger = spdlog::stderr_color_mt("isplitee");
    logger->set_pattern("%^[%l]%$ %v");
  }
  logger->set_level(spdlog::level::from_str(level));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"isplitee: split computing with early exits (I-SplitEE and relatives)"};
  app.require_subcommand(1);
  app.set_version_flag("--version", version_text());
  isplitee::app::GlobalOptions g;
  app.add_option("--log-level", g.log_level, "log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--threads", g.threads, "LibTorch intra-op threads (0 = all cores)")
      ->check(CLI::Range(0, 1024))
      ->capture_default_str();
  app.add_flag("-q,--quiet", g.quiet, "no progress bars");

  using isplitee::app::Action;
  const std::vector<std::pair<std::string, Action>> commands = {
      {"run", isplitee::app::add_run_command(app, g)},
      {"train", isplitee::app::add_train_command(app, g)},
      {"trace", isplitee::app::add_trace_command(app, g)},
      {"replay", isplitee::app::add_replay_command(app, g)},
      {"report", isplitee::app::add_report_command(app, g)},
      {"distort", isplitee::app::add_distort_command(app, g)},
      {"profile", isplitee::app::add_profile_command(app, g)},
      {"list", isplitee::app::add_list_command(app, g)},
  };

  try {
    try {
      app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
      const int rc = app.exit(e);  // prints help/version or the usage error
      return rc == 0 ? 0 : static_cast<int>(isplitee::ErrorCode::kUsage);
    }
    setup_logging(g.log_level);
    isplitee::set_progress_enabled(!g.quiet);
    isplitee::model::configure_runtime(g.threads);
    for (const auto& [name, action] : commands)
      if (app.got_subcommand(name)) action();
  } catch (const isplitee::Error& e) {
    std::fprintf(stderr, "isplitee: error: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "isplitee: torch error: %s\n", e.what_without_backtrace());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "isplitee: internal error: %s\n", e.what());
    return 1;
  }
  return 0;
}
