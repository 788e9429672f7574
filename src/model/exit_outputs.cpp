#include "isplitee/model/exit_outputs.hpp"

#include <algorithm>
#include <cmath>

#include "isplitee/common/error.hpp"

namespace isplitee::model {

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

namespace {

void check_temperatures(const std::vector<double>& t, std::int64_t num_exits) {
  if (t.empty()) return;
  ISPLITEE_CHECK(static_cast<std::int64_t>(t.size()) == num_exits, "exit_outputs: ", t.size(),
                 " temperatures for a network with ", num_exits, " exits (give one per exit)");
  for (std::size_t k = 0; k < t.size(); ++k)
    ISPLITEE_CHECK(std::isfinite(t[k]) && t[k] > 0, "exit_outputs: temperature of exit ", k + 1,
                   " is ", t[k], "; it must be a finite number > 0");
}

// Copies one exit's column (length n) into the row-major N × K array at column `col`.
template <typename T>
void scatter_column(const torch::Tensor& column, std::vector<T>& dst, std::int64_t k,
                    std::int64_t col) {
  const auto c = column.cpu().contiguous();
  const T* src = c.data_ptr<T>();
  const auto n = static_cast<std::size_t>(c.numel());
  for (std::size_t i = 0; i < n; ++i)
    dst[i * static_cast<std::size_t>(k) + static_cast<std::size_t>(col)] = src[i];
}

}  // namespace

ExitOutputs exit_outputs(MultiExitNetImpl& net, const torch::Tensor& images, std::int64_t last_exit,
                         const std::vector<double>& temperatures, bool keep_logits) {
  ISPLITEE_CHECK(!net.is_training(),
                 "exit_outputs: call eval() first (training mode uses batch statistics)");
  check_temperatures(temperatures, net.num_exits());
  torch::InferenceMode guard;
  const auto outs = net.forward(images, last_exit);
  ExitOutputs o;
  o.n = images.size(0);
  o.k = last_exit;
  o.classes = net.config().num_classes;
  const auto cells = static_cast<std::size_t>(o.n * o.k);
  o.max_prob.resize(cells);
  o.entropy.resize(cells);
  o.margin.resize(cells);
  o.pred.resize(cells);
  if (keep_logits) o.logits.resize(cells * static_cast<std::size_t>(o.classes));
  for (std::int64_t k = 0; k < o.k; ++k) {
    const auto& z = outs[static_cast<std::size_t>(k)];
    const double t = temperatures.empty() ? 1.0 : temperatures[static_cast<std::size_t>(k)];
    const auto s = exit_statistics(t == 1.0 ? z : z.to(torch::kFloat64) / t);
    scatter_column(s.conf, o.max_prob, o.k, k);
    scatter_column(s.entropy, o.entropy, o.k, k);
    scatter_column(s.margin, o.margin, o.k, k);
    scatter_column(s.pred, o.pred, o.k, k);
    if (keep_logits) {
      const auto zc = z.to(torch::kFloat32).cpu().contiguous();
      const float* pz = zc.data_ptr<float>();
      const auto c = static_cast<std::size_t>(o.classes);
      for (std::size_t i = 0; i < static_cast<std::size_t>(o.n); ++i)
        std::copy(pz + i * c, pz + (i + 1) * c,
                  o.logits.begin() +
                      static_cast<std::ptrdiff_t>(
                          (i * static_cast<std::size_t>(o.k) + static_cast<std::size_t>(k)) * c));
    }
  }
  return o;
}

}  // namespace isplitee::model
