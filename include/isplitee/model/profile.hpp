#pragma once
/// \file The cost profile of a multi-exit network: per exit, depth, MACs, parameters and the
/// activation that would be sent when splitting there (docs/method.md §1–2, §6 split-point bytes).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/trace/trace.hpp"

namespace isplitee::model {

/// One exit k (1-based), i.e. the split point after stage k.
struct ExitProfile {
  std::int64_t depth_blocks = 0;   ///< l_k: backbone blocks run on the edge (stem included)
  std::int64_t channels = 0;       ///< channels of the activation the head reads
  std::int64_t backbone_macs = 0;  ///< cumulative backbone MACs through block l_k (batch 1)
  std::int64_t head_macs = 0;      ///< MACs of this exit's head alone
  std::int64_t edge_macs = 0;      ///< backbone_macs + heads 1..k (what the edge computes)
  std::int64_t edge_params = 0;    ///< parameters of blocks 1..l_k and heads 1..k
  std::vector<std::int64_t> activation_shape;  ///< C, H, W at the split
  std::int64_t activation_bytes_fp32 = 0;
  std::int64_t activation_bytes_fp16 = 0;
  std::int64_t activation_bytes_int8 = 0;
  /// Measured medians in milliseconds (0 when not measured, see measure_latency()):
  double stage_ms_batch1 = 0;  ///< backbone stage k alone, batch 1
  double head_ms_batch1 = 0;   ///< exit head k alone, batch 1
  double stage_ms_batchn = 0;  ///< backbone stage k alone, batch `latency_batch`
  double head_ms_batchn = 0;   ///< exit head k alone, batch `latency_batch`
};

/// The profile of a whole network (input 1 × C × S × S).
struct ModelProfile {
  std::string arch;
  std::int64_t input_channels = 0;
  std::int64_t input_size = 0;
  std::int64_t num_classes = 0;
  std::int64_t total_blocks = 0;   ///< B
  std::int64_t backbone_macs = 0;  ///< plain network: all blocks + the final classifier
  std::int64_t total_macs = 0;     ///< all blocks + every exit head
  std::int64_t total_params = 0;
  std::int64_t plain_params = 0;       ///< backbone + final classifier (no exit heads)
  std::vector<ExitProfile> exits;      ///< K entries; exits.back() is the final classifier
  std::int64_t latency_batch = 0;      ///< the N of *_ms_batchn (0 when not measured)
  int latency_threads = 0;             ///< LibTorch threads used for the measurement
  bool latency_folded = false;         ///< measured with BatchNorm folded into convolutions
  bool latency_channels_last = false;  ///< measured with channels-last activations
  std::string latency_engine;  ///< MultiExitNetImpl::inference_engine() during the measurement
};

/// Converts to the trace manifest's per-exit info (depth in blocks, edge MACs in millions,
/// float32 activation bytes and shape).
std::vector<trace::ExitInfo> to_exit_infos(const ModelProfile& p);

/// Full JSON of a profile (every field).
nlohmann::json to_json(const ModelProfile& p);

/// A fixed-width text table of a profile (one row per exit), for `isplitee profile`.
std::string format_profile_table(const ModelProfile& p);

}  // namespace isplitee::model
