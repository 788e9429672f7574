#pragma once
/// \file The library logs only to the "isplitee" spdlog logger; apps configure sinks and levels.

#include <memory>

#include <spdlog/spdlog.h>

namespace isplitee {

/// The library's logger (created on first use with spdlog's default sink when the app made none).
std::shared_ptr<spdlog::logger> logger();

}  // namespace isplitee
