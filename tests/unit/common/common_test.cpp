#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <vector>

#include <gtest/gtest.h>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/rng.hpp"
#include "isplitee/common/sha256.hpp"
#include "isplitee/common/text.hpp"
#include "support/temp_dir.hpp"

namespace isplitee {
namespace {
namespace fs = std::filesystem;

TEST(Rng, SameSeedSameStreamDifferentSeedDifferentStream) {
  Rng a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const auto x = a.next_u64();
    EXPECT_EQ(x, b.next_u64());
    EXPECT_NE(x, c.next_u64());
  }
}

TEST(Rng, DerivedStreamsDependOnIdsNotOrder) {
  // The value for sample 7 is the same whether or not sample 3 was drawn first.
  Rng s3(1, {3});
  (void)s3.next_u64();
  Rng s7a(1, {7}), s7b(1, {7});
  EXPECT_EQ(s7a.next_u64(), s7b.next_u64());
  EXPECT_NE(Rng(1, {7}).next_u64(), Rng(1, {8}).next_u64());
  EXPECT_NE(Rng(1, {7, 0}).next_u64(), Rng(1, {0, 7}).next_u64());
}

TEST(Rng, UniformAndNormalMoments) {
  Rng r(5);
  const int n = 200000;
  double su = 0, sn = 0, sn2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = r.uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    su += u;
    const double z = r.normal();
    sn += z;
    sn2 += z * z;
  }
  EXPECT_NEAR(su / n, 0.5, 0.005);
  EXPECT_NEAR(sn / n, 0.0, 0.01);
  EXPECT_NEAR(sn2 / n, 1.0, 0.01);
}

TEST(Rng, UniformIntIsUnbiasedOverSmallRange) {
  Rng r(9);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) ++counts[r.uniform_int(7)];
  for (int c : counts) EXPECT_NEAR(c, 10000, 400);
}

TEST(Rng, PoissonMeanAndVariance) {
  for (double lambda : {0.5, 3.0, 25.0, 500.0}) {
    Rng r(11);
    const int n = 50000;
    double s = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
      const double k = static_cast<double>(r.poisson(lambda));
      s += k;
      s2 += k * k;
    }
    const double mean = s / n, var = s2 / n - mean * mean;
    EXPECT_NEAR(mean, lambda, 0.03 * lambda + 0.02) << lambda;
    EXPECT_NEAR(var, lambda, 0.06 * lambda + 0.03) << lambda;
  }
}

TEST(Rng, BetaMean) {
  Rng r(3);
  double s = 0;
  for (int i = 0; i < 50000; ++i) s += r.beta(2.0, 6.0);
  EXPECT_NEAR(s / 50000, 0.25, 0.005);
}

TEST(Rng, ShuffleIsAPermutation) {
  Rng r(1);
  std::vector<int> v(100);
  std::iota(v.begin(), v.end(), 0);
  r.shuffle(v.begin(), v.end());
  EXPECT_FALSE(std::is_sorted(v.begin(), v.end()));
  std::sort(v.begin(), v.end());
  for (int i = 0; i < 100; ++i) EXPECT_EQ(v[i], i);
}

TEST(Text, EditDistanceAndNearest) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(nearest_word("alpah", {"alpha", "lambda", "mu"}), "alpha");
  EXPECT_EQ(nearest_word("completely-different", {"alpha", "mu"}), "");
  EXPECT_EQ(join(split("a,b,,c", ','), "|"), "a|b||c");
}

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = std::make_unique<isplitee::testing::TempDir>("atomic");
    dir_ = tmp_->path() / "d";
  }
  void TearDown() override { tmp_.reset(); }
  std::unique_ptr<isplitee::testing::TempDir> tmp_;
  fs::path dir_;
};

TEST_F(AtomicFileTest, WritesAndReplaces) {
  const auto p = dir_ / "sub" / "a.txt";
  write_text_atomic(p, "one");
  EXPECT_EQ(read_text_file(p), "one");
  write_text_atomic(p, "two");
  EXPECT_EQ(read_text_file(p), "two");
  EXPECT_EQ(std::distance(fs::directory_iterator(p.parent_path()), fs::directory_iterator{}), 1);
}

TEST_F(AtomicFileTest, FailedWriterLeavesOldFileAndNoTemporary) {
  const auto p = dir_ / "a.txt";
  write_text_atomic(p, "old");
  EXPECT_THROW(write_file_atomic(p,
                                 [](std::ostream& os) {
                                   os << "half";
                                   throw std::runtime_error("interrupted");
                                 }),
               std::runtime_error);
  EXPECT_EQ(read_text_file(p), "old");
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator{}), 1);
}

TEST_F(AtomicFileTest, OutputDirRefusesNonEmptyWithoutForce) {
  prepare_output_dir(dir_, false);
  write_text_atomic(dir_ / "x", "1");
  try {
    prepare_output_dir(dir_, false);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("use --force"), std::string::npos);
  }
  EXPECT_NO_THROW(prepare_output_dir(dir_, true));
}

TEST(Errors, CheckMacroBuildsMessage) {
  try {
    const double alpha = 1.5;
    ISPLITEE_CHECK(alpha <= 1.0, "alpha = ", alpha, " is out of range [0, 1]");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "alpha = 1.5 is out of range [0, 1]");
    EXPECT_EQ(e.code(), ErrorCode::kUsage);
  }
}

TEST(Errors, ReadMissingFileIsIoError) {
  try {
    read_text_file("/nonexistent/x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x"), std::string::npos);
  }
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  const isplitee::testing::TempDir tmp("sha");
  const auto dir = tmp.path();
  write_text_atomic(dir / "f.txt", "abc");
  EXPECT_EQ(sha256_file(dir / "f.txt"), sha256_hex("abc"));
  EXPECT_THROW(sha256_file(dir / "nope"), Error);
}

}  // namespace
}  // namespace isplitee
