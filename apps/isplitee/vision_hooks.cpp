// The vision side of the CLI (built only with -DISPLITEE_BUILD_VISION=ON): the subcommands that
// train, trace, distort and profile, LibTorch's runtime settings and error type, and the library
// versions.
#include "vision_hooks.hpp"

#include <c10/util/Exception.h>
#include <torch/version.h>
#include <opencv2/core/version.hpp>

#include "isplitee/model/runtime.hpp"
#if ISPLITEE_WITH_GRPC
#include "isplitee/grpc/rpc.hpp"
#endif

namespace isplitee::app {

std::string vision_versions() {
  return std::string(", LibTorch ") + TORCH_VERSION + ", OpenCV " + CV_VERSION;
}

CommandList add_vision_commands(CLI::App& app, const GlobalOptions& g) {
  return {
      {"run", add_run_command(app, g)},         {"train", add_train_command(app, g)},
      {"trace", add_trace_command(app, g)},     {"distort", add_distort_command(app, g)},
      {"profile", add_profile_command(app, g)}, {"serve", add_serve_command(app, g)},
  };
}

void configure_vision_runtime(const GlobalOptions& g) {
  model::configure_runtime(g.threads);
#if ISPLITEE_WITH_GRPC
  rpc::install_transport();  // live runs reach `isplitee serve` (and embed one) over gRPC
#endif
}

std::string describe_vision_error(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e))
    return std::string("torch error: ") + c10->what_without_backtrace();
  return "";
}

}  // namespace isplitee::app
