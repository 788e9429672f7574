// Multi-exit network throughput (images/s) under torch::InferenceMode, all exits vs the plain
// backbone, fast path vs LibTorch's kernels; and training throughput of compact candidates for the
// Fashion-MNIST default job. The side-by-side comparison with PyTorch is bench/python/compare.py
// (with bench_compare); bench/python/model_reference.py is the eager-only reference.
//
//   OPENBLAS_NUM_THREADS=1 build/bench/bench_model --benchmark_filter=Infer
//   THREADS=2 build/bench/bench_model --benchmark_filter=Train
#include <cstdlib>
#include <map>
#include <string>

#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"

using namespace isplitee::model;

namespace {

int threads() {
  const char* t = std::getenv("THREADS");
  return t ? std::atoi(t) : 1;
}

ModelConfig mobilenet(int64_t size) {
  ModelConfig c;
  c.arch = "mobilenet_v2";
  c.num_classes = 10;
  c.input_size = size;
  c.small_input = size <= 64;  // the CIFAR variant at 32 px
  return c;
}

// mode: 0 = all exits, optimize_for_inference() (the oneDNN fast path); 1 = all exits, plain
// eval; 2 = plain backbone (final exit only, no exit heads), fast path; 3 = plain backbone, plain
// eval; 4 = all exits, BN folded, contiguous NCHW (LibTorch); 5 = all exits, LibTorch's own
// optimized path (BN folded + channels-last, optimize_for_inference(false)).
void BM_Infer(benchmark::State& state) {
  configure_runtime(threads());
  const int64_t size = state.range(0), batch = state.range(1), mode = state.range(2);
  torch::manual_seed(0);
  MultiExitNet net(mobilenet(size));
  net->eval();
  if (mode == 0 || mode == 2) net->optimize_for_inference();
  if (mode == 4) net->fold_batchnorm();
  if (mode == 5) net->optimize_for_inference(/*fast_path=*/false);
  torch::InferenceMode guard;
  const auto x = torch::randn({batch, 3, size, size});
  const int64_t K = net->num_exits();
  for (auto _ : state) {
    if (mode <= 1 || mode >= 4) {
      auto out = net->forward(x);
      benchmark::DoNotOptimize(out.back().data_ptr());
    } else {
      auto y = net->exit_logits(K, net->run_stages(x, 0, K));
      benchmark::DoNotOptimize(y.data_ptr());
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["threads"] = at::get_num_threads();
}

// Training step (forward all exits + weighted CE + backward + Adam) at batch 128, 28×28 gray.
const std::map<int, ModelConfig>& candidates() {
  static const std::map<int, ModelConfig> m = [] {
    std::map<int, ModelConfig> out;
    auto cifar = [](int64_t depth, int64_t width) {
      ModelConfig c;
      c.arch = "resnet_cifar";
      c.depth = depth;
      c.width = width;
      c.in_channels = 1;
      c.input_size = 28;
      c.num_classes = 10;
      c.dropout = 0;
      return c;
    };
    out[0] = cifar(8, 8);
    out[1] = cifar(8, 16);
    out[2] = cifar(14, 8);
    out[3] = cifar(14, 16);
    out[4] = cifar(20, 8);
    out[5] = cifar(20, 16);
    ModelConfig mb;
    mb.in_channels = 1;
    mb.input_size = 28;
    mb.small_input = true;
    mb.width_mult = 0.25;
    out[6] = mb;
    return out;
  }();
  return m;
}

void BM_Train(benchmark::State& state) {
  configure_runtime(threads());
  const ModelConfig c = candidates().at(static_cast<int>(state.range(0)));
  torch::manual_seed(0);
  MultiExitNet net(c);
  net->train();
  torch::optim::Adam opt(net->parameters(), torch::optim::AdamOptions(1e-3));
  const int64_t batch = 128;
  const auto x = torch::randn({batch, 1, 28, 28});
  const auto y = torch::randint(0, 10, {batch}, torch::kLong);
  for (auto _ : state) {
    opt.zero_grad();
    auto outs = net->forward(x);
    torch::Tensor loss = torch::zeros({});
    for (auto& o : outs) loss = loss + torch::cross_entropy_loss(o, y);
    loss.backward();
    opt.step();
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.SetLabel(c.arch +
                 (c.arch == "resnet_cifar"
                      ? " d" + std::to_string(c.depth) + " w" + std::to_string(c.width)
                      : " small w0.25") +
                 " K=" + std::to_string(net->num_exits()) +
                 " MMACs=" + std::to_string(net->profile().total_macs / 1000000));
}

}  // namespace

BENCHMARK(BM_Infer)
    ->ArgNames({"size", "batch", "mode"})
    ->ArgsProduct({{32}, {1}, {0, 1, 2, 3, 4, 5}})
    ->ArgsProduct({{224}, {1}, {0, 1, 2, 3, 4, 5}})
    ->MinTime(1.0)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Infer)
    ->ArgNames({"size", "batch", "mode"})
    ->ArgsProduct({{32}, {256}, {0, 1, 2, 3, 4, 5}})
    ->Iterations(3)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Infer)
    ->ArgNames({"size", "batch", "mode"})
    ->ArgsProduct({{224}, {256}, {0, 2}})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Train)->DenseRange(0, 6)->Iterations(5)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
