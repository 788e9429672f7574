// Unit tests for model: config, topology, exits, MAC references, folding, checkpoints, SHA-256.

#include <filesystem>
#include <numeric>
#include <set>

#include <unistd.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/sha256.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/model/checkpoint.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace isplitee;
using namespace isplitee::model;

namespace {

ModelConfig parse(const std::string& text) {
  auto doc = config::Document::parse(text, "test.json");
  return parse_model_config(config::Node(doc));
}

ModelConfig small_cifar(int64_t depth = 20) {
  ModelConfig c;
  c.arch = "resnet_cifar";
  c.depth = depth;
  c.width = 8;
  c.input_size = 16;
  c.num_classes = 5;
  c.dropout = 0;
  return c;
}

fs::path temp_dir(const std::string& name) {
  return isplitee::testing::scratch_dir("model_" + name);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(ModelConfig, DefaultsAndRoundTrip) {
  const ModelConfig c = parse(R"({"arch": "resnet_cifar", "depth": 14, "in_channels": 1,
                                   "exits": {"every": 2}, "head": "conv"})");
  EXPECT_EQ(c.arch, "resnet_cifar");
  EXPECT_EQ(c.depth, 14);
  EXPECT_EQ(c.input_size, 32);  // resnet_cifar default
  EXPECT_EQ(c.exits.mode, "every");
  EXPECT_EQ(c.exits.every, 2);
  EXPECT_DOUBLE_EQ(c.dropout, 0.0);
  const ModelConfig m = parse(R"({"arch": "mobilenet_v2"})");
  EXPECT_DOUBLE_EQ(m.dropout, 0.2);
  EXPECT_EQ(m.input_size, 224);
  const auto j = to_json(c);
  const ModelConfig back = parse(j.dump());
  EXPECT_EQ(to_json(back), j);
  const auto jm = to_json(parse(R"({"exits": {"mac_fractions": [0.15, 0.5, 0.9]}})"));
  EXPECT_EQ(to_json(parse(jm.dump())), jm);
}

TEST(ModelConfig, ErrorsNameKeyAndRange) {
  EXPECT_NE(error_of([] { parse(R"({"arch": "resnet_cifar", "depth": 21})"); }).find("depth"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse(R"({"in_channels": 2})"); }).find("in_channels"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse(R"({"arch": "resnet19"})"); }).find("arch"), std::string::npos);
  EXPECT_NE(error_of([] { parse(R"({"hed": "pool"})"); }).find("head"),
            std::string::npos);  // did you mean
  EXPECT_NE(error_of([] { parse(R"({"exits": {"blocks": [3, 2]}})"); }).find("increasing"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse(R"({"exits": {"blocks": [3], "every": 2}})"); }).find("only one"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse(R"({"exits": {"mac_fractions": [1.0]}})"); }).find("mac_fractions"),
            std::string::npos);
  EXPECT_NE(error_of([] { parse(R"({"exits": "all"})"); }).find("exits"), std::string::npos);
}

TEST(MultiExitNet, MobileNetV2PaperPlacement) {
  ModelConfig c;
  c.input_size = 64;
  MultiExitNet net(c);
  EXPECT_EQ(net->num_blocks(), 19);
  EXPECT_EQ(net->exit_blocks(), (std::vector<int64_t>{3, 6, 9, 12, 15, 18, 19}));
  const std::vector<int64_t> channels = {24, 32, 64, 96, 160, 320, 1280};
  ASSERT_EQ(net->profile().exits.size(), 7u);
  for (std::size_t k = 0; k < 7; ++k) EXPECT_EQ(net->profile().exits[k].channels, channels[k]) << k;
}

// MAC references (torchvision docs: MobileNetV2 0.30 GFLOPs = 300.774 M MACs, ResNet-18 1.814 G).
TEST(MultiExitNet, MacsMatchTorchvisionReferences) {
  ModelConfig m;
  m.num_classes = 1000;
  MultiExitNet mb(m);
  EXPECT_NEAR(static_cast<double>(mb->profile().backbone_macs), 300.8e6, 0.01 * 300.8e6);
  ModelConfig r;
  r.arch = "resnet18";
  r.num_classes = 1000;
  MultiExitNet r18(r);
  EXPECT_NEAR(static_cast<double>(r18->profile().backbone_macs), 1.814e9, 0.01 * 1.814e9);
  EXPECT_EQ(r18->num_exits(), 8);  // after each of the 8 residual blocks (the last = classifier)
  // Parameter counts of the plain networks (torchvision: 3,504,872 and 11,689,512).
  EXPECT_EQ(mb->profile().plain_params, 3504872);
  EXPECT_EQ(r18->profile().plain_params, 11689512);
}

TEST(MultiExitNet, ResNet50AndCifarTopologies) {
  ModelConfig r;
  r.arch = "resnet50";
  r.num_classes = 1000;
  r.input_size = 64;
  MultiExitNet r50(r);
  EXPECT_EQ(r50->profile().plain_params, 25557032);  // torchvision resnet50
  EXPECT_EQ(r50->num_blocks(), 17);
  ModelConfig c = small_cifar(20);
  c.width = 16;
  c.num_classes = 10;
  c.input_size = 32;
  MultiExitNet r20(c);
  EXPECT_EQ(r20->num_exits(), 9);
  EXPECT_EQ(r20->profile().plain_params, 269722);  // He et al. option A: 0.27 M (akamaster count)
  EXPECT_NEAR(static_cast<double>(r20->profile().backbone_macs), 40.55e6, 0.01 * 40.55e6);
  c.depth = 56;
  MultiExitNet r56(c);
  EXPECT_EQ(r56->num_exits(), 9);
  EXPECT_EQ(r56->exit_blocks().back(), 28);
}

TEST(MultiExitNet, PlacementModes) {
  ModelConfig c = small_cifar(20);  // 10 blocks
  c.exits.mode = "every";
  c.exits.every = 3;
  EXPECT_EQ(MultiExitNet(c)->exit_blocks(), (std::vector<int64_t>{3, 6, 9, 10}));
  c.exits.mode = "blocks";
  c.exits.blocks = {2, 7};
  EXPECT_EQ(MultiExitNet(c)->exit_blocks(), (std::vector<int64_t>{2, 7, 10}));
  c.exits.blocks = {10};
  EXPECT_NE(error_of([&] { MultiExitNet n(c); }).find("out of range [1, 9]"), std::string::npos);
  c.exits.mode = "every";
  c.exits.every = 1;
  MultiExitNet every(c);  // an exit after every block gives the cumulative MACs of each block
  std::vector<double> cum;
  for (const auto& e : every->profile().exits) cum.push_back(static_cast<double>(e.backbone_macs));
  c.exits.mode = "macs";
  c.exits.mac_fractions = {0.25, 0.5, 0.75};
  MultiExitNet n(c);
  const auto& p = n->profile();
  ASSERT_EQ(p.exits.size(), 4u);
  for (std::size_t k = 0; k < 3; ++k) {
    const double target = c.exits.mac_fractions[k] * cum.back();
    const auto blk = static_cast<std::size_t>(p.exits[k].depth_blocks);  // 1-based
    EXPECT_GE(cum[blk - 1], target) << k;
    if (blk >= 2) {
      EXPECT_LT(cum[blk - 2], target) << k;  // the first block that reaches it
    }
  }
}

TEST(MultiExitNet, ForwardNeverComputesPastLastExit) {
  torch::manual_seed(0);
  MultiExitNet net(small_cifar());
  net->eval();
  const auto x = torch::randn({2, 3, 16, 16});
  for (int64_t k = 1; k <= net->num_exits(); ++k) {
    net->reset_stage_calls();
    const auto out = net->forward(x, k);
    ASSERT_EQ(static_cast<int64_t>(out.size()), k);
    for (const auto& o : out) EXPECT_EQ(o.sizes(), torch::IntArrayRef({2, 5}));
    for (int64_t s = 0; s < net->num_exits(); ++s)
      EXPECT_EQ(net->stage_calls()[static_cast<std::size_t>(s)], s < k ? 1 : 0)
          << "k=" << k << " s=" << s;
  }
  EXPECT_THROW(net->forward(x, 0), Error);
  EXPECT_THROW(net->forward(x, net->num_exits() + 1), Error);
  EXPECT_THROW(net->forward(torch::randn({2, 1, 16, 16})), Error);
}

TEST(MultiExitNet, SplitStagesComposeToFullPass) {
  torch::manual_seed(1);
  for (const std::string arch : {"resnet_cifar", "mobilenet_v2"}) {
    ModelConfig c = small_cifar();
    c.arch = arch;
    c.small_input = true;
    c.width_mult = 0.35;
    c.input_size = 32;
    MultiExitNet net(c);
    net->eval();
    torch::NoGradGuard ng;
    const auto x = torch::randn({3, 3, 32, 32});
    const auto full = net->forward(x);
    const int64_t K = net->num_exits();
    ASSERT_EQ(static_cast<int64_t>(full.size()), K);
    for (int64_t s = 0; s <= K; ++s) {
      const auto edge = net->run_stages(x, 0, s);
      const auto cloud = net->run_stages(edge, s, K);
      EXPECT_TRUE(torch::allclose(net->exit_logits(K, cloud), full.back(), 1e-5, 1e-6))
          << arch << " s=" << s;
      if (s >= 1) {
        EXPECT_TRUE(torch::allclose(net->exit_logits(s, edge),
                                    full[static_cast<std::size_t>(s - 1)], 1e-5, 1e-6));
      }
      if (s >= 1) {
        const auto& shape = net->profile().exits[static_cast<std::size_t>(s - 1)].activation_shape;
        EXPECT_EQ(edge.sizes().slice(1).vec(), shape) << arch << " s=" << s;
      }
    }
  }
}

TEST(MultiExitNet, SmallInputMobileNetKeepsResolution) {
  ModelConfig c;
  c.small_input = true;
  c.input_size = 32;
  c.width_mult = 0.25;
  c.in_channels = 1;
  MultiExitNet net(c);
  // Total stride 8 instead of 32: 32 px → 4×4 at the last block.
  EXPECT_EQ(net->profile().exits.back().activation_shape, (std::vector<int64_t>{1280, 4, 4}));
  EXPECT_EQ(net->profile().exits.front().activation_shape, (std::vector<int64_t>{8, 32, 32}));
}

TEST(MultiExitNet, ParameterGroupsPartitionParameters) {
  MultiExitNet net(small_cifar());
  const auto b = net->backbone_parameters(), e = net->exit_head_parameters(),
             f = net->final_head_parameters();
  std::set<const void*> seen;
  for (const auto* g : {&b, &e, &f})
    for (const auto& t : *g) EXPECT_TRUE(seen.insert(t.data_ptr()).second);
  EXPECT_EQ(seen.size(), net->parameters().size());
  EXPECT_EQ(f.size(), 2u);  // final Linear weight + bias
  EXPECT_FALSE(e.empty());
}

TEST(MultiExitNet, BatchNormFoldingIsNumericallyExact) {
  torch::manual_seed(2);
  for (const std::string arch : {"resnet_cifar", "mobilenet_v2"}) {
    ModelConfig c = small_cifar();
    c.arch = arch;
    c.small_input = true;
    c.width_mult = 0.5;
    MultiExitNet net(c);
    // Give BatchNorm non-trivial statistics with a few training-mode passes.
    {
      torch::NoGradGuard ng;
      for (int i = 0; i < 3; ++i) net->forward(torch::randn({8, 3, 16, 16}) * 2 + 0.5);
    }
    net->eval();
    EXPECT_THROW(MultiExitNet(c)->fold_batchnorm(), Error);  // training mode refused
    torch::InferenceMode guard;
    const auto x = torch::randn({4, 3, 16, 16});
    const auto ref = net->forward(x);
    net->fold_batchnorm();
    ASSERT_TRUE(net->folded());
    const auto got = net->forward(x);
    for (std::size_t k = 0; k < ref.size(); ++k) {
      const double diff = (ref[k] - got[k]).abs().max().item<double>();
      EXPECT_LT(diff, 1e-4) << arch << " exit " << k + 1;
    }
    net->train();
    EXPECT_FALSE(net->folded());
    net->eval();
    net->optimize_for_inference(/*fast_path=*/false);  // LibTorch's own path: channels-last
    EXPECT_TRUE(net->folded() && net->channels_last());
    const auto cl = net->forward(x);
    for (std::size_t k = 0; k < ref.size(); ++k)
      EXPECT_LT((ref[k] - cl[k]).abs().max().item<double>(), 1e-4)
          << arch << " channels-last exit " << k + 1;
    net->train();
    EXPECT_FALSE(net->folded() || net->channels_last());
  }
}

TEST(Checkpoint, RoundTripAndMetadataValidation) {
  const auto dir = temp_dir("ckpt");
  torch::manual_seed(3);
  ModelConfig c = small_cifar(8);
  c.in_channels = 1;
  c.head = "conv";
  MultiExitNet net(c);
  {
    torch::NoGradGuard ng;
    net->forward(torch::randn({4, 1, 16, 16}));  // changes BN running stats (buffers saved too)
  }
  net->eval();
  const auto path = dir / "m.ckpt";
  save_checkpoint(path, *net, c, {{"epoch", 7}});
  ASSERT_TRUE(fs::exists(path));
  auto ck = load_checkpoint(path);
  EXPECT_EQ(ck.extra["epoch"], 7);
  EXPECT_EQ(to_json(ck.config), to_json(c));
  const auto x = torch::randn({2, 1, 16, 16});
  torch::NoGradGuard ng;
  const auto a = net->forward(x), b = ck.net->forward(x);
  for (std::size_t k = 0; k < a.size(); ++k) EXPECT_TRUE(torch::equal(a[k], b[k]));
  EXPECT_NO_THROW(load_checkpoint(path, c));
  ModelConfig other = c;
  other.num_classes = 7;
  const auto msg = error_of([&] { load_checkpoint(path, other); });
  EXPECT_NE(msg.find("num_classes"), std::string::npos) << msg;
  other = c;
  other.head = "bnpool";
  EXPECT_NE(error_of([&] { load_checkpoint(path, other); }).find("head"), std::string::npos);
  // A file that is not a checkpoint is a data error naming the file.
  write_text_atomic(dir / "bad.ckpt", "not a checkpoint");
  try {
    load_checkpoint(dir / "bad.ckpt");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kData);
    EXPECT_NE(std::string(e.what()).find("bad.ckpt"), std::string::npos);
  }
  EXPECT_EQ(error_of([&] { load_checkpoint(dir / "missing.ckpt"); }).find("missing.ckpt") !=
                std::string::npos,
            true);
  fs::remove_all(dir);
}

TEST(Profile, ExitInfosAndJson) {
  MultiExitNet net(small_cifar());
  const auto& p = net->profile();
  const auto infos = to_exit_infos(p);
  ASSERT_EQ(infos.size(), p.exits.size());
  for (std::size_t k = 0; k < infos.size(); ++k) {
    EXPECT_EQ(infos[k].depth_blocks, static_cast<double>(p.exits[k].depth_blocks));
    EXPECT_EQ(infos[k].activation_bytes, p.exits[k].activation_bytes_fp32);
    const auto& s = p.exits[k].activation_shape;
    EXPECT_EQ(p.exits[k].activation_bytes_fp32, 4 * s[0] * s[1] * s[2]);
    EXPECT_EQ(p.exits[k].activation_bytes_int8, s[0] * s[1] * s[2]);
    if (k > 0) {
      EXPECT_GT(p.exits[k].edge_macs, p.exits[k - 1].edge_macs);
      EXPECT_GT(p.exits[k].edge_params, p.exits[k - 1].edge_params);
    }
  }
  EXPECT_EQ(p.exits.back().edge_params, p.total_params);
  EXPECT_EQ(p.exits.back().edge_macs, p.total_macs);
  configure_runtime(1);
  measure_latency(*net, 4, 3, 1);
  const auto j = to_json(net->profile());
  EXPECT_EQ(j["latency"]["batch"], 4);
  for (const auto& e : j["exits"]) EXPECT_GT(e["stage_ms_batchn"].get<double>(), 0.0);
  EXPECT_TRUE(net->is_training());  // mode restored
  EXPECT_FALSE(net->folded());
  EXPECT_NE(format_profile_table(net->profile()).find("stage b4"), std::string::npos);
}

TEST(Checkpoint, StoresAndValidatesPreprocessing) {
  const auto dir = temp_dir("ckpt_pre");
  ModelConfig c = small_cifar(8);
  c.in_channels = 1;
  MultiExitNet net(c);
  net->eval();
  data::Preprocess p;
  p.channels = 1;
  p.resize = 20;
  p.crop = 16;
  p.mean = {0.286};
  p.std = {0.353};
  save_checkpoint(dir / "with.ckpt", *net, c, {}, &p);
  const auto ck = load_checkpoint(dir / "with.ckpt");
  EXPECT_TRUE(ck.preprocess_stored);
  EXPECT_EQ(data::to_json(ck.preprocess), data::to_json(p));
  // Older checkpoints (no preprocessing stored) load with the documented fallback.
  save_checkpoint(dir / "without.ckpt", *net, c);
  const auto old = load_checkpoint(dir / "without.ckpt");
  EXPECT_FALSE(old.preprocess_stored);
  EXPECT_EQ(old.preprocess.channels, 1);
  EXPECT_EQ(old.preprocess.resize, 0);
  EXPECT_EQ(old.preprocess.crop, 0);
  EXPECT_EQ(old.preprocess.mean, std::vector<double>{0.0});
  EXPECT_EQ(old.preprocess.std, std::vector<double>{1.0});
  // Stored preprocessing that cannot feed this network is a data error naming the field.
  data::Preprocess bad = p;
  bad.channels = 3;
  save_checkpoint(dir / "bad_channels.ckpt", *net, c, {}, &bad);
  try {
    load_checkpoint(dir / "bad_channels.ckpt");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kData);
    EXPECT_NE(std::string(e.what()).find("preprocess.channels"), std::string::npos) << e.what();
  }
  bad = p;
  bad.crop = 24;
  save_checkpoint(dir / "bad_crop.ckpt", *net, c, {}, &bad);
  EXPECT_NE(error_of([&] { load_checkpoint(dir / "bad_crop.ckpt"); }).find("preprocess.crop"),
            std::string::npos);
  bad = p;
  bad.std = {0.0};
  save_checkpoint(dir / "bad_std.ckpt", *net, c, {}, &bad);
  EXPECT_NE(error_of([&] { load_checkpoint(dir / "bad_std.ckpt"); }).find("std"),
            std::string::npos);
  fs::remove_all(dir);
}
