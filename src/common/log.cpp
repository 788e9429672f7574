#include "isplitee/common/log.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>

namespace isplitee {

std::shared_ptr<spdlog::logger> logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    if (auto existing = spdlog::get("isplitee")) return existing;
    auto l = spdlog::stderr_color_mt("isplitee");
    l->set_pattern("%^[%l]%$ %v");
    return l;
  }();
  return instance;
}

}  // namespace isplitee
