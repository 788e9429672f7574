#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "isplitee/common/rng.hpp"
#include "isplitee/transport/protocol.hpp"
#include "support/temp_dir.hpp"

using namespace isplitee;
using namespace isplitee::transport;

TEST(Codec, Fp32IsLosslessAndSized) {
  const std::vector<float> x = {0.0f, -1.5f, 3.25f, 1e-30f, 6.5e4f, -0.0f};
  const auto t = encode(x.data(), {1, 2, 3}, Codec::kFp32);
  EXPECT_EQ(t.bytes.size(), 24u);
  std::vector<float> y;
  decode(t, y);
  EXPECT_EQ(std::memcmp(x.data(), y.data(), 24), 0);
}

TEST(Codec, Fp16RoundsToNearestEven) {
  // Exact halves, the largest half, a value that rounds up into the next binade, subnormals.
  const std::vector<float> x = {1.0f,
                                -2.5f,
                                65504.0f,
                                1.0f + 1.0f / 2048.0f,
                                1.0f + 3.0f / 2048.0f,
                                2.0f - 1.0f / 4096.0f,
                                5.96046448e-8f,
                                1e-9f,
                                1e6f};
  const auto t = encode(x.data(), {9}, Codec::kFp16);
  EXPECT_EQ(t.bytes.size(), 18u);
  std::vector<float> y;
  decode(t, y);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.5f);
  EXPECT_EQ(y[2], 65504.0f);
  EXPECT_EQ(y[3], 1.0f);                   // halfway between 1 and 1+2^-10: to even (1)
  EXPECT_EQ(y[4], 1.0f + 2.0f / 1024.0f);  // halfway, odd below: rounds up
  EXPECT_EQ(y[5], 2.0f);                   // carries into the exponent
  EXPECT_EQ(y[6], 5.96046448e-8f);         // the smallest subnormal half
  EXPECT_EQ(y[7], 0.0f);                   // underflow
  EXPECT_EQ(y[8], 65504.0f);               // overflow saturates to the largest half
  // Random values stay within half precision's relative error.
  Rng rng(3);
  std::vector<float> r(1000);
  for (auto& v : r) v = static_cast<float>(rng.normal() * 10);
  std::vector<float> back;
  decode(encode(r.data(), {1000}, Codec::kFp16), back);
  for (std::size_t i = 0; i < r.size(); ++i)
    EXPECT_NEAR(back[i], r[i], std::abs(r[i]) * 4.9e-4 + 6e-8) << i;
}

TEST(Codec, Int8AffineKeepsZeroAndRange) {
  const std::vector<float> x = {0.0f, 6.0f, 1.5f, 3.0f, 0.01f};  // ReLU-like: all ≥ 0
  const auto t = encode(x.data(), {5}, Codec::kInt8);
  EXPECT_EQ(t.bytes.size(), 5u);
  EXPECT_NEAR(t.scale, 6.0f / 255.0f, 1e-7);
  std::vector<float> y;
  decode(t, y);
  EXPECT_EQ(y[0], 0.0f);  // zero is exact
  for (std::size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(y[i], x[i], t.scale / 2 + 1e-6) << i;
  const std::vector<float> neg = {-2.0f, -1.0f, 0.5f};
  decode(encode(neg.data(), {3}, Codec::kInt8), y);
  EXPECT_NEAR(y[0], -2.0f, 2.5f / 255);
  const std::vector<float> flat = {0.0f, 0.0f};
  decode(encode(flat.data(), {2}, Codec::kInt8), y);
  EXPECT_EQ(y, flat);
}

TEST(Codec, BadMessagesAreDataErrors) {
  const std::vector<float> x = {1, 2, 3, 4};
  auto t = encode(x.data(), {2, 2}, Codec::kFp32);
  std::vector<float> y;
  auto expect_data = [&](const EncodedTensor& bad, const char* piece) {
    try {
      decode(bad, y);
      FAIL() << piece;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kData);
      EXPECT_NE(std::string(e.what()).find(piece), std::string::npos) << e.what();
    }
  };
  auto bad = t;
  bad.bytes.pop_back();
  expect_data(bad, "15 bytes");
  bad = t;
  bad.shape = {2, -2};
  expect_data(bad, "shape dimension -2");
  bad = t;
  bad.shape = {1 << 20, 1 << 20};
  expect_data(bad, "out of range");
  bad.shape = {std::int64_t{1} << 31, std::int64_t{1} << 31, 4};  // 2^64 values wrap to 0
  bad.bytes.clear();
  expect_data(bad, "out of range");
  bad = encode(x.data(), {4}, Codec::kInt8);
  bad.scale = 0.0f;
  expect_data(bad, "int8 scale");
  const float nan = std::nanf("");
  EXPECT_THROW(encode(&nan, {1}, Codec::kFp16), Error);
  EXPECT_EQ(parse_codec("fp16"), Codec::kFp16);
  EXPECT_THROW(parse_codec("bf16"), Error);
}

TEST(CloudClient, InProcessHandsTheRequestToTheService) {
  struct Echo final : CloudService {
    CallResult handle(const InferRequest& r) override {
      CallResult c;
      c.status = r.model_sha256 == "abc" ? Status::kOk : Status::kRejected;
      c.reply.request_id = r.request_id;
      c.reply.num_classes = static_cast<std::int64_t>(r.split);
      return c;
    }
  };
  auto client = in_process_client(std::make_shared<Echo>());
  InferRequest r;
  r.request_id = 7;
  r.split = 3;
  r.model_sha256 = "abc";
  const auto ok = client->infer(r, std::chrono::milliseconds(10));
  EXPECT_EQ(ok.status, Status::kOk);
  EXPECT_EQ(ok.reply.request_id, 7u);
  r.model_sha256 = "other";
  EXPECT_EQ(client->infer(r, std::chrono::milliseconds(10)).status, Status::kRejected);
  EXPECT_EQ(client->describe(), "in-process");
}

// The shared secret: a file's contents without trailing whitespace, else $ISPLITEE_TOKEN; an empty
// file, a short token or an unreadable file is an error naming the caller's key.
TEST(Token, FromFileOrEnvironmentAndAtLeast16Characters) {
  const isplitee::testing::TempDir dir("token");
  ::unsetenv("ISPLITEE_TOKEN");
  EXPECT_EQ(read_token("", "live.token_file"), "");
  EXPECT_EQ(read_token(dir.write("t", "0123456789abcdef \n\n").string(), "x"), "0123456789abcdef");
  ::setenv("ISPLITEE_TOKEN", "fedcba9876543210fedc", 1);
  EXPECT_EQ(read_token("", "x"), "fedcba9876543210fedc");
  EXPECT_EQ(read_token(dir.write("u", "0123456789abcdefXY").string(), "x"), "0123456789abcdefXY");
  ::setenv("ISPLITEE_TOKEN", "short", 1);
  try {
    (void)read_token("", "live.token_file");
    ADD_FAILURE() << "a 5-character token was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("live.token_file: the token has 5 characters"),
              std::string::npos)
        << e.what();
  }
  ::unsetenv("ISPLITEE_TOKEN");
  EXPECT_THROW((void)read_token(dir.write("empty", " \n").string(), "x"), Error);
  try {
    (void)read_token((dir.path() / "missing").string(), "serve");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
}

// The process-wide network transport: absent until installed, replaced, uninstalled by an empty
// one; half a transport is refused.
TEST(NetworkTransport, InstallReplaceUninstall) {
  EXPECT_EQ(network_transport(), nullptr);
  auto connect = [](const RemoteCloud&) -> std::unique_ptr<CloudClient> { return nullptr; };
  auto embed = [](std::shared_ptr<CloudService> s) { return in_process_client(std::move(s)); };
  set_network_transport({"a", connect, embed});
  ASSERT_NE(network_transport(), nullptr);
  EXPECT_EQ(network_transport()->name, "a");
  set_network_transport({"b", connect, embed});
  EXPECT_EQ(network_transport()->name, "b");
  EXPECT_THROW(set_network_transport({"half", connect, nullptr}), Error);
  EXPECT_EQ(network_transport()->name, "b");
  set_network_transport({});
  EXPECT_EQ(network_transport(), nullptr);
}
