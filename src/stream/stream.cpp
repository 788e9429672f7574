#include "isplitee/stream/stream.hpp"

#include <numeric>

#include "isplitee/common/error.hpp"
#include "isplitee/common/rng.hpp"
#include "isplitee/common/text.hpp"

namespace isplitee::stream {

std::uint64_t name_hash(const std::string& s) noexcept {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

StreamsConfig parse_streams_config(const config::Node& node) {
  StreamsConfig c;
  c.per_trace = node.boolean("per_trace", c.per_trace);
  c.length = static_cast<std::size_t>(node.integer("length", 0, 0, 4'000'000'000LL));
  for (const auto& s : node.objects("schedules")) {
    ScheduleSpec sc;
    sc.name = s.string_required("name");
    ISPLITEE_CHECK(!sc.name.empty(), s.source(), ": ", s.path_of("name"), ": must not be empty");
    for (const auto& prev : c.schedules)
      ISPLITEE_CHECK(prev.name != sc.name, s.source(), ": ", s.path_of("name"),
                     ": duplicate schedule '", sc.name, "'");
    sc.cycles = static_cast<std::size_t>(s.integer("cycles", 1, 1, 1'000'000));
    const bool has_segments = s.has("segments"), has_ramp = s.has("ramp");
    if (has_segments == has_ramp)
      s.fail("", "a schedule needs exactly one of 'segments' or 'ramp'");
    if (has_segments) {
      for (const auto& g : s.objects("segments")) {
        SegmentSpec seg;
        seg.trace = g.string_required("trace");
        seg.length = static_cast<std::size_t>(g.integer("length", 0, 0, 4'000'000'000LL));
        g.finish();
        sc.segments.push_back(seg);
      }
      if (sc.segments.empty()) s.fail("segments", "must list at least one segment");
    } else {
      const auto r = s.object("ramp");
      const auto length = static_cast<std::size_t>(r.integer("length", 0, 0, 4'000'000'000LL));
      std::vector<std::string> traces = r.strings("traces", {});
      if (r.has("distortion")) {
        if (!traces.empty())
          r.fail("traces", "give either 'traces' or 'distortion' + 'severities', not both");
        const auto d = r.string_required("distortion");
        const auto sev = r.integers("severities", {1, 2, 3, 4, 5}, 0, 1000);
        for (auto v : sev) traces.push_back(d + "@" + std::to_string(v));
      }
      if (traces.empty())
        r.fail("traces", "a ramp needs 'traces' or 'distortion' (+ 'severities')");
      r.finish();
      for (const auto& t : traces) sc.segments.push_back({t, length});
    }
    s.finish();
    c.schedules.push_back(std::move(sc));
  }
  node.finish();
  return c;
}

nlohmann::json to_json(const StreamsConfig& c) {
  nlohmann::json sch = nlohmann::json::array();
  for (const auto& s : c.schedules) {
    nlohmann::json segs = nlohmann::json::array();
    for (const auto& g : s.segments) segs.push_back({{"trace", g.trace}, {"length", g.length}});
    sch.push_back({{"name", s.name}, {"segments", segs}, {"cycles", s.cycles}});
  }
  return {{"per_trace", c.per_trace}, {"length", c.length}, {"schedules", sch}};
}

std::vector<StreamDef> resolve_streams(const StreamsConfig& c,
                                       const std::vector<std::string>& trace_names) {
  std::vector<StreamDef> out;
  if (c.per_trace)
    for (std::size_t i = 0; i < trace_names.size(); ++i)
      out.push_back({trace_names[i], {{i, c.length}}});
  for (const auto& s : c.schedules) {
    for (const auto& o : out)
      ISPLITEE_CHECK(o.name != s.name, "schedule '", s.name,
                     "': the name is already used by a trace's stream");
    StreamDef d{s.name, {}};
    std::vector<Segment> once;
    for (std::size_t g = 0; g < s.segments.size(); ++g) {
      const auto& name = s.segments[g].trace;
      std::size_t idx = trace_names.size();
      for (std::size_t i = 0; i < trace_names.size(); ++i)
        if (trace_names[i] == name) idx = i;
      if (idx == trace_names.size()) {
        const auto near = nearest_word(name, trace_names);
        fail(ErrorCode::kUsage, "schedule '", s.name, "' segment ", g + 1, ": unknown trace '",
             name, "'", near.empty() ? "" : " (did you mean '" + near + "'?)",
             " (available: ", join(trace_names, ", "), ")");
      }
      once.push_back({idx, s.segments[g].length});
    }
    for (std::size_t r = 0; r < s.cycles; ++r)
      d.segments.insert(d.segments.end(), once.begin(), once.end());
    out.push_back(std::move(d));
  }
  ISPLITEE_CHECK(!out.empty(),
                 "streams: no stream to run (per_trace is false and no schedules are given)");
  return out;
}

Stream build_stream(const StreamDef& def, const std::vector<std::size_t>& trace_sizes,
                    const std::vector<std::size_t>& trace_offsets,
                    const std::vector<std::string>& trace_names, std::uint64_t seed,
                    std::size_t repeat) {
  // Each trace keeps its own permutation cursor so that a trace revisited by a later segment
  // (cycles) continues where it stopped and no sample repeats before the trace is exhausted.
  struct Cursor {
    std::vector<std::uint32_t> perm;
    std::size_t pos = 0;
    std::uint64_t pass = 0;
  };
  std::vector<Cursor> cursors(trace_sizes.size());
  Stream s;
  std::size_t total = 0;
  for (const auto& g : def.segments) total += g.length ? g.length : trace_sizes.at(g.trace);
  s.samples.reserve(total);
  s.segment.reserve(total);
  for (std::size_t gi = 0; gi < def.segments.size(); ++gi) {
    const auto& g = def.segments[gi];
    const std::size_t n = trace_sizes.at(g.trace);
    ISPLITEE_CHECK_CODE(n > 0, ErrorCode::kData, "stream '", def.name, "': trace '",
                        trace_names.at(g.trace), "' is empty");
    const std::size_t len = g.length ? g.length : n;
    s.segment_start.push_back(s.samples.size());
    s.segment_trace.push_back(g.trace);
    auto& c = cursors[g.trace];
    for (std::size_t step = 0; step < len; ++step) {
      if (c.pos == c.perm.size()) {
        c.perm.resize(n);
        std::iota(c.perm.begin(), c.perm.end(), 0u);
        Rng rng(seed,
                {static_cast<std::uint64_t>(repeat), name_hash(trace_names.at(g.trace)), c.pass++});
        rng.shuffle(c.perm.begin(), c.perm.end());
        c.pos = 0;
      }
      s.samples.push_back(static_cast<std::uint32_t>(trace_offsets.at(g.trace) + c.perm[c.pos++]));
      s.segment.push_back(static_cast<std::uint32_t>(gi));
    }
  }
  return s;
}

}  // namespace isplitee::stream
