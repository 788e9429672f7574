#pragma once
/// \file The building blocks of MultiExitNet (torchvision-like modules) and their lowering to the
/// inference engine of fast_path.hpp. Private to src/model: not installed, not part of the API.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace isplitee::model::detail {

/// MAC counter of the construction-time probe pass: convolutions and linear layers only, the
/// convention behind torchvision's published figures (MobileNetV2 300.8 M, ResNet-18 1.814 G).
/// Non-null only while MultiExitNetImpl probes shapes, on the constructing thread.
extern thread_local std::int64_t* t_mac_counter;

/// Activation after a convolution (or after a residual addition).
enum class Act { kNone, kRelu, kRelu6 };

/// Applies `a` in place and returns x.
torch::Tensor activate(torch::Tensor x, Act a);

/// One operation of a backbone block as the inference engine runs it. Values are numbered inside
/// the block: 0 is the block's input, i + 1 the output of op i; the block's output is the last
/// op's output.
struct LoweredOp {
  enum class Kind { kConv, kMaxPool };
  Kind kind = Kind::kConv;
  int src = 0;  ///< value read
  /// kConv: dst = act(conv(src; weight, bias) + value[residual]) (no residual when -1).
  torch::Tensor weight;  ///< O × I/groups × k × k, float32, contiguous (BatchNorm folded in)
  torch::Tensor bias;    ///< O, float32
  std::int64_t kernel = 1, stride = 1, pad = 0, groups = 1;
  Act act = Act::kNone;
  int residual = -1;
};

/// The ops of one block, in execution order.
using LoweredBlock = std::vector<LoweredOp>;

/// Conv (no bias) → BatchNorm → activation; children "0" and "1" as in torchvision's
/// Conv2dNormActivation. Eval-mode BN can be folded into the convolution's weight and bias.
class ConvBNActImpl : public torch::nn::Module {
 public:
  /// in → out channels, k×k kernel, padding (k-1)/2.
  ConvBNActImpl(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride,
                std::int64_t groups, Act act);
  /// act(BN(conv(x))), or act(conv_folded(x)) once folded.
  torch::Tensor forward(const torch::Tensor& x);
  /// Folds eval-mode BatchNorm into the weights (kept channels-last when asked).
  void fold(bool channels_last);
  /// Drops the folded weights.
  void unfold();
  /// This convolution as an engine op reading value `src`; `act` and `residual` replace the
  /// module's own activation (residual blocks add before activating). Requires fold().
  LoweredOp lower(int src, Act act, int residual = -1) const;
  /// The activation the module applies itself.
  Act act() const noexcept { return act_; }

 private:
  std::int64_t in_, k_, stride_, pad_, groups_;
  Act act_;
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d bn_{nullptr};
  bool folded_ = false;
  torch::Tensor wf_, bf_;
};
TORCH_MODULE(ConvBNAct);

/// One depth unit of the backbone.
struct BlockBase : torch::nn::Module {
  /// The block's output.
  virtual torch::Tensor forward(torch::Tensor x) = 0;
  /// The block as engine ops (requires folded BatchNorm).
  virtual LoweredBlock lower() const = 0;
};

/// A plain conv block (MobileNetV2 stem and last 1×1 conv) or a ResNet stem (+ optional max-pool).
struct ConvBlock : BlockBase {
  ConvBlock(std::int64_t in, std::int64_t out, std::int64_t k, std::int64_t stride, Act act,
            bool maxpool);
  torch::Tensor forward(torch::Tensor x) override;
  LoweredBlock lower() const override;
  ConvBNAct conv_{nullptr};
  bool maxpool_;
};

/// torchvision's MobileNetV2 InvertedResidual (expand 1×1 → depthwise 3×3 → project 1×1).
struct InvertedResidual : BlockBase {
  InvertedResidual(std::int64_t inp, std::int64_t oup, std::int64_t stride, std::int64_t t);
  torch::Tensor forward(torch::Tensor x) override;
  LoweredBlock lower() const override;
  ConvBNAct expand_{nullptr}, dw_{nullptr}, project_{nullptr};
  bool use_res_;
};

/// torchvision's BasicBlock (ResNet-18/34).
struct BasicBlock : BlockBase {
  BasicBlock(std::int64_t in, std::int64_t out, std::int64_t stride);
  torch::Tensor forward(torch::Tensor x) override;
  LoweredBlock lower() const override;
  ConvBNAct c1_{nullptr}, c2_{nullptr}, down_{nullptr};
};

/// torchvision's Bottleneck (ResNet-50, "v1.5": stride on the 3×3 convolution).
struct Bottleneck : BlockBase {
  Bottleneck(std::int64_t in, std::int64_t planes, std::int64_t stride);
  torch::Tensor forward(torch::Tensor x) override;
  LoweredBlock lower() const override;
  ConvBNAct c1_{nullptr}, c2_{nullptr}, c3_{nullptr}, down_{nullptr};
};

/// He et al.'s CIFAR ResNet block with the parameter-free "option A" shortcut (strided identity,
/// zero-padded channels), as in the paper's CIFAR experiments.
struct CifarBlock : BlockBase {
  CifarBlock(std::int64_t in, std::int64_t out, std::int64_t stride);
  torch::Tensor forward(torch::Tensor x) override;
  LoweredBlock lower() const override;
  std::int64_t in_, stride_, pad_;
  ConvBNAct c1_{nullptr}, c2_{nullptr};
};

/// A classifier head on the activation of one split.
struct HeadBase : torch::nn::Module {
  /// Logits (N × classes) from the activation h (N × C × H × W).
  virtual torch::Tensor forward(const torch::Tensor& h) = 0;
  /// Folds eval-mode BatchNorm (no-op when there is none).
  virtual void fold() {}
  /// Undoes fold().
  virtual void unfold() {}
};

/// Exit heads: bnpool (BN → GAP → Linear, the paper's), pool (GAP → Linear),
/// conv (conv3×3-BN-ReLU → GAP → Linear).
struct ExitHead : HeadBase {
  ExitHead(const std::string& type, std::int64_t channels, std::int64_t classes);
  torch::Tensor forward(const torch::Tensor& h) override;
  void fold() override;
  void unfold() override;
  bool folded_ = false;
  torch::Tensor wf_, bf_;
  torch::nn::BatchNorm2d bn_{nullptr};
  ConvBNAct conv_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

/// The backbone's own classifier: GAP → Dropout → Linear.
struct FinalHead : HeadBase {
  FinalHead(std::int64_t channels, std::int64_t classes, double dropout);
  torch::Tensor forward(const torch::Tensor& h) override;
  torch::nn::Linear fc_{nullptr};
  double dropout_;
};

/// torchvision's _make_divisible: channels rounded to a multiple of `divisor`, never below 90%.
std::int64_t make_divisible(double v, std::int64_t divisor = 8);

/// Number of parameters of a module and its children.
std::int64_t count_params(const torch::nn::Module& m);

}  // namespace isplitee::model::detail
