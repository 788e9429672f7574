#pragma once
/// \file The "trace" section of an experiment config: which split to run the trained network over,
/// under which distortions (docs/architecture.md).

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"
#include "isplitee/distort/spec.hpp"

namespace isplitee::tracegen {

/// How traces are generated. One trace per entry of `distortions`.
struct TraceConfig {
  std::string split = "test";  ///< "train" | "val" | "test"
  std::int64_t batch_size = 256;
  std::int64_t max_samples = 0;  ///< 0 = the whole split, else its first N samples
  std::vector<distort::DistortionSpec> distortions{
      distort::DistortionSpec{}};  ///< default: pristine
  bool save_logits = false;        ///< also store logits.npy (N × K × C)
  bool fold_batchnorm = true;      ///< fold BatchNorm into convolutions for inference
  std::int64_t workers = 2;        ///< threads that decode and distort images
};

/// Parses the "trace" section (strict; distortion entries via distort::parse_distortion_spec).
/// Two distortions with the same label are an error (their traces would collide).
TraceConfig parse_trace_config(const config::Node& node);

/// Every field with defaults filled; parse_trace_config(to_json(c)) == c.
nlohmann::json to_json(const TraceConfig& c);

/// The trace names ensure_traces() will produce, in order (distort::label of each distortion), so
/// that stream schedules can be validated before any expensive work.
std::vector<std::string> planned_trace_names(const TraceConfig& c);

}  // namespace isplitee::tracegen
