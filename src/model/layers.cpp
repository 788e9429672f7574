#include "layers.hpp"

#include <algorithm>
#include <cmath>

#include "isplitee/common/error.hpp"

namespace isplitee::model::detail {

thread_local std::int64_t* t_mac_counter = nullptr;

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

// ---- ConvBNAct ------------------------------------------------------------------------------

ConvBNActImpl::ConvBNActImpl(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride,
                             std::int64_t groups, Act act)
    : in_(in), k_(k), stride_(stride), pad_((k - 1) / 2), groups_(groups), act_(act) {
  conv_ = register_module("0", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, k)
                                                     .stride(stride)
                                                     .padding(pad_)
                                                     .groups(groups)
                                                     .bias(false)));
  bn_ = register_module("1", torch::nn::BatchNorm2d(out));
}

torch::Tensor ConvBNActImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = folded_ ? torch::conv2d(x, wf_, bf_, stride_, pad_, 1, groups_)
                            : bn_->forward(conv_->forward(x));
  if (t_mac_counter) *t_mac_counter += y.numel() / y.size(0) * (in_ / groups_) * k_ * k_;
  return activate(y, act_);
}

void ConvBNActImpl::fold(bool channels_last) {
  // y = γ (Wx − μ)/√(σ²+ε) + β = (γ/√(σ²+ε)) W x + (β − γμ/√(σ²+ε)).
  torch::NoGradGuard ng;
  const auto scale = bn_->weight / torch::sqrt(bn_->running_var + bn_->options.eps());
  wf_ = (conv_->weight * scale.reshape({-1, 1, 1, 1}))
            .contiguous(channels_last ? torch::MemoryFormat::ChannelsLast
                                      : torch::MemoryFormat::Contiguous);
  bf_ = (bn_->bias - bn_->running_mean * scale).contiguous();
  folded_ = true;
}

void ConvBNActImpl::unfold() {
  folded_ = false;
  wf_ = bf_ = torch::Tensor();
}

LoweredOp ConvBNActImpl::lower(int src, Act act, int residual) const {
  ISPLITEE_ASSERT(folded_, "ConvBNAct::lower needs folded BatchNorm");
  LoweredOp op;
  op.kind = LoweredOp::Kind::kConv;
  op.src = src;
  // The very tensors the folded LibTorch path uses, so both paths start from the same weights.
  op.weight = wf_.contiguous();
  op.bias = bf_;
  op.kernel = k_;
  op.stride = stride_;
  op.pad = pad_;
  op.groups = groups_;
  op.act = act;
  op.residual = residual;
  return op;
}

// ---- blocks ---------------------------------------------------------------------------------

ConvBlock::ConvBlock(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride,
                     Act act, bool maxpool)
    : maxpool_(maxpool) {
  conv_ = register_module("conv", ConvBNAct(in, out, k, stride, 1, act));
}

torch::Tensor ConvBlock::forward(torch::Tensor x) {
  x = conv_->forward(x);
  if (maxpool_) x = torch::max_pool2d(x, 3, 2, 1);
  return x;
}

LoweredBlock ConvBlock::lower() const {
  LoweredBlock b{conv_->lower(0, conv_->act())};
  if (maxpool_) {
    LoweredOp pool;
    pool.kind = LoweredOp::Kind::kMaxPool;
    pool.src = 1;
    pool.kernel = 3;
    pool.stride = 2;
    pool.pad = 1;
    b.push_back(pool);
  }
  return b;
}

InvertedResidual::InvertedResidual(std::int64_t inp, std::int64_t oup, std::int64_t stride,
                                   std::int64_t t)
    : use_res_(stride == 1 && inp == oup) {
  const auto hidden = static_cast<std::int64_t>(std::lround(static_cast<double>(inp) * t));
  if (t != 1) expand_ = register_module("expand", ConvBNAct(inp, hidden, 1, 1, 1, Act::kRelu6));
  dw_ = register_module("dw", ConvBNAct(hidden, hidden, 3, stride, hidden, Act::kRelu6));
  project_ = register_module("project", ConvBNAct(hidden, oup, 1, 1, 1, Act::kNone));
}

torch::Tensor InvertedResidual::forward(torch::Tensor x) {
  torch::Tensor h = expand_ ? expand_->forward(x) : x;
  h = project_->forward(dw_->forward(h));
  return use_res_ ? h.add_(x) : h;
}

LoweredBlock InvertedResidual::lower() const {
  LoweredBlock b;
  if (expand_) b.push_back(expand_->lower(0, Act::kRelu6));
  b.push_back(dw_->lower(static_cast<int>(b.size()), Act::kRelu6));
  b.push_back(project_->lower(static_cast<int>(b.size()), Act::kNone, use_res_ ? 0 : -1));
  return b;
}

BasicBlock::BasicBlock(std::int64_t in, std::int64_t out, std::int64_t stride) {
  c1_ = register_module("c1", ConvBNAct(in, out, 3, stride, 1, Act::kRelu));
  c2_ = register_module("c2", ConvBNAct(out, out, 3, 1, 1, Act::kNone));
  if (stride != 1 || in != out)
    down_ = register_module("down", ConvBNAct(in, out, 1, stride, 1, Act::kNone));
}

torch::Tensor BasicBlock::forward(torch::Tensor x) {
  torch::Tensor idt = down_ ? down_->forward(x) : x;
  return torch::relu_(c2_->forward(c1_->forward(x)).add_(idt));
}

LoweredBlock BasicBlock::lower() const {
  LoweredBlock b{c1_->lower(0, Act::kRelu)};
  int idt = 0;
  if (down_) {
    b.push_back(down_->lower(0, Act::kNone));
    idt = 2;
  }
  b.push_back(c2_->lower(1, Act::kRelu, idt));
  return b;
}

Bottleneck::Bottleneck(std::int64_t in, std::int64_t planes, std::int64_t stride) {
  c1_ = register_module("c1", ConvBNAct(in, planes, 1, 1, 1, Act::kRelu));
  c2_ = register_module("c2", ConvBNAct(planes, planes, 3, stride, 1, Act::kRelu));
  c3_ = register_module("c3", ConvBNAct(planes, planes * 4, 1, 1, 1, Act::kNone));
  if (stride != 1 || in != planes * 4)
    down_ = register_module("down", ConvBNAct(in, planes * 4, 1, stride, 1, Act::kNone));
}

torch::Tensor Bottleneck::forward(torch::Tensor x) {
  torch::Tensor idt = down_ ? down_->forward(x) : x;
  return torch::relu_(c3_->forward(c2_->forward(c1_->forward(x))).add_(idt));
}

LoweredBlock Bottleneck::lower() const {
  LoweredBlock b{c1_->lower(0, Act::kRelu), c2_->lower(1, Act::kRelu)};
  int idt = 0;
  if (down_) {
    b.push_back(down_->lower(0, Act::kNone));
    idt = 3;
  }
  b.push_back(c3_->lower(2, Act::kRelu, idt));
  return b;
}

CifarBlock::CifarBlock(std::int64_t in, std::int64_t out, std::int64_t stride)
    : in_(in), stride_(stride), pad_(out - in) {
  c1_ = register_module("c1", ConvBNAct(in, out, 3, stride, 1, Act::kRelu));
  c2_ = register_module("c2", ConvBNAct(out, out, 3, 1, 1, Act::kNone));
}

torch::Tensor CifarBlock::forward(torch::Tensor x) {
  torch::Tensor idt = x;
  if (stride_ != 1) idt = idt.slice(2, 0, c10::nullopt, stride_).slice(3, 0, c10::nullopt, stride_);
  if (pad_ > 0) idt = torch::constant_pad_nd(idt, {0, 0, 0, 0, pad_ / 2, pad_ - pad_ / 2});
  return torch::relu_(c2_->forward(c1_->forward(x)).add_(idt));
}

LoweredBlock CifarBlock::lower() const {
  LoweredBlock b{c1_->lower(0, Act::kRelu)};
  int idt = 0;
  if (stride_ != 1 || pad_ > 0) {
    // The option-A shortcut as a 1×1 convolution whose weights select input channel c into
    // output channel c + pad/2: stride picks every stride-th pixel, the other channels are 0.
    // Each output is 1·x plus zeros, so the values equal the strided, zero-padded slice exactly.
    LoweredOp sel;
    sel.src = 0;
    sel.weight = torch::zeros({in_ + pad_, in_, 1, 1});
    for (std::int64_t c = 0; c < in_; ++c) sel.weight[c + pad_ / 2][c][0][0] = 1.0f;
    sel.bias = torch::zeros({in_ + pad_});
    sel.stride = stride_;
    b.push_back(sel);
    idt = 2;
  }
  b.push_back(c2_->lower(1, Act::kRelu, idt));
  return b;
}

// ---- heads ----------------------------------------------------------------------------------

namespace {
torch::Tensor linear_counted(torch::nn::Linear& fc, const torch::Tensor& x) {
  if (t_mac_counter) *t_mac_counter += fc->weight.size(0) * fc->weight.size(1);
  return fc->forward(x);
}
}  // namespace

ExitHead::ExitHead(const std::string& type, std::int64_t channels, std::int64_t classes) {
  if (type == "bnpool") bn_ = register_module("bn", torch::nn::BatchNorm2d(channels));
  if (type == "conv")
    conv_ = register_module("conv", ConvBNAct(channels, channels, 3, 1, 1, Act::kRelu));
  fc_ = register_module("fc", torch::nn::Linear(channels, classes));
}

torch::Tensor ExitHead::forward(const torch::Tensor& h) {
  if (folded_) return torch::linear(h.mean({2, 3}), wf_, bf_);
  torch::Tensor x = h;
  if (bn_) x = bn_->forward(x);
  if (conv_) x = conv_->forward(x);
  return linear_counted(fc_, x.mean({2, 3}));
}

void ExitHead::fold() {
  // bnpool in eval mode: BN is a per-channel affine map s·x + t, which commutes with the average
  // pool, so fc(pool(BN(x))) = (W·diag(s)) pool(x) + (W t + b): the BN pass over the whole
  // activation map disappears.
  if (!bn_) return;
  torch::NoGradGuard ng;
  const auto s = bn_->weight / torch::sqrt(bn_->running_var + bn_->options.eps());
  const auto t = bn_->bias - bn_->running_mean * s;
  wf_ = (fc_->weight * s.unsqueeze(0)).contiguous();
  bf_ = fc_->bias + torch::mv(fc_->weight, t);
  folded_ = true;
}

void ExitHead::unfold() {
  folded_ = false;
  wf_ = bf_ = torch::Tensor();
}

FinalHead::FinalHead(std::int64_t channels, std::int64_t classes, double dropout)
    : dropout_(dropout) {
  fc_ = register_module("fc", torch::nn::Linear(channels, classes));
}

torch::Tensor FinalHead::forward(const torch::Tensor& h) {
  torch::Tensor x = h.mean({2, 3});
  if (dropout_ > 0) x = torch::dropout(x, dropout_, is_training());
  return linear_counted(fc_, x);
}

// ---- helpers --------------------------------------------------------------------------------

std::int64_t make_divisible(double v, std::int64_t divisor) {
  std::int64_t nv = std::max<std::int64_t>(
      divisor,
      static_cast<std::int64_t>(v + static_cast<double>(divisor) / 2.0) / divisor * divisor);
  if (static_cast<double>(nv) < 0.9 * v) nv += divisor;
  return nv;
}

std::int64_t count_params(const torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace isplitee::model::detail
