#pragma once
/// \file Streams: the order in which samples reach the learner. Per repeat a seeded permutation of
/// each trace; schedules of segments (abrupt changes), ramps (severity rising step by step) and
/// cycles.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"

namespace isplitee::stream {

/// One segment of a schedule: `length` samples from trace `trace` (0 = the whole trace once).
struct SegmentSpec {
  std::string trace;
  std::size_t length = 0;
};

/// A named schedule: its segments played in order, the whole sequence `cycles` times.
struct ScheduleSpec {
  std::string name;
  std::vector<SegmentSpec> segments;
  std::size_t cycles = 1;
};

/// The "streams" section. By default each trace is one stream (`per_trace`), optionally capped or
/// cycled to `length` samples; `schedules` add streams made of segments.
struct StreamsConfig {
  bool per_trace = true;
  std::size_t length = 0;  ///< per-trace stream length (0 = the trace's length)
  std::vector<ScheduleSpec> schedules;
};

/// Parses "streams": {"per_trace", "length", "schedules": [{"name", "segments": [{"trace",
/// "length"}] | "ramp": {"traces": [...] | "distortion" + "severities", "length"}, "cycles"}]};
/// calls finish().
StreamsConfig parse_streams_config(const config::Node& node);
/// Every field with defaults filled (ramps appear expanded into segments).
nlohmann::json to_json(const StreamsConfig& c);

/// A resolved segment: trace index into the experiment's trace list.
struct Segment {
  std::size_t trace = 0;
  std::size_t length = 0;  ///< 0 = the whole trace
};

/// A resolved stream definition.
struct StreamDef {
  std::string name;
  std::vector<Segment> segments;
};

/// Resolves the config against the trace names (callable before traces exist). A schedule naming a
/// missing trace throws "schedule 'drift' segment 2: unknown trace 'blur@9' (available: …)".
std::vector<StreamDef> resolve_streams(const StreamsConfig& c,
                                       const std::vector<std::string>& trace_names);

/// A materialised stream for one repeat: global sample indices (trace offset + row) and the
/// ground-truth segment of every step.
struct Stream {
  std::vector<std::uint32_t> samples;      ///< global sample index per step
  std::vector<std::uint32_t> segment;      ///< segment index per step
  std::vector<std::size_t> segment_start;  ///< first step of each segment
  std::vector<std::size_t> segment_trace;  ///< trace index of each segment
  std::size_t size() const noexcept { return samples.size(); }
};

/// Builds the stream of `def` for `repeat`: each trace is consumed along its own permutation drawn
/// from Rng(seed, {repeat, trace name hash, pass}); when exhausted a fresh permutation starts
/// (cycling). The result depends only on (def, sizes, names, seed, repeat), never on threads or
/// order.
Stream build_stream(const StreamDef& def, const std::vector<std::size_t>& trace_sizes,
                    const std::vector<std::size_t>& trace_offsets,
                    const std::vector<std::string>& trace_names, std::uint64_t seed,
                    std::size_t repeat);

/// FNV-1a 64-bit hash of a name (seeds derived from names do not depend on list order).
std::uint64_t name_hash(const std::string& s) noexcept;

}  // namespace isplitee::stream
