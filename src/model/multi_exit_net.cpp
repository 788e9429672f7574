#include "isplitee/model/multi_exit_net.hpp"

#include <algorithm>
#include <cmath>

#include "fast_path.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/common/text.hpp"
#include "layers.hpp"

namespace isplitee::model {

using detail::Act;
using detail::BlockBase;
using detail::HeadBase;

namespace {

/// The blocks of one architecture, before exit heads are attached.
struct Backbone {
  std::vector<std::shared_ptr<BlockBase>> blocks;
  std::int64_t final_channels = 0;
  std::vector<std::int64_t> default_exits;  ///< exit blocks of mode "default", final one excluded
};

/// torchvision's MobileNetV2 (features[0..18]); small_input keeps 32 px one stage longer.
Backbone build_mobilenet_v2(const ModelConfig& c) {
  struct Setting {
    std::int64_t t, c, n, s;
  };
  const Setting settings[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                              {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  Backbone bb;
  auto& b = bb.blocks;
  std::int64_t in = detail::make_divisible(32 * c.width_mult);
  const std::int64_t last = detail::make_divisible(1280 * std::max(1.0, c.width_mult));
  b.push_back(std::make_shared<detail::ConvBlock>(c.in_channels, in, 3, c.small_input ? 1 : 2,
                                                  Act::kRelu6, false));
  for (const auto& st : settings) {
    const std::int64_t out = detail::make_divisible(static_cast<double>(st.c) * c.width_mult);
    for (std::int64_t i = 0; i < st.n; ++i) {
      std::int64_t stride = i == 0 ? st.s : 1;
      if (c.small_input && st.c == 24) stride = 1;  // CIFAR ports keep 32 px one stage longer
      b.push_back(std::make_shared<detail::InvertedResidual>(in, out, stride, st.t));
      in = out;
    }
  }
  b.push_back(std::make_shared<detail::ConvBlock>(in, last, 1, 1, Act::kRelu6, false));
  bb.final_channels = last;
  bb.default_exits = {3, 6, 9, 12, 15, 18};  // docs/method.md §1: after features[2], [5], … [17]
  return bb;
}

/// He et al.'s CIFAR ResNet of depth 6n+2 (stem + 3 stages of n blocks).
Backbone build_resnet_cifar(const ModelConfig& c) {
  Backbone bb;
  auto& b = bb.blocks;
  const std::int64_t n = (c.depth - 2) / 6;
  b.push_back(std::make_shared<detail::ConvBlock>(c.in_channels, c.width, 3, 1, Act::kRelu, false));
  std::int64_t in = c.width;
  for (std::int64_t stage = 0; stage < 3; ++stage) {
    const std::int64_t out = c.width << stage;
    for (std::int64_t i = 0; i < n; ++i) {
      b.push_back(std::make_shared<detail::CifarBlock>(in, out, (stage > 0 && i == 0) ? 2 : 1));
      in = out;
    }
  }
  bb.final_channels = in;
  const std::int64_t r = 3 * n;  // residual blocks; unit r+1 is the last
  auto& def = bb.default_exits;
  if (c.depth <= 20) {
    for (std::int64_t i = 2; i <= r; ++i) def.push_back(i);
  } else {
    for (std::int64_t j = 1; j <= 8; ++j) {  // ~9 exits evenly spaced over the residual blocks
      const std::int64_t blk =
          1 + static_cast<std::int64_t>(std::lround(static_cast<double>(j) * r / 9.0));
      if (blk < r + 1 && (def.empty() || blk > def.back())) def.push_back(blk);
    }
  }
  return bb;
}

/// torchvision's ResNet-18/34 (BasicBlock) and ResNet-50 (Bottleneck).
Backbone build_resnet(const ModelConfig& c) {
  Backbone bb;
  auto& b = bb.blocks;
  const bool bottleneck = c.arch == "resnet50";
  const std::vector<std::int64_t> layers = c.arch == "resnet18"
                                               ? std::vector<std::int64_t>{2, 2, 2, 2}
                                               : std::vector<std::int64_t>{3, 4, 6, 3};
  if (c.small_input)
    b.push_back(std::make_shared<detail::ConvBlock>(c.in_channels, 64, 3, 1, Act::kRelu, false));
  else
    b.push_back(std::make_shared<detail::ConvBlock>(c.in_channels, 64, 7, 2, Act::kRelu, true));
  std::int64_t in = 64;
  for (std::size_t stage = 0; stage < 4; ++stage) {
    const std::int64_t planes = std::int64_t{64} << stage;
    for (std::int64_t i = 0; i < layers[stage]; ++i) {
      const std::int64_t stride = (stage > 0 && i == 0) ? 2 : 1;
      if (bottleneck) {
        b.push_back(std::make_shared<detail::Bottleneck>(in, planes, stride));
        in = planes * 4;
      } else {
        b.push_back(std::make_shared<detail::BasicBlock>(in, planes, stride));
        in = planes;
      }
    }
  }
  bb.final_channels = in;
  for (std::int64_t i = 2; i < static_cast<std::int64_t>(b.size()); ++i)
    bb.default_exits.push_back(i);
  return bb;
}

using BackboneBuilder = Backbone (*)(const ModelConfig& c);

// One line per architecture of the backbone registry (model/backbones.hpp holds the names,
// descriptions and config keys; a unit test checks that both lists agree).
const std::vector<std::pair<std::string, BackboneBuilder>>& backbone_builders() {
  static const std::vector<std::pair<std::string, BackboneBuilder>> table = {
      {"mobilenet_v2", build_mobilenet_v2}, {"resnet18", build_resnet},
      {"resnet34", build_resnet},           {"resnet50", build_resnet},
      {"resnet_cifar", build_resnet_cifar},
  };
  return table;
}

Backbone build_backbone(const ModelConfig& c) {
  for (const auto& [name, build] : backbone_builders())
    if (name == c.arch) return build(c);
  fail(ErrorCode::kUsage, "model.arch: unknown architecture '", c.arch,
       "' (valid: ", join(builder_architectures(), ", "), ")");
}

/// Per-block output shape and MACs at the configured input size, from one eval-mode pass at
/// batch 1.
struct BlockProbe {
  std::vector<std::int64_t> macs, channels;
  std::vector<std::vector<std::int64_t>> shapes;  ///< C, H, W
};

BlockProbe probe_blocks(const ModelConfig& cfg, torch::nn::ModuleList features,
                        const std::vector<std::shared_ptr<BlockBase>>& blocks) {
  BlockProbe pr;
  torch::NoGradGuard ng;
  features->eval();
  torch::Tensor h = torch::zeros({1, cfg.in_channels, cfg.input_size, cfg.input_size});
  for (const auto& b : blocks) {
    std::int64_t macs = 0;
    detail::t_mac_counter = &macs;
    try {
      h = b->forward(h);
    } catch (...) {
      detail::t_mac_counter = nullptr;
      throw;
    }
    detail::t_mac_counter = nullptr;
    ISPLITEE_CHECK(h.size(2) >= 1 && h.size(3) >= 1, "model.input_size: ", cfg.input_size,
                   " is too small for ", cfg.arch);
    pr.macs.push_back(macs);
    pr.channels.push_back(h.size(1));
    pr.shapes.push_back({h.size(1), h.size(2), h.size(3)});
  }
  features->train();
  return pr;
}

/// First block whose cumulative backbone MACs reach each fraction (SDN-style placement).
std::vector<std::int64_t> exits_by_macs(const std::vector<double>& fractions,
                                        const std::vector<std::int64_t>& block_macs) {
  const auto nblocks = static_cast<std::int64_t>(block_macs.size());
  std::int64_t total = 0;
  for (auto m : block_macs) total += m;
  std::vector<std::int64_t> ex;
  for (double f : fractions) {
    std::int64_t cum = 0;
    for (std::int64_t i = 0; i < nblocks; ++i) {
      cum += block_macs[static_cast<std::size_t>(i)];
      if (static_cast<double>(cum) >= f * static_cast<double>(total)) {
        if (i + 1 < nblocks && (ex.empty() || i + 1 > ex.back())) ex.push_back(i + 1);
        break;
      }
    }
  }
  return ex;
}

/// l_1..l_K from the placement of cfg.exits (the final exit after the last block is appended).
std::vector<std::int64_t> place_exits(const ModelConfig& cfg, const Backbone& bb,
                                      const std::vector<std::int64_t>& block_macs) {
  const auto nblocks = static_cast<std::int64_t>(bb.blocks.size());
  const auto& pl = cfg.exits;
  std::vector<std::int64_t> ex;
  if (pl.mode == "default") {
    ex = bb.default_exits;
  } else if (pl.mode == "blocks") {
    for (auto blk : pl.blocks)
      ISPLITEE_CHECK(blk >= 1 && blk < nblocks, "model.exits.blocks: block ", blk,
                     " is out of range [1, ", nblocks - 1, "] for ", cfg.arch, " (", nblocks,
                     " blocks; the final exit after block ", nblocks, " is always added)");
    ex = pl.blocks;
  } else if (pl.mode == "every") {
    for (std::int64_t blk = pl.every; blk < nblocks; blk += pl.every) ex.push_back(blk);
  } else if (pl.mode == "macs") {
    ex = exits_by_macs(pl.mac_fractions, block_macs);
  } else {
    fail(ErrorCode::kUsage, "model.exits.mode: unknown placement '", pl.mode,
         "' (use default, blocks, every, macs)");
  }
  ISPLITEE_CHECK(!ex.empty(), "model.exits: the placement gives no exit before the final one for ",
                 cfg.arch, " (", nblocks, " blocks); choose blocks in [1, ", nblocks - 1, "]");
  ex.push_back(nblocks);
  return ex;
}

/// torchvision's init: Kaiming-normal (fan_out) convolutions, BN γ=1 β=0; MobileNetV2's final
/// Linear N(0, 0.01); other Linear layers keep PyTorch's default.
void init_weights(torch::nn::Module& net, const ModelConfig& cfg, detail::FinalHead& fin) {
  torch::NoGradGuard ng;
  for (auto& m : net.modules(/*include_self=*/false)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = m->as<torch::nn::BatchNorm2d>()) {
      torch::nn::init::ones_(bn->weight);
      torch::nn::init::zeros_(bn->bias);
    }
  }
  if (cfg.arch == "mobilenet_v2") {
    torch::nn::init::normal_(fin.fc_->weight, 0.0, 0.01);
    torch::nn::init::zeros_(fin.fc_->bias);
  }
}

/// MACs of one head at batch 1 on zero activations of the split's shape.
std::int64_t head_macs(HeadBase& head, const std::vector<std::int64_t>& shape) {
  std::int64_t hm = 0;
  const bool was = head.is_training();
  head.eval();
  detail::t_mac_counter = &hm;
  head.forward(torch::zeros({1, shape[0], shape[1], shape[2]}));
  detail::t_mac_counter = nullptr;
  head.train(was);
  return hm;
}

}  // namespace

struct MultiExitNetImpl::State {
  ModelConfig cfg;
  std::vector<std::shared_ptr<BlockBase>> blocks;
  std::vector<std::shared_ptr<HeadBase>> heads;  // K entries: K-1 exit heads, then the classifier
  std::vector<std::int64_t> exit_blocks;         // l_1..l_K, 1-based block counts
  BlockProbe probe;
  std::vector<std::int64_t> stage_calls;
  ModelProfile profile;
  bool folded = false;
  bool channels_last = false;
  std::unique_ptr<detail::FastPath> fast;  // set by optimize_for_inference() on the CPU
};

std::vector<std::string> builder_architectures() {
  std::vector<std::string> names;
  for (const auto& entry : backbone_builders()) names.push_back(entry.first);
  return names;
}

MultiExitNetImpl::MultiExitNetImpl(const ModelConfig& cfg) : state_(std::make_shared<State>()) {
  State& s = *state_;
  s.cfg = cfg;
  ISPLITEE_CHECK(cfg.in_channels == 1 || cfg.in_channels == 3,
                 "model.in_channels: must be 1 or 3, got ", cfg.in_channels);
  Backbone bb = build_backbone(cfg);
  s.blocks = bb.blocks;
  auto features = register_module("features", torch::nn::ModuleList());
  for (auto& b : s.blocks) features->push_back(b);
  s.probe = probe_blocks(cfg, features, s.blocks);
  s.exit_blocks = place_exits(cfg, bb, s.probe.macs);
  const auto K = static_cast<std::int64_t>(s.exit_blocks.size());

  auto exits = register_module("exits", torch::nn::ModuleList());
  for (std::int64_t k = 0; k + 1 < K; ++k) {
    const auto blk = static_cast<std::size_t>(s.exit_blocks[static_cast<std::size_t>(k)] - 1);
    auto h = std::make_shared<detail::ExitHead>(cfg.head, s.probe.channels[blk], cfg.num_classes);
    exits->push_back(h);
    s.heads.push_back(h);
  }
  auto fin = std::make_shared<detail::FinalHead>(bb.final_channels, cfg.num_classes, cfg.dropout);
  register_module("classifier", fin);
  s.heads.push_back(fin);
  init_weights(*this, cfg, *fin);
  s.stage_calls.assign(static_cast<std::size_t>(K), 0);
  build_profile();
}

void MultiExitNetImpl::build_profile() {
  State& s = *state_;
  const ModelConfig& cfg = s.cfg;
  const auto& ex = s.exit_blocks;
  ModelProfile& p = s.profile;
  p.arch = cfg.arch;
  p.input_channels = cfg.in_channels;
  p.input_size = cfg.input_size;
  p.num_classes = cfg.num_classes;
  p.total_blocks = num_blocks();
  std::vector<std::int64_t> block_params;
  for (auto& b : s.blocks) block_params.push_back(detail::count_params(*b));
  std::int64_t cum_macs = 0, cum_params = 0, head_macs_sum = 0, head_params_sum = 0, blk = 0;
  for (std::size_t k = 0; k < ex.size(); ++k) {
    for (; blk < ex[k]; ++blk) {
      cum_macs += s.probe.macs[static_cast<std::size_t>(blk)];
      cum_params += block_params[static_cast<std::size_t>(blk)];
    }
    const auto& shape = s.probe.shapes[static_cast<std::size_t>(ex[k] - 1)];
    const std::int64_t hm = head_macs(*s.heads[k], shape);
    head_macs_sum += hm;
    head_params_sum += detail::count_params(*s.heads[k]);
    ExitProfile e;
    e.depth_blocks = ex[k];
    e.channels = shape[0];
    e.backbone_macs = cum_macs;
    e.head_macs = hm;
    e.edge_macs = cum_macs + head_macs_sum;
    e.edge_params = cum_params + head_params_sum;
    e.activation_shape = shape;
    const std::int64_t numel = shape[0] * shape[1] * shape[2];
    e.activation_bytes_fp32 = 4 * numel;
    e.activation_bytes_fp16 = 2 * numel;
    e.activation_bytes_int8 = numel;
    p.exits.push_back(e);
  }
  p.backbone_macs = cum_macs + p.exits.back().head_macs;
  p.total_macs = cum_macs + head_macs_sum;
  p.total_params = detail::count_params(*this);
  p.plain_params = cum_params + detail::count_params(*s.heads.back());
}

std::vector<torch::Tensor> MultiExitNetImpl::forward(torch::Tensor x,
                                                     std::optional<int64_t> last_exit) {
  const int64_t K = num_exits();
  const int64_t last = last_exit.value_or(K);
  ISPLITEE_CHECK(last >= 1 && last <= K, "forward: last_exit ", last, " is out of range [1, ", K,
                 "]");
  State& s = *state_;
  const auto& c = s.cfg;
  ISPLITEE_CHECK(x.dim() == 4 && x.size(1) == c.in_channels, "forward: expected an N×",
                 c.in_channels, "×H×W input, got ", x.sizes());
  std::vector<torch::Tensor> out;
  out.reserve(static_cast<std::size_t>(last));
  if (s.fast && x.device().is_cpu()) {
    // One engine run over stages 1..last; the exit activations are its only plain outputs.
    const std::vector<int64_t> taps(s.exit_blocks.begin(), s.exit_blocks.begin() + last);
    const auto hs = s.fast->run(x, 0, taps.back(), taps);
    for (int64_t k = 1; k <= last; ++k) {
      ++s.stage_calls[static_cast<std::size_t>(k - 1)];
      out.push_back(exit_logits(k, hs[static_cast<std::size_t>(k - 1)]));
    }
    return out;
  }
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
  const auto block_of = [&](int64_t st) {
    return st == 0 ? int64_t{0} : s.exit_blocks[static_cast<std::size_t>(st - 1)];
  };
  if (s.fast && begin < end && h.device().is_cpu()) {
    h = s.fast->run(h, block_of(begin), block_of(end), {block_of(end)}).front();
    for (int64_t st = begin; st < end; ++st) ++s.stage_calls[static_cast<std::size_t>(st)];
    return h;
  }
  if (s.channels_last && h.dim() == 4) h = h.contiguous(torch::MemoryFormat::ChannelsLast);
  for (int64_t st = begin; st < end; ++st) {
    for (int64_t b = block_of(st); b < block_of(st + 1); ++b)
      h = s.blocks[static_cast<std::size_t>(b)]->forward(h);
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
    if (auto* cb = m->as<detail::ConvBNAct>()) cb->fold(state_->channels_last);
  for (auto& h : state_->heads) h->fold();
  state_->folded = true;
}

bool MultiExitNetImpl::folded() const noexcept { return state_->folded; }

void MultiExitNetImpl::optimize_for_inference(bool fast_path) {
  ISPLITEE_CHECK(!is_training(), "optimize_for_inference: call eval() first");
  State& s = *state_;
  const bool on_cpu = parameters().empty() || parameters().front().device().is_cpu();
  const bool engine = fast_path && on_cpu && detail::FastPath::available();
  // The engine reads the NCHW folded weights; LibTorch's own path is faster channels-last.
  s.channels_last = !engine;
  fold_batchnorm();
  s.fast.reset();
  if (!engine) return;
  std::vector<detail::LoweredBlock> lowered;
  for (const auto& b : s.blocks) lowered.push_back(b->lower());
  s.fast = std::make_unique<detail::FastPath>(std::move(lowered));
}

bool MultiExitNetImpl::fast_path() const noexcept { return state_->fast != nullptr; }

bool MultiExitNetImpl::fast_path_available() noexcept { return detail::FastPath::available(); }

bool MultiExitNetImpl::channels_last() const noexcept { return state_->channels_last; }

std::string MultiExitNetImpl::inference_engine() const {
  const State& s = *state_;
  if (s.fast) return s.fast->describe();
  if (!s.folded) return "LibTorch";
  return std::string("LibTorch, BatchNorm folded") + (s.channels_last ? ", channels-last" : "");
}

void MultiExitNetImpl::train(bool on) {
  if (on && state_ && state_->folded) {
    for (auto& m : modules(/*include_self=*/false))
      if (auto* cb = m->as<detail::ConvBNAct>()) cb->unfold();
    for (auto& h : state_->heads) h->unfold();
    state_->folded = false;
  }
  if (on && state_) {
    state_->channels_last = false;
    state_->fast.reset();
  }
  torch::nn::Module::train(on);
}

MultiExitNet build_model(const ModelConfig& cfg) {
  MultiExitNet net(cfg);
  if (!cfg.pretrained.empty()) load_torchvision_weights(*net, cfg.pretrained);
  return net;
}

}  // namespace isplitee::model
