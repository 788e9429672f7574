// The single-process WorkGroup: every item here, in order; errors unchanged.

#include <gtest/gtest.h>

#include "isplitee/common/work_group.hpp"

namespace isplitee {
namespace {

TEST(LocalWorkGroup, RunsEveryItemInOrderAndReturnsTheResults) {
  auto& g = local_work_group();
  EXPECT_EQ(g.rank(), 0u);
  EXPECT_EQ(g.size(), 1u);
  std::vector<std::size_t> seen;
  const auto out = g.run_items({"a", "b", "c"}, [&](std::size_t i) {
    seen.push_back(i);
    return std::string(1, static_cast<char>('x' + i));
  });
  EXPECT_EQ(seen, (std::vector<std::size_t>{0, 1, 2}));
  EXPECT_EQ(out, (std::vector<std::string>{"x", "y", "z"}));
  EXPECT_EQ(g.on_root("plan", [] { return std::string("dir"); }), "dir");
}

TEST(LocalWorkGroup, ErrorsPropagateUnchanged) {
  auto& g = local_work_group();
  try {
    g.run_items({"a"}, [](std::size_t) -> std::string { fail(ErrorCode::kData, "bad input"); });
    FAIL();
  } catch (const GroupError&) {
    FAIL() << "one process throws the error itself";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kData);
    EXPECT_STREQ(e.what(), "bad input");
  }
}

}  // namespace
}  // namespace isplitee
