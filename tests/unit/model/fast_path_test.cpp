// The oneDNN inference path of optimize_for_inference(): same results as LibTorch's folded path
// (bit for bit where LibTorch itself runs the convolutions through oneDNN: batch ≥ 2, and for
// unstrided 1×1 convolutions batch ≥ 16 or more than one thread),
// nothing computed past the requested exit, split points composing to the full pass, and
// exit_outputs() agreeing with hand-computed statistics.

#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "isplitee/common/error.hpp"
#include "isplitee/model/exit_outputs.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"

using namespace isplitee;
using namespace isplitee::model;

namespace {

ModelConfig config_of(const std::string& arch) {
  ModelConfig c;
  c.arch = arch;
  c.num_classes = 7;
  c.in_channels = 3;
  c.input_size = 32;
  c.small_input = true;
  c.width_mult = 0.5;
  c.depth = 14;
  c.width = 12;
  c.dropout = 0;
  return c;
}

// A network in eval mode whose BatchNorm layers hold non-trivial running statistics.
MultiExitNet trained_looking(const ModelConfig& c, std::uint64_t seed) {
  torch::manual_seed(static_cast<std::int64_t>(seed));
  MultiExitNet net(c);
  {
    torch::NoGradGuard ng;
    for (int i = 0; i < 3; ++i)
      net->forward(torch::randn({8, c.in_channels, c.input_size, c.input_size}) * 2 + 0.5);
  }
  net->eval();
  return net;
}

const char* const kArchs[] = {"resnet_cifar", "mobilenet_v2", "resnet18", "resnet50"};

double max_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

bool fast_path_built() {
  MultiExitNet net(config_of("resnet_cifar"));
  net->eval();
  net->optimize_for_inference();
  return net->fast_path();
}

}  // namespace

TEST(FastPath, EqualsFoldedLibTorchBitForBit) {
  if (!fast_path_built()) GTEST_SKIP() << "this build has no oneDNN fast path";
  for (int threads : {1, 2}) {
    configure_runtime(threads);
    for (const char* arch : kArchs) {
      const ModelConfig c = config_of(arch);
      auto net = trained_looking(c, 5);
      torch::InferenceMode guard;
      // Batch 16: LibTorch sends even 1×1 convolutions to oneDNN at one thread from there on.
      const auto x = torch::randn({16, 3, 32, 32});
      net->fold_batchnorm();
      ASSERT_FALSE(net->fast_path());
      const auto ref = net->forward(x);
      net->optimize_for_inference();
      ASSERT_TRUE(net->fast_path()) << arch;
      EXPECT_NE(net->inference_engine().find("oneDNN"), std::string::npos);
      const auto got = net->forward(x);
      ASSERT_EQ(got.size(), ref.size());
      for (std::size_t k = 0; k < ref.size(); ++k)
        EXPECT_TRUE(torch::equal(got[k], ref[k]))
            << arch << " threads " << threads << " exit " << k + 1 << ": max diff "
            << max_diff(got[k], ref[k]);
    }
  }
  configure_runtime(1);
}

TEST(FastPath, MatchesEvalModeAtBatchOneAndOtherSizes) {
  if (!fast_path_built()) GTEST_SKIP() << "this build has no oneDNN fast path";
  configure_runtime(1);
  for (const char* arch : kArchs) {
    const ModelConfig c = config_of(arch);
    auto net = trained_looking(c, 6);
    torch::InferenceMode guard;
    net->optimize_for_inference();
    // Batch 1 and two image sizes: each shape gets its own plan.
    for (const auto& shape :
         {std::vector<std::int64_t>{1, 3, 32, 32}, std::vector<std::int64_t>{3, 3, 40, 36}}) {
      const auto x = torch::randn(shape);
      net->train();
      net->eval();
      const auto ref = net->forward(x);
      net->optimize_for_inference();
      const auto got = net->forward(x);
      for (std::size_t k = 0; k < ref.size(); ++k)
        EXPECT_LT(max_diff(got[k], ref[k]), 1e-4) << arch << " exit " << k + 1;
    }
  }
}

TEST(FastPath, NothingPastTheLastExitAndSplitsCompose) {
  if (!fast_path_built()) GTEST_SKIP() << "this build has no oneDNN fast path";
  configure_runtime(1);
  for (const char* arch : {"resnet_cifar", "mobilenet_v2"}) {
    auto net = trained_looking(config_of(arch), 7);
    net->optimize_for_inference();
    torch::InferenceMode guard;
    const auto x = torch::randn({4, 3, 32, 32});
    const auto full = net->forward(x);
    const int64_t K = net->num_exits();
    for (int64_t k = 1; k <= K; ++k) {
      net->reset_stage_calls();
      const auto out = net->forward(x, k);
      ASSERT_EQ(static_cast<int64_t>(out.size()), k);
      for (int64_t s = 0; s < K; ++s)
        EXPECT_EQ(net->stage_calls()[static_cast<std::size_t>(s)], s < k ? 1 : 0) << arch;
      EXPECT_TRUE(torch::equal(out.back(), full[static_cast<std::size_t>(k - 1)]));
    }
    for (int64_t s = 0; s <= K; ++s) {
      net->reset_stage_calls();
      const auto edge = net->run_stages(x, 0, s);
      const auto cloud = net->run_stages(edge, s, K);
      for (int64_t st = 0; st < K; ++st)
        EXPECT_EQ(net->stage_calls()[static_cast<std::size_t>(st)], 1);
      // The activation at the split is a plain NCHW tensor of the profiled shape.
      if (s >= 1) {
        EXPECT_TRUE(edge.is_contiguous());
        EXPECT_EQ(edge.sizes().slice(1).vec(),
                  net->profile().exits[static_cast<std::size_t>(s - 1)].activation_shape);
        EXPECT_TRUE(torch::equal(net->exit_logits(s, edge), full[static_cast<std::size_t>(s - 1)]));
      }
      EXPECT_TRUE(torch::equal(net->exit_logits(K, cloud), full.back())) << arch << " s=" << s;
    }
  }
}

TEST(FastPath, TrainingModeDropsItAndInputsAreChecked) {
  if (!fast_path_built()) GTEST_SKIP() << "this build has no oneDNN fast path";
  auto net = trained_looking(config_of("resnet_cifar"), 8);
  net->optimize_for_inference();
  EXPECT_TRUE(net->fast_path() && net->folded());
  EXPECT_THROW(net->forward(torch::randn({2, 1, 32, 32})), Error);  // wrong channel count
  net->train();
  EXPECT_FALSE(net->fast_path() || net->folded());
  EXPECT_EQ(net->inference_engine(), "LibTorch");
  net->eval();
  net->optimize_for_inference(/*fast_path=*/false);
  EXPECT_FALSE(net->fast_path());
  EXPECT_TRUE(net->channels_last());
}

TEST(ExitOutputs, LayoutTemperaturesAndLogits) {
  configure_runtime(1);
  auto net = trained_looking(config_of("resnet_cifar"), 9);
  net->optimize_for_inference();
  const auto x = torch::randn({6, 3, 32, 32});
  const int64_t K = net->num_exits(), last = K - 1;
  std::vector<torch::Tensor> logits;
  {
    torch::InferenceMode guard;
    logits = net->forward(x, last);
  }
  std::vector<double> temps(static_cast<std::size_t>(K), 1.0);
  temps[1] = 2.5;
  const auto o = exit_outputs(*net, x, last, temps, /*keep_logits=*/true);
  ASSERT_EQ(o.n, 6);
  ASSERT_EQ(o.k, last);
  ASSERT_EQ(o.max_prob.size(), static_cast<std::size_t>(6 * last));
  ASSERT_EQ(o.logits.size(), static_cast<std::size_t>(6 * last * 7));
  for (int64_t k = 0; k < last; ++k) {
    const auto z = logits[static_cast<std::size_t>(k)].to(torch::kFloat64) /
                   temps[static_cast<std::size_t>(k)];
    const auto p = torch::softmax(z, 1);
    for (int64_t i = 0; i < 6; ++i) {
      const auto at = static_cast<std::size_t>(i * last + k);
      // Hand-computed: max, entropy −Σ p ln p, top-1 − top-2.
      const auto row = p[i];
      const auto sorted = std::get<0>(row.sort(0, /*descending=*/true));
      EXPECT_NEAR(o.max_prob[at], sorted[0].item<double>(), 1e-6);
      EXPECT_NEAR(o.margin[at], (sorted[0] - sorted[1]).item<double>(), 1e-6);
      EXPECT_NEAR(o.entropy[at], -(row * row.log()).sum().item<double>(), 1e-5);
      EXPECT_EQ(o.pred[at], row.argmax().item<std::int64_t>());
      for (int64_t c = 0; c < 7; ++c)  // raw logits, before the temperature
        EXPECT_EQ(o.logits[static_cast<std::size_t>((i * last + k) * 7 + c)],
                  logits[static_cast<std::size_t>(k)][i][c].item<float>());
    }
  }
  // Temperature 2.5 flattens exit 2: lower confidence than at T = 1 for every sample.
  const auto plain = exit_outputs(*net, x, last);
  for (int64_t i = 0; i < 6; ++i)
    EXPECT_LT(o.max_prob[static_cast<std::size_t>(i * last + 1)],
              plain.max_prob[static_cast<std::size_t>(i * last + 1)]);
  EXPECT_EQ(o.max_prob[0], plain.max_prob[0]);                   // T_1 = 1 leaves exit 1 untouched
  EXPECT_THROW(exit_outputs(*net, x, last, {1.0, 2.0}), Error);  // not one per exit
  temps[0] = 0;
  EXPECT_THROW(exit_outputs(*net, x, last, temps), Error);
  net->train();
  EXPECT_THROW(exit_outputs(*net, x, last), Error);
}
