#pragma once
/// \file A backbone cut into stages with one exit head per stage (docs/method.md §1): the edge runs
/// stages 1..s and heads 1..s, the cloud runs stages s+1..K and the final head.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "isplitee/model/config.hpp"
#include "isplitee/model/profile.hpp"

namespace isplitee::model {

/// Multi-exit network. Exits are numbered 1..K; exit K is the backbone's own classifier.
/// Split points are numbered 0..K: split 0 is the input, split s is the activation after stage s
/// (the one exit s reads). Submodules: `features` (the blocks, torchvision-like names),
/// `exits` (heads 1..K-1) and `classifier` (the final head).
class MultiExitNetImpl : public torch::nn::Module {
 public:
  /// Builds the architecture of `cfg` with random init (torchvision's init scheme); does not
  /// load `cfg.pretrained` (build_model() does).
  explicit MultiExitNetImpl(const ModelConfig& cfg);

  /// Logits (N × classes) of exits 1..last_exit (default K). Never computes stages or heads past
  /// last_exit. Throws Error(kUsage) when last_exit is outside 1..K.
  std::vector<torch::Tensor> forward(torch::Tensor x, std::optional<int64_t> last_exit = {});

  /// Runs stages begin+1..end: maps the activation at split `begin` to the one at split `end`
  /// (0 ≤ begin ≤ end ≤ K). run_stages(x, 0, s) is the edge part, run_stages(h, s, K) the cloud's.
  torch::Tensor run_stages(torch::Tensor h, int64_t begin, int64_t end);

  /// Logits of exit k (1..K) from the activation at split k.
  torch::Tensor exit_logits(int64_t k, const torch::Tensor& h);

  /// K.
  int64_t num_exits() const noexcept;
  /// B: number of backbone blocks (depth units).
  int64_t num_blocks() const noexcept;
  /// l_k for k = 1..K (blocks run on the edge when splitting after exit k); back() == B.
  const std::vector<int64_t>& exit_blocks() const noexcept;
  /// The configuration this network was built from.
  const ModelConfig& config() const noexcept;
  /// Static cost profile (MACs, parameters, activation shapes), computed at construction at
  /// cfg.input_size; latency fields are filled by measure_latency().
  const ModelProfile& profile() const noexcept;
  /// Replaces the profile (used by measure_latency()).
  void set_profile(ModelProfile p);

  /// Parameter groups for the trainer (docs/method.md §8 gives them different learning rates).
  std::vector<torch::Tensor> backbone_parameters() const;
  std::vector<torch::Tensor> exit_head_parameters() const;   ///< heads of exits 1..K-1
  std::vector<torch::Tensor> final_head_parameters() const;  ///< exit K's classifier

  /// How many times each stage (index k-1 for stage k) has run since the last reset; lets tests
  /// prove that forward(x, k) computes nothing past stage k.
  const std::vector<int64_t>& stage_calls() const noexcept;
  void reset_stage_calls();

  /// Folds every eval-mode BatchNorm into the convolution before it (inference only; parameters
  /// are left untouched, so checkpoints are unaffected). Requires eval mode; train(true) unfolds.
  void fold_batchnorm();
  /// Whether fold_batchnorm() is active.
  bool folded() const noexcept;

  /// The fastest inference setup (BENCHMARKS.md): BatchNorm folded and, on the CPU when this
  /// build has oneDNN and `fast_path` is true, the backbone run by the oneDNN engine (activation
  /// and residual addition fused into each convolution, weights packed once per layout,
  /// activations kept in oneDNN's blocked layouts inside a run and converted to plain NCHW only at
  /// the split point run_stages() returns and at the exit heads forward() evaluates). Otherwise
  /// (or with fast_path false) LibTorch with channels-last activations and weights. Outputs are
  /// those of the eval-mode network up to float rounding; with the engine they equal
  /// fold_batchnorm()'s LibTorch results bit for bit wherever LibTorch itself calls oneDNN (the
  /// same kernels): batch ≥ 2, and for unstrided 1×1 convolutions batch ≥ 16 or > 1 thread.
  /// Requires eval mode; train(true) undoes it; call it again after changing parameters. No
  /// autograd through the engine. Not thread-safe (the engine keeps activation buffers per input
  /// shape).
  void optimize_for_inference(bool fast_path = true);
  /// Whether optimize_for_inference() put the oneDNN engine in charge of the backbone.
  bool fast_path() const noexcept;
  /// Whether this build has the oneDNN engine (oneDNN headers were found at configure time).
  static bool fast_path_available() noexcept;
  /// Whether activations are kept channels-last (LibTorch path of optimize_for_inference()).
  bool channels_last() const noexcept;
  /// How inference runs now, for logs and reports: "LibTorch", "LibTorch, BatchNorm folded,
  /// channels-last", or "oneDNN v2.6.3 (…the primitive implementations in use…)".
  std::string inference_engine() const;

  /// Switches train/eval; switching to train drops BatchNorm folding.
  void train(bool on = true) override;

 private:
  void build_profile();  // the static part of profile(), at construction

  struct State;
  std::shared_ptr<State> state_;
};
TORCH_MODULE(MultiExitNet);

/// Builds the network of `cfg` and, when cfg.pretrained is set, loads that torchvision export
/// (load_torchvision_weights). The net is returned in training mode.
MultiExitNet build_model(const ModelConfig& cfg);

/// The architectures this build can construct, in builder-table order (each must be in
/// builtin_backbones(); a unit test checks both directions).
std::vector<std::string> builder_architectures();

/// Loads a file written by scripts/export_torchvision.py into `net`'s backbone (and its final
/// classifier when shapes match; a classifier of another class count is skipped with a warning,
/// the usual fine-tuning case). Exit heads are not in torchvision and keep their init. Throws
/// Error(kData) listing missing, unexpected and shape-mismatched keys, or an arch mismatch.
void load_torchvision_weights(MultiExitNetImpl& net, const std::string& path);

/// Measures the median latency of each stage and head over `runs` runs (after `warmup`) at batch
/// 1 and at batch `batch`, in eval mode under torch::InferenceMode (with optimize_for_inference()
/// when `fold`: folded BatchNorm and the fast path; each stage is timed as run_stages(h, k-1, k),
/// i.e. including the conversion of its input and output at the two split points),
/// and stores it in net.profile(). Restores the train/eval mode and folding afterwards.
void measure_latency(MultiExitNetImpl& net, int64_t batch, int runs, int warmup = 2,
                     bool fold = true);

}  // namespace isplitee::model
