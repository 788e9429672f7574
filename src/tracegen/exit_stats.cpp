#include "isplitee/tracegen/exit_stats.hpp"

#include "isplitee/common/error.hpp"

namespace isplitee::tracegen {

ExitStats exit_statistics(const torch::Tensor& logits) {
  ISPLITEE_ASSERT(logits.dim() == 2 && logits.size(1) >= 1, "logits must be N x C");
  torch::NoGradGuard no_grad;
  const auto z = logits.detach().to(torch::kFloat64);
  const auto logp = torch::log_softmax(z, /*dim=*/1);
  const auto p = logp.exp();
  ExitStats s;
  // Entropy -Σ p log p, with 0·log 0 = 0 (log_softmax is finite, so p·logp is 0 where p
  // underflows).
  s.entropy = (-(p * logp).sum(1)).clamp_min(0.0).to(torch::kFloat32);
  if (p.size(1) >= 2) {
    const auto top = p.topk(/*k=*/2, /*dim=*/1, /*largest=*/true, /*sorted=*/true);
    const auto& vals = std::get<0>(top);
    s.conf = vals.select(1, 0).clamp(0.0, 1.0).to(torch::kFloat32);
    s.margin = (vals.select(1, 0) - vals.select(1, 1)).clamp(0.0, 1.0).to(torch::kFloat32);
  } else {
    s.conf = torch::ones({p.size(0)}, torch::kFloat32);
    s.margin = torch::zeros({p.size(0)}, torch::kFloat32);
  }
  // argmax on the logits themselves: the softmax can round two close logits to one probability.
  s.pred = z.argmax(1).to(torch::kInt32);
  return s;
}

}  // namespace isplitee::tracegen
