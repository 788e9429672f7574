#include "isplitee/model/profile.hpp"

#include <cstdio>
#include <sstream>

namespace isplitee::model {
namespace {

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

std::string bytes_text(std::int64_t b) {
  char buf[32];
  if (b >= (1 << 20))
    std::snprintf(buf, sizeof buf, "%.2f MiB", static_cast<double>(b) / (1 << 20));
  else if (b >= 1024)
    std::snprintf(buf, sizeof buf, "%.1f KiB", static_cast<double>(b) / 1024);
  else
    std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(b));
  return buf;
}

}  // namespace

std::vector<trace::ExitInfo> to_exit_infos(const ModelProfile& p) {
  std::vector<trace::ExitInfo> out;
  for (const auto& e : p.exits) {
    trace::ExitInfo i;
    i.depth_blocks = static_cast<double>(e.depth_blocks);
    i.macs_millions = static_cast<double>(e.edge_macs) / 1e6;
    i.activation_bytes = e.activation_bytes_fp32;
    i.activation_shape = e.activation_shape;
    out.push_back(i);
  }
  return out;
}

nlohmann::json to_json(const ModelProfile& p) {
  nlohmann::json exits = nlohmann::json::array();
  for (std::size_t k = 0; k < p.exits.size(); ++k) {
    const auto& e = p.exits[k];
    nlohmann::json j = {{"exit", k + 1},
                        {"depth_blocks", e.depth_blocks},
                        {"channels", e.channels},
                        {"backbone_macs", e.backbone_macs},
                        {"head_macs", e.head_macs},
                        {"edge_macs", e.edge_macs},
                        {"edge_params", e.edge_params},
                        {"activation_shape", e.activation_shape},
                        {"activation_bytes_fp32", e.activation_bytes_fp32},
                        {"activation_bytes_fp16", e.activation_bytes_fp16},
                        {"activation_bytes_int8", e.activation_bytes_int8}};
    if (p.latency_batch > 0) {
      j["stage_ms_batch1"] = e.stage_ms_batch1;
      j["head_ms_batch1"] = e.head_ms_batch1;
      j["stage_ms_batchn"] = e.stage_ms_batchn;
      j["head_ms_batchn"] = e.head_ms_batchn;
    }
    exits.push_back(j);
  }
  nlohmann::json j = {{"arch", p.arch},
                      {"input_channels", p.input_channels},
                      {"input_size", p.input_size},
                      {"num_classes", p.num_classes},
                      {"total_blocks", p.total_blocks},
                      {"num_exits", p.exits.size()},
                      {"backbone_macs", p.backbone_macs},
                      {"total_macs", p.total_macs},
                      {"total_params", p.total_params},
                      {"plain_params", p.plain_params},
                      {"exits", exits}};
  if (p.latency_batch > 0)
    j["latency"] = {{"batch", p.latency_batch},
                    {"threads", p.latency_threads},
                    {"batchnorm_folded", p.latency_folded},
                    {"channels_last", p.latency_channels_last},
                    {"engine", p.latency_engine},
                    {"statistic", "median"}};
  return j;
}

std::string format_profile_table(const ModelProfile& p) {
  std::ostringstream os;
  char line[256];
  std::snprintf(
      line, sizeof line,
      "%s  input %lldx%lldx%lld  classes %lld  blocks %lld  exits %zu\n"
      "plain network %.2f MMACs, %.3f M params; with all exit heads %.2f MMACs, %.3f M params\n",
      p.arch.c_str(), static_cast<long long>(p.input_channels),
      static_cast<long long>(p.input_size), static_cast<long long>(p.input_size),
      static_cast<long long>(p.num_classes), static_cast<long long>(p.total_blocks), p.exits.size(),
      static_cast<double>(p.backbone_macs) / 1e6, static_cast<double>(p.plain_params) / 1e6,
      static_cast<double>(p.total_macs) / 1e6, static_cast<double>(p.total_params) / 1e6);
  os << line;
  const bool lat = p.latency_batch > 0;
  std::snprintf(line, sizeof line, "%4s %6s %12s %11s %10s %12s %11s %11s %10s", "exit", "blocks",
                "edge MMACs", "head MMACs", "edge Mpar", "activation", "fp32", "fp16", "int8");
  os << line;
  if (lat) {
    std::snprintf(line, sizeof line, " %10s %10s %10s %10s", "stage b1", "head b1",
                  ("stage b" + std::to_string(p.latency_batch)).c_str(),
                  ("head b" + std::to_string(p.latency_batch)).c_str());
    os << line;
  }
  os << "\n";
  for (std::size_t k = 0; k < p.exits.size(); ++k) {
    const auto& e = p.exits[k];
    std::snprintf(
        line, sizeof line, "%4zu %6lld %12.2f %11.3f %10.3f %12s %11s %11s %10s", k + 1,
        static_cast<long long>(e.depth_blocks), static_cast<double>(e.edge_macs) / 1e6,
        static_cast<double>(e.head_macs) / 1e6, static_cast<double>(e.edge_params) / 1e6,
        shape_text(e.activation_shape).c_str(), bytes_text(e.activation_bytes_fp32).c_str(),
        bytes_text(e.activation_bytes_fp16).c_str(), bytes_text(e.activation_bytes_int8).c_str());
    os << line;
    if (lat) {
      std::snprintf(line, sizeof line, " %8.3fms %8.3fms %8.3fms %8.3fms", e.stage_ms_batch1,
                    e.head_ms_batch1, e.stage_ms_batchn, e.head_ms_batchn);
      os << line;
    }
    os << "\n";
  }
  if (lat) {
    std::snprintf(line, sizeof line, "latency: median, %d thread(s), BatchNorm %s, ",
                  p.latency_threads, p.latency_folded ? "folded" : "not folded");
    os << line << (p.latency_engine.empty() ? "LibTorch" : p.latency_engine) << "\n";
  }
  return os.str();
}

}  // namespace isplitee::model
