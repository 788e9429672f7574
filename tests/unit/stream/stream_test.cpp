#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "isplitee/common/error.hpp"
#include "isplitee/stream/stream.hpp"

using namespace isplitee;
using namespace isplitee::stream;

namespace {
StreamsConfig parse(const std::string& text) {
  const auto doc = config::Document::parse(text, "exp.json");
  return parse_streams_config(config::Node(doc));
}
const std::vector<std::string> kNames = {"none", "gaussian_noise@1", "gaussian_noise@2",
                                         "gaussian_noise@3"};
}  // namespace

TEST(StreamsConfig, DefaultIsOneStreamPerTrace) {
  const auto c = parse("{}");
  const auto defs = resolve_streams(c, kNames);
  ASSERT_EQ(defs.size(), 4u);
  EXPECT_EQ(defs[2].name, "gaussian_noise@2");
  ASSERT_EQ(defs[2].segments.size(), 1u);
  EXPECT_EQ(defs[2].segments[0].trace, 2u);
  EXPECT_EQ(defs[2].segments[0].length, 0u);
}

TEST(StreamsConfig, SchedulesRampsAndCycles) {
  const auto c = parse(R"({"per_trace": false, "schedules": [
      {"name": "drift", "segments": [{"trace": "none", "length": 100}, {"trace": "gaussian_noise@3", "length": 50}]},
      {"name": "ramp", "ramp": {"distortion": "gaussian_noise", "severities": [1, 2, 3], "length": 10}, "cycles": 2},
      {"name": "ramp2", "ramp": {"traces": ["none", "gaussian_noise@1"], "length": 7}}]})");
  const auto defs = resolve_streams(c, kNames);
  ASSERT_EQ(defs.size(), 3u);
  EXPECT_EQ(defs[0].name, "drift");
  ASSERT_EQ(defs[0].segments.size(), 2u);
  EXPECT_EQ(defs[0].segments[1].trace, 3u);
  EXPECT_EQ(defs[0].segments[1].length, 50u);
  ASSERT_EQ(defs[1].segments.size(), 6u);  // 3 severities × 2 cycles
  const std::vector<std::size_t> order = {1, 2, 3, 1, 2, 3};
  for (std::size_t i = 0; i < 6; ++i) EXPECT_EQ(defs[1].segments[i].trace, order[i]);
  EXPECT_EQ(defs[2].segments[1].length, 7u);
  // to_json re-parses to the same resolved streams.
  const auto again = resolve_streams(parse(to_json(c).dump()), kNames);
  ASSERT_EQ(again.size(), defs.size());
  for (std::size_t i = 0; i < defs.size(); ++i) {
    ASSERT_EQ(again[i].segments.size(), defs[i].segments.size());
    for (std::size_t g = 0; g < defs[i].segments.size(); ++g) {
      EXPECT_EQ(again[i].segments[g].trace, defs[i].segments[g].trace);
      EXPECT_EQ(again[i].segments[g].length, defs[i].segments[g].length);
    }
  }
}

TEST(StreamsConfig, UnknownTraceNamesScheduleSegmentAndAvailable) {
  const auto c =
      parse(R"({"schedules": [{"name": "drift", "segments": [{"trace": "none", "length": 5},
                                                                          {"trace": "blur@9", "length": 5}]}]})");
  try {
    resolve_streams(c, kNames);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("schedule 'drift' segment 2: unknown trace 'blur@9'"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("available: none, gaussian_noise@1"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse(R"({"schedules": [{"name": "x"}]})"), Error);
  EXPECT_THROW(
      parse(R"({"schedules": [{"name": "x", "segments": [{"trace": "none", "lenght": 3}]}]})"),
      Error);
  EXPECT_THROW(resolve_streams(parse(R"({"per_trace": false})"), kNames),
               Error);  // no stream at all
}

TEST(Stream, EachRepeatIsAPermutation) {
  const std::vector<std::size_t> sizes = {100, 50}, offsets = {0, 100};
  const std::vector<std::string> names = {"a", "b"};
  const StreamDef def{"b", {{1, 0}}};
  const auto s0 = build_stream(def, sizes, offsets, names, 7, 0);
  const auto s0b = build_stream(def, sizes, offsets, names, 7, 0);
  const auto s1 = build_stream(def, sizes, offsets, names, 7, 1);
  ASSERT_EQ(s0.size(), 50u);
  EXPECT_EQ(s0.samples, s0b.samples);
  EXPECT_NE(s0.samples, s1.samples);
  auto sorted = s0.samples;
  std::sort(sorted.begin(), sorted.end());
  for (std::uint32_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], 100 + i);
  EXPECT_NE(s0.samples, sorted);  // actually shuffled
  // Same trace name, seed and repeat -> same permutation whatever the list order.
  const auto swapped = build_stream({"b", {{0, 0}}}, {50, 100}, {0, 50}, {"b", "a"}, 7, 0);
  for (std::size_t t = 0; t < 50; ++t) EXPECT_EQ(swapped.samples[t] + 100, s0.samples[t]);
}

TEST(Stream, SegmentsCapCycleAndRecordGroundTruth) {
  const std::vector<std::size_t> sizes = {10, 4}, offsets = {0, 10};
  const std::vector<std::string> names = {"a", "b"};
  const StreamDef def{"drift", {{0, 6}, {1, 9}, {0, 6}}};
  const auto s = build_stream(def, sizes, offsets, names, 3, 0);
  ASSERT_EQ(s.size(), 21u);
  EXPECT_EQ(s.segment_start, (std::vector<std::size_t>{0, 6, 15}));
  EXPECT_EQ(s.segment_trace, (std::vector<std::size_t>{0, 1, 0}));
  for (std::size_t t = 0; t < 21; ++t) {
    const std::uint32_t g = t < 6 ? 0 : t < 15 ? 1 : 2;
    EXPECT_EQ(s.segment[t], g);
    EXPECT_EQ(s.samples[t] >= 10, g == 1) << t;
  }
  // Trace a: the first 10 of its 12 draws are one permutation (no repeat before exhaustion).
  std::vector<std::uint32_t> a;
  for (std::size_t t = 0; t < 21; ++t)
    if (s.segment[t] != 1) a.push_back(s.samples[t]);
  std::vector<std::uint32_t> first(a.begin(), a.begin() + 10);
  std::sort(first.begin(), first.end());
  for (std::uint32_t i = 0; i < 10; ++i) EXPECT_EQ(first[i], i);
  // Trace b (4 samples, 9 draws): each pass of 4 is a permutation.
  std::vector<std::uint32_t> b(s.samples.begin() + 6, s.samples.begin() + 14);
  std::sort(b.begin(), b.begin() + 4);
  std::sort(b.begin() + 4, b.end());
  EXPECT_EQ(b, (std::vector<std::uint32_t>{10, 11, 12, 13, 10, 11, 12, 13}));
}
