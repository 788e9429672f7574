#include "isplitee/model/multi_exit_net.hpp"

#include <algorithm>
#include <cmath>

#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/common/text.hpp"

namespace isplitee::model {
namespace {

// MAC counting during the construction-time probe pass: convolutions and linear layers only, the
// convention behind torchvision's published figures (MobileNetV2 300.8 M, ResNet-18 1.814 G).
// Set only for the duration of probe(), on the constructing thread.
thread_local std::int64_t* t_mac_counter = nullptr;

enum class Act { kNone, kRelu, kRelu6 };

torch::Tensor activate(torch::Tensor x, Act a) {
  switch (a) {
    case Act::kRelu:
      return torch::relu_(x);
    case Act::kRelu6:
      return torch::hardtanh_(x, 0.0, 6.0);
    case Act::kNone:
      break;
  }
  return x;
}

/// Conv (no bias) → BatchNorm → activation; children "0" and "1" as in torchvision's
/// Conv2dNormActivation. Eval-mode BN can be folded into the convolution's weight and bias.
class ConvBNActImpl : public torch::nn::Module {
 public:
  ConvBNActImpl(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t groups, Act act)
      : in_(in), k_(k), stride_(stride), pad_((k - 1) / 2), groups_(groups), act_(act) {
    conv_ = register_module("0", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k)
                                                       .stride(stride)
                                                       .padding(pad_)
                                                       .groups(groups)
                                                       .bias(false)));
    bn_ = register_module("1", torch::nn::BatchNorm2d(out));
  }

  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor y = folded_ ? torch::conv2d(x, wf_, bf_, stride_, pad_, 1, groups_)
                              : bn_->forward(conv_->forward(x));
    if (t_mac_counter) *t_mac_counter += y.numel() / y.size(0) * (in_ / groups_) * k_ * k_;
    return activate(y, act_);
  }

  /// METHOD: y = γ (Wx − μ)/√(σ²+ε) + β = (γ/√(σ²+ε)) W x + (β − γμ/√(σ²+ε)).
  void fold(bool channels_last) {
    torch::NoGradGuard ng;
    const auto scale = bn_->weight / torch::sqrt(bn_->running_var + bn_->options.eps());
    wf_ = (conv_->weight * scale.reshape({-1, 1, 1, 1}))
              .contiguous(channels_last ? torch::MemoryFormat::ChannelsLast
                                        : torch::MemoryFormat::Contiguous);
    bf_ = (bn_->bias - bn_->running_mean * scale).contiguous();
    folded_ = true;
  }
  void unfold() {
    folded_ = false;
    wf_ = bf_ = torch::Tensor();
  }

 private:
  int64_t in_, k_, stride_, pad_, groups_;
  Act act_;
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  bool folded_ = false;
  torch::Tensor wf_, bf_;
};
TORCH_MODULE(ConvBNAct);

torch::Tensor linear_counted(torch::nn::Linear& fc, const torch::Tensor& x) {
  if (t_mac_counter) *t_mac_counter += fc->weight.size(0) * fc->weight.size(1);
  return fc->forward(x);
}

/// One depth unit of the backbone.
struct BlockBase : torch::nn::Module {
  virtual torch::Tensor forward(torch::Tensor x) = 0;
};

/// A plain conv block (MobileNetV2 stem and last 1×1 conv) or a ResNet stem (+ optional max-pool).
struct ConvBlock : BlockBase {
  ConvBlock(int64_t in, int64_t out, int64_t k, int64_t stride, Act act, bool maxpool)
      : maxpool_(maxpool) {
    conv_ = register_module("conv", ConvBNAct(in, out, k, stride, 1, act));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = conv_->forward(x);
    if (maxpool_) x = torch::max_pool2d(x, 3, 2, 1);
    return x;
  }
  ConvBNAct conv_{nullptr};
  bool maxpool_;
};

/// torchvision's MobileNetV2 InvertedResidual (expand 1×1 → depthwise 3×3 → project 1×1).
struct InvertedResidual : BlockBase {
  InvertedResidual(int64_t inp, int64_t oup, int64_t stride, int64_t t)
      : use_res_(stride == 1 && inp == oup) {
    const int64_t hidden = static_cast<int64_t>(std::lround(static_cast<double>(inp) * t));
    if (t != 1) expand_ = register_module("expand", ConvBNAct(inp, hidden, 1, 1, 1, Act::kRelu6));
    dw_ = register_module("dw", ConvBNAct(hidden, hidden, 3, stride, hidden, Act::kRelu6));
    project_ = register_module("project", ConvBNAct(hidden, oup, 1, 1, 1, Act::kNone));
  }
  torch::Tensor forward(torch::Tensor x) override {
    torch::Tensor h = expand_ ? expand_->forward(x) : x;
    h = project_->forward(dw_->forward(h));
    return use_res_ ? h.add_(x) : h;
  }
  ConvBNAct expand_{nullptr}, dw_{nullptr}, project_{nullptr};
  bool use_res_;
};

/// torchvision's BasicBlock (ResNet-18/34).
struct BasicBlock : BlockBase {
  BasicBlock(int64_t in, int64_t out, int64_t stride) {
    c1_ = register_module("c1", ConvBNAct(in, out, 3, stride, 1, Act::kRelu));
    c2_ = register_module("c2", ConvBNAct(out, out, 3, 1, 1, Act::kNone));
    if (stride != 1 || in != out)
      down_ = register_module("down", ConvBNAct(in, out, 1, stride, 1, Act::kNone));
  }
  torch::Tensor forward(torch::Tensor x) override {
    torch::Tensor idt = down_ ? down_->forward(x) : x;
    return torch::relu_(c2_->forward(c1_->forward(x)).add_(idt));
  }
  ConvBNAct c1_{nullptr}, c2_{nullptr}, down_{nullptr};
};

/// torchvision's Bottleneck (ResNet-50, "v1.5": stride on the 3×3 convolution).
struct Bottleneck : BlockBase {
  Bottleneck(int64_t in, int64_t planes, int64_t stride) {
    c1_ = register_module("c1", ConvBNAct(in, planes, 1, 1, 1, Act::kRelu));
    c2_ = register_module("c2", ConvBNAct(planes, planes, 3, stride, 1, Act::kRelu));
    c3_ = register_module("c3", ConvBNAct(planes, planes * 4, 1, 1, 1, Act::kNone));
    if (stride != 1 || in != planes * 4)
      down_ = register_module("down", ConvBNAct(in, planes * 4, 1, stride, 1, Act::kNone));
  }
  torch::Tensor forward(torch::Tensor x) override {
    torch::Tensor idt = down_ ? down_->forward(x) : x;
    return torch::relu_(c3_->forward(c2_->forward(c1_->forward(x))).add_(idt));
  }
  ConvBNAct c1_{nullptr}, c2_{nullptr}, c3_{nullptr}, down_{nullptr};
};

/// He et al.'s CIFAR ResNet block with the parameter-free "option A" shortcut (strided identity,
/// zero-padded channels), as in the paper's CIFAR experiments.
struct CifarBlock : BlockBase {
  CifarBlock(int64_t in, int64_t out, int64_t stride) : stride_(stride), pad_(out - in) {
    c1_ = register_module("c1", ConvBNAct(in, out, 3, stride, 1, Act::kRelu));
    c2_ = register_module("c2", ConvBNAct(out, out, 3, 1, 1, Act::kNone));
  }
  torch::Tensor forward(torch::Tensor x) override {
    torch::Tensor idt = x;
    if (stride_ != 1)
      idt = idt.slice(2, 0, c10::nullopt, stride_).slice(3, 0, c10::nullopt, stride_);
    if (pad_ > 0) idt = torch::constant_pad_nd(idt, {0, 0, 0, 0, pad_ / 2, pad_ - pad_ / 2});
    return torch::relu_(c2_->forward(c1_->forward(x)).add_(idt));
  }
  int64_t stride_, pad_;
  ConvBNAct c1_{nullptr}, c2_{nullptr};
};

/// A classifier head on the activation of one split.
struct HeadBase : torch::nn::Module {
  virtual torch::Tensor forward(const torch::Tensor& h) = 0;
};

/// Exit heads: bnpool (BN → GAP → Linear, docs/method.md §1), pool (GAP → Linear),
/// conv (conv3×3-BN-ReLU → GAP → Linear).
struct ExitHead : HeadBase {
  ExitHead(const std::string& type, int64_t channels, int64_t classes) {
    if (type == "bnpool") bn_ = register_module("bn", torch::nn::BatchNorm2d(channels));
    if (type == "conv")
      conv_ = register_module("conv", ConvBNAct(channels, channels, 3, 1, 1, Act::kRelu));
    fc_ = register_module("fc", torch::nn::Linear(channels, classes));
  }
  torch::Tensor forward(const torch::Tensor& h) override {
    if (folded_) return torch::linear(h.mean({2, 3}), wf_, bf_);
    torch::Tensor x = h;
    if (bn_) x = bn_->forward(x);
    if (conv_) x = conv_->forward(x);
    return linear_counted(fc_, x.mean({2, 3}));
  }
  /// bnpool in eval mode: BN is a per-channel affine map s·x + t, which commutes with the average
  /// pool, so fc(pool(BN(x))) = (W·diag(s)) pool(x) + (W t + b): the BN pass over the whole
  /// activation map disappears.
  void fold() {
    if (!bn_) return;
    torch::NoGradGuard ng;
    const auto s = bn_->weight / torch::sqrt(bn_->running_var + bn_->options.eps());
    const auto t = bn_->bias - bn_->running_mean * s;
    wf_ = (fc_->weight * s.unsqueeze(0)).contiguous();
    bf_ = fc_->bias + torch::mv(fc_->weight, t);
    folded_ = true;
  }
  void unfold() {
    folded_ = false;
    wf_ = bf_ = torch::Tensor();
  }
  bool folded_ = false;
  torch::Tensor wf_, bf_;
  torch::nn::BatchNorm2d bn_{nullptr};
  ConvBNAct conv_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

/// The backbone's own classifier: GAP → Dropout → Linear.
struct FinalHead : HeadBase {
  FinalHead(int64_t channels, int64_t classes, double dropout) : dropout_(dropout) {
    fc_ = register_module("fc", torch::nn::Linear(channels, classes));
  }
  torch::Tensor forward(const torch::Tensor& h) override {
    torch::Tensor x = h.mean({2, 3});
    if (dropout_ > 0) x = torch::dropout(x, dropout_, is_training());
    return linear_counted(fc_, x);
  }
  torch::nn::Linear fc_{nullptr};
  double dropout_;
};

/// torchvision's _make_divisible: channels rounded to a multiple of `divisor`, never below 90%.
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t nv =
      std::max<int64_t>(divisor, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(nv) < 0.9 * v) nv += divisor;
  return nv;
}

int64_t count_params(const torch::nn::Module& m) {
  int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

struct MultiExitNetImpl::State {
  ModelConfig cfg;
  std::vector<std::shared_ptr<BlockBase>> blocks;
  std::vector<std::shared_ptr<HeadBase>> heads;  // K entries: K-1 exit heads, then the classifier
  std::vector<int64_t> exit_blocks;              // l_1..l_K, 1-based block counts
  std::vector<int64_t> block_channels, block_macs;
  std::vector<std::vector<int64_t>> block_shapes;
  std::vector<int64_t> stage_calls;
  ModelProfile profile;
  bool folded = false;
  bool channels_last = false;
};

namespace {

// A block builder appends the architecture's blocks to `b`, sets the channels the final head
// sees and returns its default exit blocks (without the final one).
using BlockBuilder = std::vector<int64_t> (*)(const ModelConfig& c,
                                              std::vector<std::shared_ptr<BlockBase>>& b,
                                              int64_t& final_channels);

std::vector<int64_t> build_mobilenet_v2(const ModelConfig& c,
                                        std::vector<std::shared_ptr<BlockBase>>& b,
                                        int64_t& final_channels) {
  std::vector<int64_t> def;
  {
    struct Setting {
      int64_t t, c, n, s;
    };
    const Setting settings[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
    int64_t in = make_divisible(32 * c.width_mult);
    const int64_t last = make_divisible(1280 * std::max(1.0, c.width_mult));
    b.push_back(std::make_shared<ConvBlock>(c.in_channels, in, 3, c.small_input ? 1 : 2,
                                            Act::kRelu6, false));
    for (const auto& st : settings) {
      const int64_t out = make_divisible(st.c * c.width_mult);
      for (int64_t i = 0; i < st.n; ++i) {
        int64_t stride = i == 0 ? st.s : 1;
        if (c.small_input && st.c == 24) stride = 1;  // CIFAR ports keep 32 px one stage longer
        b.push_back(std::make_shared<InvertedResidual>(in, out, stride, st.t));
        in = out;
      }
    }
    b.push_back(std::make_shared<ConvBlock>(in, last, 1, 1, Act::kRelu6, false));
    final_channels = last;
    def = {3, 6, 9, 12, 15, 18};  // docs/method.md §1: after features[2], [5], … [17]
  }
  return def;
}

std::vector<int64_t> build_resnet_cifar(const ModelConfig& c,
                                        std::vector<std::shared_ptr<BlockBase>>& b,
                                        int64_t& final_channels) {
  std::vector<int64_t> def;
  {
    const int64_t n = (c.depth - 2) / 6;
    b.push_back(std::make_shared<ConvBlock>(c.in_channels, c.width, 3, 1, Act::kRelu, false));
    int64_t in = c.width;
    for (int64_t stage = 0; stage < 3; ++stage) {
      const int64_t out = c.width << stage;
      for (int64_t i = 0; i < n; ++i) {
        b.push_back(std::make_shared<CifarBlock>(in, out, (stage > 0 && i == 0) ? 2 : 1));
        in = out;
      }
    }
    final_channels = in;
    const int64_t r = 3 * n;  // residual blocks; unit r+1 is the last
    if (c.depth <= 20) {
      for (int64_t i = 2; i <= r; ++i) def.push_back(i);
    } else {
      for (int64_t j = 1; j <= 8; ++j) {  // ~9 exits evenly spaced over the residual blocks
        const int64_t blk = 1 + static_cast<int64_t>(std::lround(static_cast<double>(j) * r / 9.0));
        if (blk < r + 1 && (def.empty() || blk > def.back())) def.push_back(blk);
      }
    }
  }
  return def;
}

std::vector<int64_t> build_resnet(const ModelConfig& c, std::vector<std::shared_ptr<BlockBase>>& b,
                                  int64_t& final_channels) {
  std::vector<int64_t> def;
  {  // resnet18/34/50
    const bool bottleneck = c.arch == "resnet50";
    const std::vector<int64_t> layers =
        c.arch == "resnet18" ? std::vector<int64_t>{2, 2, 2, 2} : std::vector<int64_t>{3, 4, 6, 3};
    if (c.small_input)
      b.push_back(std::make_shared<ConvBlock>(c.in_channels, 64, 3, 1, Act::kRelu, false));
    else
      b.push_back(std::make_shared<ConvBlock>(c.in_channels, 64, 7, 2, Act::kRelu, true));
    int64_t in = 64;
    for (std::size_t stage = 0; stage < 4; ++stage) {
      const int64_t planes = int64_t{64} << stage;
      for (int64_t i = 0; i < layers[stage]; ++i) {
        const int64_t stride = (stage > 0 && i == 0) ? 2 : 1;
        if (bottleneck) {
          b.push_back(std::make_shared<Bottleneck>(in, planes, stride));
          in = planes * 4;
        } else {
          b.push_back(std::make_shared<BasicBlock>(in, planes, stride));
          in = planes;
        }
      }
    }
    final_channels = in;
    for (int64_t i = 2; i < static_cast<int64_t>(b.size()); ++i) def.push_back(i);
  }
  return def;
}

// One line per architecture of the backbone registry (model/backbones.hpp holds the names,
// descriptions and config keys; a unit test checks that both lists agree).
const std::vector<std::pair<std::string, BlockBuilder>>& block_builders() {
  static const std::vector<std::pair<std::string, BlockBuilder>> table = {
      {"mobilenet_v2", build_mobilenet_v2}, {"resnet18", build_resnet},
      {"resnet34", build_resnet},           {"resnet50", build_resnet},
      {"resnet_cifar", build_resnet_cifar},
  };
  return table;
}

std::vector<int64_t> build_blocks(const ModelConfig& c, std::vector<std::shared_ptr<BlockBase>>& b,
                                  int64_t& final_channels) {
  for (const auto& [name, build] : block_builders())
    if (name == c.arch) return build(c, b, final_channels);
  fail(ErrorCode::kUsage, "model.arch: unknown architecture '", c.arch,
       "' (valid: ", join(builder_architectures(), ", "), ")");
}

}  // namespace

std::vector<std::string> builder_architectures() {
  std::vector<std::string> names;
  for (const auto& entry : block_builders()) names.push_back(entry.first);
  return names;
}

MultiExitNetImpl::MultiExitNetImpl(const ModelConfig& cfg) : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.cfg = cfg;
  ISPLITEE_CHECK(cfg.in_channels == 1 || cfg.in_channels == 3,
                 "model.in_channels: must be 1 or 3, got ", cfg.in_channels);
  int64_t final_channels = 0;
  std::vector<int64_t> def = build_blocks(cfg, s.blocks, final_channels);
  auto features = register_module("features", torch::nn::ModuleList());
  for (auto& b : s.blocks) features->push_back(b);
  const auto nblocks = static_cast<int64_t>(s.blocks.size());

  // Probe pass (eval mode, batch 1): per-block output shapes and MACs at the configured input size.
  {
    torch::NoGradGuard ng;
    features->eval();
    torch::Tensor h = torch::zeros({1, cfg.in_channels, cfg.input_size, cfg.input_size});
    for (auto& b : s.blocks) {
      int64_t macs = 0;
      t_mac_counter = &macs;
      try {
        h = b->forward(h);
      } catch (...) {
        t_mac_counter = nullptr;
        throw;
      }
      t_mac_counter = nullptr;
      ISPLITEE_CHECK(h.size(2) >= 1 && h.size(3) >= 1, "model.input_size: ", cfg.input_size,
                     " is too small for ", cfg.arch);
      s.block_macs.push_back(macs);
      s.block_channels.push_back(h.size(1));
      s.block_shapes.push_back({h.size(1), h.size(2), h.size(3)});
    }
    features->train();
  }

  // Exit placement.
  std::vector<int64_t> ex;
  const auto& pl = cfg.exits;
  if (pl.mode == "default") {
    ex = def;
  } else if (pl.mode == "blocks") {
    for (auto blk : pl.blocks)
      ISPLITEE_CHECK(blk >= 1 && blk < nblocks, "model.exits.blocks: block ", blk,
                     " is out of range [1, ", nblocks - 1, "] for ", cfg.arch, " (", nblocks,
                     " blocks; the final exit after block ", nblocks, " is always added)");
    ex = pl.blocks;
  } else if (pl.mode == "every") {
    for (int64_t blk = pl.every; blk < nblocks; blk += pl.every) ex.push_back(blk);
  } else if (pl.mode == "macs") {
    int64_t total = 0;
    for (auto m : s.block_macs) total += m;
    for (double f : pl.mac_fractions) {
      int64_t cum = 0;
      for (int64_t i = 0; i < nblocks; ++i) {
        cum += s.block_macs[static_cast<std::size_t>(i)];
        if (static_cast<double>(cum) >= f * static_cast<double>(total)) {
          if (i + 1 < nblocks && (ex.empty() || i + 1 > ex.back())) ex.push_back(i + 1);
          break;
        }
      }
    }
  } else {
    fail(ErrorCode::kUsage, "model.exits.mode: unknown placement '", pl.mode,
         "' (use default, blocks, every, macs)");
  }
  ISPLITEE_CHECK(!ex.empty(), "model.exits: the placement gives no exit before the final one for ",
                 cfg.arch, " (", nblocks, " blocks); choose blocks in [1, ", nblocks - 1, "]");
  ex.push_back(nblocks);
  s.exit_blocks = ex;
  const auto K = static_cast<int64_t>(ex.size());

  auto exits = register_module("exits", torch::nn::ModuleList());
  for (int64_t k = 0; k + 1 < K; ++k) {
    auto h = std::make_shared<ExitHead>(
        cfg.head, s.block_channels[static_cast<std::size_t>(ex[k] - 1)], cfg.num_classes);
    exits->push_back(h);
    s.heads.push_back(h);
  }
  auto fin = std::make_shared<FinalHead>(final_channels, cfg.num_classes, cfg.dropout);
  register_module("classifier", fin);
  s.heads.push_back(fin);

  // torchvision's init: Kaiming-normal (fan_out) convolutions, BN γ=1 β=0; MobileNetV2's final
  // Linear N(0, 0.01); other Linear layers keep PyTorch's default.
  torch::NoGradGuard ng;
  for (auto& m : modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
    }
  }
  if (cfg.arch == "mobilenet_v2") {
    torch::nn::init::normal_(fin->fc_->weight, 0.0, 0.01);
    torch::nn::init::zeros_(fin->fc_->bias);
  }
  s.stage_calls.assign(static_cast<std::size_t>(K), 0);

  // Static profile: heads probed at batch 1 on zero activations of the right shape.
  ModelProfile& p = s.profile;
  p.arch = cfg.arch;
  p.input_channels = cfg.in_channels;
  p.input_size = cfg.input_size;
  p.num_classes = cfg.num_classes;
  p.total_blocks = nblocks;
  std::vector<int64_t> block_params;
  for (auto& b : s.blocks) block_params.push_back(count_params(*b));
  int64_t cum_macs = 0, cum_params = 0, head_macs_sum = 0, head_params_sum = 0, blk = 0;
  for (int64_t k = 0; k < K; ++k) {
    for (; blk < ex[k]; ++blk) {
      cum_macs += s.block_macs[static_cast<std::size_t>(blk)];
      cum_params += block_params[static_cast<std::size_t>(blk)];
    }
    const auto& shape = s.block_shapes[static_cast<std::size_t>(ex[k] - 1)];
    int64_t hm = 0;
    {
      auto& head = *s.heads[static_cast<std::size_t>(k)];
      const bool was = head.is_training();
      head.eval();
      t_mac_counter = &hm;
      head.forward(torch::zeros({1, shape[0], shape[1], shape[2]}));
      t_mac_counter = nullptr;
      head.train(was);
    }
    head_macs_sum += hm;
    head_params_sum += count_params(*s.heads[static_cast<std::size_t>(k)]);
    ExitProfile e;
    e.depth_blocks = ex[k];
    e.channels = shape[0];
    e.backbone_macs = cum_macs;
    e.head_macs = hm;
    e.edge_macs = cum_macs + head_macs_sum;
    e.edge_params = cum_params + head_params_sum;
    e.activation_shape = shape;
    const int64_t numel = shape[0] * shape[1] * shape[2];
    e.activation_bytes_fp32 = 4 * numel;
    e.activation_bytes_fp16 = 2 * numel;
    e.activation_bytes_int8 = numel;
    p.exits.push_back(e);
  }
  p.backbone_macs = cum_macs + p.exits.back().head_macs;
  p.total_macs = cum_macs + head_macs_sum;
  p.total_params = count_params(*this);
  p.plain_params = cum_params + count_params(*fin);
}

std::vector<torch::Tensor> MultiExitNetImpl::forward(torch::Tensor x,
                                                     std::optional<int64_t> last_exit) {
  const int64_t K = num_exits();
  const int64_t last = last_exit.value_or(K);
  ISPLITEE_CHECK(last >= 1 && last <= K, "forward: last_exit ", last, " is out of range [1, ", K,
                 "]");
  const auto& c = state_->cfg;
  ISPLITEE_CHECK(x.dim() == 4 && x.size(1) == c.in_channels, "forward: expected an N×",
                 c.in_channels, "×H×W input, got ", x.sizes());
  std::vector<torch::Tensor> out;
  out.reserve(static_cast<std::size_t>(last));
  torch::Tensor h = std::move(x);
  for (int64_t k = 1; k <= last; ++k) {
    h = run_stages(h, k - 1, k);
    out.push_back(exit_logits(k, h));
  }
  return out;
}

torch::Tensor MultiExitNetImpl::run_stages(torch::Tensor h, int64_t begin, int64_t end) {
  State& s = *state_;
  const int64_t K = num_exits();
  ISPLITEE_CHECK(begin >= 0 && begin <= end && end <= K, "run_stages: need 0 ≤ begin ≤ end ≤ ", K,
                 ", got begin=", begin, " end=", end);
  if (s.channels_last && h.dim() == 4) h = h.contiguous(torch::MemoryFormat::ChannelsLast);
  for (int64_t st = begin; st < end; ++st) {
    const int64_t from = st == 0 ? 0 : s.exit_blocks[static_cast<std::size_t>(st - 1)];
    const int64_t to = s.exit_blocks[static_cast<std::size_t>(st)];
    for (int64_t b = from; b < to; ++b) h = s.blocks[static_cast<std::size_t>(b)]->forward(h);
    ++s.stage_calls[static_cast<std::size_t>(st)];
  }
  return h;
}

torch::Tensor MultiExitNetImpl::exit_logits(int64_t k, const torch::Tensor& h) {
  const int64_t K = num_exits();
  ISPLITEE_CHECK(k >= 1 && k <= K, "exit_logits: exit ", k, " is out of range [1, ", K, "]");
  return state_->heads[static_cast<std::size_t>(k - 1)]->forward(h);
}

int64_t MultiExitNetImpl::num_exits() const noexcept {
  return static_cast<int64_t>(state_->exit_blocks.size());
}
int64_t MultiExitNetImpl::num_blocks() const noexcept {
  return static_cast<int64_t>(state_->blocks.size());
}
const std::vector<int64_t>& MultiExitNetImpl::exit_blocks() const noexcept {
  return state_->exit_blocks;
}
const ModelConfig& MultiExitNetImpl::config() const noexcept { return state_->cfg; }
const ModelProfile& MultiExitNetImpl::profile() const noexcept { return state_->profile; }
void MultiExitNetImpl::set_profile(ModelProfile p) { state_->profile = std::move(p); }

std::vector<torch::Tensor> MultiExitNetImpl::backbone_parameters() const {
  return named_children()["features"]->parameters();
}
std::vector<torch::Tensor> MultiExitNetImpl::exit_head_parameters() const {
  return named_children()["exits"]->parameters();
}
std::vector<torch::Tensor> MultiExitNetImpl::final_head_parameters() const {
  return named_children()["classifier"]->parameters();
}

const std::vector<int64_t>& MultiExitNetImpl::stage_calls() const noexcept {
  return state_->stage_calls;
}
void MultiExitNetImpl::reset_stage_calls() {
  std::fill(state_->stage_calls.begin(), state_->stage_calls.end(), 0);
}

void MultiExitNetImpl::fold_batchnorm() {
  ISPLITEE_CHECK(!is_training(),
                 "fold_batchnorm: call eval() first (folding uses BatchNorm's "
                 "running statistics, valid in eval mode only)");
  for (auto& m : modules(/*include_self=*/false))
    if (auto* cb = m->as<ConvBNAct>()) cb->fold(state_->channels_last);
  for (auto& h : state_->heads)
    if (auto* eh = dynamic_cast<ExitHead*>(h.get())) eh->fold();
  state_->folded = true;
}

bool MultiExitNetImpl::folded() const noexcept { return state_->folded; }

void MultiExitNetImpl::optimize_for_inference(bool channels_last) {
  ISPLITEE_CHECK(!is_training(), "optimize_for_inference: call eval() first");
  state_->channels_last = channels_last;
  fold_batchnorm();
}

bool MultiExitNetImpl::channels_last() const noexcept { return state_->channels_last; }

void MultiExitNetImpl::train(bool on) {
  if (on && state_ && state_->folded) {
    for (auto& m : modules(/*include_self=*/false))
      if (auto* cb = m->as<ConvBNAct>()) cb->unfold();
    for (auto& h : state_->heads)
      if (auto* eh = dynamic_cast<ExitHead*>(h.get())) eh->unfold();
    state_->folded = false;
  }
  if (on && state_) state_->channels_last = false;
  torch::nn::Module::train(on);
}

MultiExitNet build_model(const ModelConfig& cfg) {
  MultiExitNet net(cfg);
  if (!cfg.pretrained.empty()) load_torchvision_weights(*net, cfg.pretrained);
  return net;
}

}  // namespace isplitee::model
