// Per-stage latency measurement for ModelProfile (medians over runs).

#include <algorithm>
#include <chrono>

#include "isplitee/common/error.hpp"
#include "isplitee/model/multi_exit_net.hpp"

namespace isplitee::model {
namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// Median ms of each stage and head at one batch size (the stages run in sequence, as on the edge).
void measure(MultiExitNetImpl& net, int64_t batch, int runs, int warmup, std::vector<double>& stage,
             std::vector<double>& head) {
  const auto& c = net.config();
  const int64_t K = net.num_exits();
  const torch::Tensor x = torch::randn({batch, c.in_channels, c.input_size, c.input_size});
  std::vector<std::vector<double>> st(static_cast<std::size_t>(K)), hd(static_cast<std::size_t>(K));
  using clock = std::chrono::steady_clock;
  for (int r = 0; r < warmup + runs; ++r) {
    torch::Tensor h = x;
    for (int64_t k = 1; k <= K; ++k) {
      auto t0 = clock::now();
      h = net.run_stages(h, k - 1, k);
      auto t1 = clock::now();
      auto logits = net.exit_logits(k, h);
      auto t2 = clock::now();
      if (r >= warmup) {
        st[static_cast<std::size_t>(k - 1)].push_back(
            std::chrono::duration<double, std::milli>(t1 - t0).count());
        hd[static_cast<std::size_t>(k - 1)].push_back(
            std::chrono::duration<double, std::milli>(t2 - t1).count());
      }
    }
  }
  stage.clear();
  head.clear();
  for (int64_t k = 0; k < K; ++k) {
    stage.push_back(median(st[static_cast<std::size_t>(k)]));
    head.push_back(median(hd[static_cast<std::size_t>(k)]));
  }
}

}  // namespace

void measure_latency(MultiExitNetImpl& net, int64_t batch, int runs, int warmup, bool fold) {
  ISPLITEE_CHECK(batch >= 1, "latency batch must be ≥ 1, got ", batch);
  ISPLITEE_CHECK(runs >= 1, "latency runs must be ≥ 1, got ", runs);
  const bool was_training = net.is_training();
  const bool was_folded = net.folded();
  net.eval();
  if (fold && !was_folded) net.optimize_for_inference();
  std::vector<double> s1, h1, sn, hn;
  {
    torch::InferenceMode guard;
    measure(net, 1, runs, warmup, s1, h1);
    measure(net, batch, runs, warmup, sn, hn);
  }
  ModelProfile p = net.profile();
  for (std::size_t k = 0; k < p.exits.size(); ++k) {
    p.exits[k].stage_ms_batch1 = s1[k];
    p.exits[k].head_ms_batch1 = h1[k];
    p.exits[k].stage_ms_batchn = sn[k];
    p.exits[k].head_ms_batchn = hn[k];
  }
  p.latency_batch = batch;
  p.latency_threads = at::get_num_threads();
  p.latency_folded = net.folded();
  p.latency_channels_last = net.channels_last();
  p.latency_engine = net.inference_engine();
  net.set_profile(std::move(p));
  if (was_training)
    net.train(true);  // also drops folding
  else if (fold && !was_folded) {
    // Keep eval mode but restore the unfolded state the caller had.
    net.train(true);
    net.eval();
  }
}

}  // namespace isplitee::model
