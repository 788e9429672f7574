// Trace shards for `mpirun` (tracegen::shard_ranges): whole batches, in order, covering every
// sample once, so every batch is the one a single process computes.

#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "isplitee/tracegen/generate.hpp"

namespace isplitee::tracegen {
namespace {

using Ranges = std::vector<std::pair<std::size_t, std::size_t>>;

TEST(ShardRanges, WholeBatchesInOrderCoveringEverySample) {
  EXPECT_EQ(shard_ranges(300, 32, 2), (Ranges{{0, 160}, {160, 300}}));
  EXPECT_EQ(shard_ranges(300, 32, 3), (Ranges{{0, 96}, {96, 192}, {192, 300}}));
  EXPECT_EQ(shard_ranges(256, 64, 1), (Ranges{{0, 256}}));
  for (std::size_t n : {1u, 63u, 64u, 65u, 1000u, 10000u})
    for (std::size_t shards : {1u, 2u, 3u, 7u, 64u}) {
      const auto r = shard_ranges(n, 64, shards);
      ASSERT_FALSE(r.empty());
      EXPECT_LE(r.size(), shards);
      EXPECT_EQ(r.front().first, 0u);
      EXPECT_EQ(r.back().second, n);
      for (std::size_t i = 0; i < r.size(); ++i) {
        EXPECT_EQ(r[i].first % 64, 0u) << n << " " << shards;
        EXPECT_LT(r[i].first, r[i].second);
        if (i > 0) {
          EXPECT_EQ(r[i].first, r[i - 1].second);
        }
      }
    }
}

TEST(ShardRanges, FewerShardsThanRanksWhenThereAreFewBatches) {
  EXPECT_EQ(shard_ranges(100, 64, 4), (Ranges{{0, 64}, {64, 100}}));
  EXPECT_TRUE(shard_ranges(0, 64, 3).empty());
  EXPECT_THROW(shard_ranges(10, 0, 2), Error);
}

}  // namespace
}  // namespace isplitee::tracegen
