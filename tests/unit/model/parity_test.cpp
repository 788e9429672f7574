// Parity with torchvision: random-init models exported by scripts/export_torchvision.py must give
// the same logits in C++ as in PyTorch (max abs difference ≤ 1e-4), on 64×64 inputs to stay fast.

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include <gtest/gtest.h>
#include <torch/serialize.h>
#include <torch/torch.h>

#include "isplitee/common/error.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"
#include "support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace isplitee;
using namespace isplitee::model;

namespace {

struct Reference {
  torch::Tensor input, logits;
};

// A fresh directory per call, removed when the test process exits (a shared one removed by the
// first test left the others without a directory to export into).
fs::path work_dir() { return isplitee::testing::scratch_dir("parity"); }

/// Runs the export script; returns false (test skipped) when Debian's torchvision is absent.
bool export_model(const std::string& args, const fs::path& out, const fs::path& ref) {
  const std::string cmd = std::string("OPENBLAS_NUM_THREADS=1 ") + ISPLITEE_PYTHON + " " +
                          ISPLITEE_SOURCE_DIR + "/scripts/export_torchvision.py " + args +
                          " --random-init --randomize-bn --seed 3 --out " + out.string() +
                          " --reference " + ref.string() + " --reference-size 64 2>/dev/null";
  return std::system(cmd.c_str()) == 0;
}

Reference load_reference(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto d = torch::pickle_load(bytes).toGenericDict();
  return {d.at("input").toTensor(), d.at("logits").toTensor()};
}

bool have_torchvision() {
  const std::string cmd = std::string(ISPLITEE_PYTHON) + " -c 'import torchvision' 2>/dev/null";
  return std::system(cmd.c_str()) == 0;
}

void check_parity(ModelConfig c, const std::string& args, const std::string& tag) {
  if (!have_torchvision()) GTEST_SKIP() << "no torchvision for " << ISPLITEE_PYTHON;
  configure_runtime(1);
  const auto dir = work_dir();
  const auto weights = dir / (tag + ".pt"), ref_path = dir / (tag + "_ref.pt");
  ASSERT_TRUE(export_model(args, weights, ref_path)) << "export failed: " << args;
  c.pretrained = weights.string();
  c.input_size = 64;
  MultiExitNet net = build_model(c);
  net->eval();
  const Reference ref = load_reference(ref_path);
  torch::NoGradGuard ng;
  const auto outs = net->forward(ref.input);
  const double diff = (outs.back() - ref.logits).abs().max().item<double>();
  EXPECT_LE(diff, 1e-4) << tag << ": final logits differ from torchvision";
  // Edge/cloud composition at every split gives the same final logits as the full pass.
  const int64_t K = net->num_exits();
  for (int64_t s = 0; s <= K; ++s) {
    const auto y = net->exit_logits(K, net->run_stages(net->run_stages(ref.input, 0, s), s, K));
    EXPECT_LE((y - ref.logits).abs().max().item<double>(), 1e-4) << tag << " split " << s;
  }
  // BatchNorm folding keeps parity.
  net->fold_batchnorm();
  const auto folded = net->forward(ref.input).back();
  EXPECT_LE((folded - ref.logits).abs().max().item<double>(), 1e-4) << tag << " folded";
  // So does the fast inference path, for the full pass and at every split point.
  net->optimize_for_inference();
  const auto fast = net->forward(ref.input).back();
  EXPECT_LE((fast - ref.logits).abs().max().item<double>(), 1e-4) << tag << " fast path";
  for (int64_t s = 0; s <= K; ++s) {
    const auto y = net->exit_logits(K, net->run_stages(net->run_stages(ref.input, 0, s), s, K));
    EXPECT_LE((y - ref.logits).abs().max().item<double>(), 1e-4) << tag << " fast split " << s;
  }
}

}  // namespace

TEST(TorchvisionParity, MobileNetV2) {
  ModelConfig c;
  c.arch = "mobilenet_v2";
  c.num_classes = 10;
  check_parity(c, "--arch mobilenet_v2 --num-classes 10", "mbv2");
}

TEST(TorchvisionParity, MobileNetV2WidthHalfGrayscale) {
  ModelConfig c;
  c.arch = "mobilenet_v2";
  c.num_classes = 7;
  c.width_mult = 0.5;
  c.in_channels = 1;
  check_parity(c, "--arch mobilenet_v2 --num-classes 7 --width-mult 0.5 --in-channels 1",
               "mbv2_half");
}

TEST(TorchvisionParity, ResNet18) {
  ModelConfig c;
  c.arch = "resnet18";
  c.num_classes = 10;
  check_parity(c, "--arch resnet18 --num-classes 10", "r18");
}

TEST(TorchvisionParity, ImportErrorsListKeys) {
  if (!have_torchvision()) GTEST_SKIP() << "no torchvision";
  const auto dir = work_dir();
  const auto weights = dir / "r18.pt", ref = dir / "r18_ref.pt";
  ASSERT_TRUE(export_model("--arch resnet18 --num-classes 10", weights, ref));
  ModelConfig c;
  c.arch = "resnet18";
  c.num_classes = 10;
  c.input_size = 64;
  c.pretrained = weights.string();
  // small_input changes the stem to 3×3: a shape mismatch that names the key and both shapes.
  c.small_input = true;
  try {
    build_model(c);
    FAIL() << "expected a shape mismatch";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(e.code(), ErrorCode::kData);
    EXPECT_NE(m.find("shape mismatch: features.0.conv.0.weight [64,3,7,7] vs model [64,3,3,3]"),
              std::string::npos)
        << m;
  }
  // Another arch is refused by name.
  c.small_input = false;
  c.arch = "resnet34";
  EXPECT_THROW(build_model(c), Error);
  // Another class count keeps the classifier's init (fine-tuning) and loads the rest.
  c.arch = "resnet18";
  c.num_classes = 4;
  EXPECT_NO_THROW(build_model(c));
}
