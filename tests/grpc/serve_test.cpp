// `isplitee serve` end to end: a real checkpoint served by the CLI in its own process; the
// logits that come back over gRPC are the ones the network computes here, requests for another
// model, split or shape are refused, SIGTERM stops it cleanly, and off loopback a token is needed.
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "isplitee/common/sha256.hpp"
#include "isplitee/grpc/rpc.hpp"
#include "isplitee/model/checkpoint.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "support/child.hpp"
#include "support/temp_dir.hpp"
#include "unit/train/tiny_fixture.hpp"

namespace isplitee {
namespace {

using namespace std::chrono_literals;
using transport::Codec;
using transport::Status;

using testing::Child;

TEST(Serve, FinishesTheNetworkFromEverySplitAndStopsCleanly) {
  testing::TempDir dir("serve");
  const auto ckpt = dir / "tiny.pt";
  {
    torch::manual_seed(3);
    model::MultiExitNet net(tiny::tiny_model());
    model::save_checkpoint(ckpt, *net, tiny::tiny_model());
  }
  Child serve({ISPLITEE_BIN, "serve", "--checkpoint", ckpt.string(), "--listen", "127.0.0.1:0"});
  const std::string hello = serve.line();
  const auto at = hello.find("grpc://");
  ASSERT_NE(at, std::string::npos) << hello << serve.rest();
  const std::string target = hello.substr(at + 7, hello.find(' ', at) - at - 7);
  rpc::ClientOptions options;
  options.target = target;
  auto client = rpc::make_client(options);

  auto ck = model::load_checkpoint(ckpt);
  ck.net->eval();
  ck.net->fold_batchnorm();  // as serve does by default, and as traces are computed
  const std::string sha = sha256_file(ckpt);
  const auto k = ck.net->num_exits();
  torch::InferenceMode guard;
  const auto x = torch::rand({3, 1, 16, 16});
  for (std::int64_t s = 0; s < k; ++s) {
    const auto h = ck.net->run_stages(x, 0, s).contiguous();
    const auto want = ck.net->exit_logits(k, ck.net->run_stages(h, s, k)).contiguous();
    transport::InferRequest req;
    req.request_id = static_cast<std::uint64_t>(100 + s);
    req.split = static_cast<std::uint32_t>(s);
    req.model_sha256 = sha;
    req.activation = transport::encode(h.data_ptr<float>(), h.sizes().vec(), Codec::kFp32);
    const auto r = client->infer(req, 30s);
    ASSERT_EQ(r.status, Status::kOk) << "split " << s << ": " << r.message;
    ASSERT_EQ(r.reply.logits.size(), static_cast<std::size_t>(want.numel()));
    for (std::int64_t i = 0; i < want.numel(); ++i)
      EXPECT_NEAR(r.reply.logits[i], want.data_ptr<float>()[i], 1e-4) << "split " << s;
    // Another model, a split past the last stage, a shape of another split: refused.
    auto other = req;
    other.model_sha256 = std::string(64, '0');
    EXPECT_EQ(client->infer(other, 30s).status, Status::kRejected);
    auto past = req;
    past.split = static_cast<std::uint32_t>(k);
    EXPECT_EQ(client->infer(past, 30s).status, Status::kRejected);
    auto shape = req;
    shape.activation = transport::encode(x.data_ptr<float>(), {3, 16, 1, 16}, Codec::kFp32);
    EXPECT_EQ(client->infer(shape, 30s).status, Status::kRejected);
  }
  ASSERT_EQ(::kill(serve.pid, SIGTERM), 0);
  const std::string bye = serve.rest();
  EXPECT_EQ(serve.wait(), 0) << bye;
  EXPECT_NE(bye.find("stopped after " + std::to_string(4 * k) + " requests"), std::string::npos)
      << bye;
}

TEST(Serve, OffLoopbackWithoutATokenIsAUsageError) {
  testing::TempDir dir("serve_token");
  const auto ckpt = dir / "tiny.pt";
  {
    model::MultiExitNet net(tiny::tiny_model());
    model::save_checkpoint(ckpt, *net, tiny::tiny_model());
  }
  Child serve({ISPLITEE_BIN, "serve", "--checkpoint", ckpt.string(), "--listen", "0.0.0.0:0"});
  const std::string out = serve.rest();
  EXPECT_EQ(serve.wait(), 2) << out;
  EXPECT_NE(out.find("a token is required"), std::string::npos) << out;
  const auto short_token = dir.write("token", "abc\n");
  Child serve2({ISPLITEE_BIN, "serve", "--checkpoint", ckpt.string(), "--listen", "0.0.0.0:0",
                "--token-file", short_token.string()});
  const std::string out2 = serve2.rest();
  EXPECT_EQ(serve2.wait(), 2) << out2;
  EXPECT_NE(out2.find("at least 16"), std::string::npos) << out2;
}

}  // namespace
}  // namespace isplitee
