// The light build's stand-ins for the vision side of the CLI (-DISPLITEE_BUILD_VISION=OFF): the
// subcommands that need LibTorch or OpenCV still exist, take any arguments, and fail with one line
// that says how to get them.
#include <memory>

#include "isplitee/common/error.hpp"
#include "vision_hooks.hpp"

namespace isplitee::app {
namespace {

Action add_unavailable(CLI::App& app, const std::string& name, const std::string& what) {
  auto* cmd = app.add_subcommand(name, what + " (needs a build with vision)");
  // Whatever follows belongs to the missing command: accept it, then refuse the command itself.
  cmd->fallthrough(false);
  cmd->prefix_command();
  cmd->set_help_flag();
  return [name] {
    fail(ErrorCode::kUsage, name,
         ": isplitee was built without vision (LibTorch/OpenCV); rebuild with "
         "-DISPLITEE_BUILD_VISION=ON");
  };
}

}  // namespace

std::string vision_versions() { return ", built without vision (LibTorch/OpenCV)"; }

CommandList add_vision_commands(CLI::App& app, const GlobalOptions&) {
  return {
      {"run", add_unavailable(app, "run",
                              "Run an experiment end to end: model, traces, streams, policies, "
                              "report")},
      {"train", add_unavailable(app, "train", "train the multi-exit network of a config")},
      {"trace", add_unavailable(app, "trace",
                                "run a checkpoint over a dataset split under every distortion")},
      {"distort", add_unavailable(app, "distort", "apply a distortion to an image")},
      {"profile", add_unavailable(app, "profile", "per-exit cost profile of a network")},
      {"serve", add_unavailable(app, "serve", "the cloud of live split computing over gRPC")},
  };
}

void configure_vision_runtime(const GlobalOptions&) {}

std::string describe_vision_error(const std::exception&) { return ""; }

}  // namespace isplitee::app
