#pragma once
// What main() needs from the vision side, so that main.cpp and the core commands include no
// LibTorch or OpenCV header. vision_hooks.cpp implements these with vision; light_hooks.cpp for
// the light build (-DISPLITEE_BUILD_VISION=OFF).

#include <exception>
#include <string>

#include "commands.hpp"

namespace isplitee::app {

/// The library versions for `--version`: ", LibTorch 1.13.1, OpenCV 4.6.0" or a note that vision
/// is not built.
std::string vision_versions();

/// Registers run, train, trace, distort and profile. Without vision each still exists and fails
/// with one line saying how to rebuild.
CommandList add_vision_commands(CLI::App& app, const GlobalOptions& g);

/// Applies the global options to LibTorch and its BLAS (`--threads`) and installs the network
/// transport of live runs (gRPC, when built); nothing without vision.
void configure_vision_runtime(const GlobalOptions& g);

/// A one-line message for an exception thrown by LibTorch, or "" when `e` is not one.
std::string describe_vision_error(const std::exception& e);

}  // namespace isplitee::app
