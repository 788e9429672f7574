// Training and tracing throughput of the default Fashion-MNIST multi-exit network (images/s),
// to compare with bench/python/train_reference.py (same network, batch and threads).
//
//   build-train/bench/bench_train --benchmark_counters_tabular=true
//   OPENBLAS_NUM_THREADS=1 /usr/bin/python3 bench/python/train_reference.py --threads 2 --width 12
// Environment: ISPLITEE_BENCH_THREADS (default 2), ISPLITEE_BENCH_WIDTH (default 12),
// ISPLITEE_BENCH_DEPTH (default 14). Results: bench/results/train.md.
#include <benchmark/benchmark.h>

#include <cstdlib>

#include <torch/torch.h>

#include "isplitee/model/config.hpp"
#include "isplitee/model/exit_outputs.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/train/step.hpp"
#include "isplitee/train/train_config.hpp"

namespace {

int env_int(const char* name, int def) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : def;
}

isplitee::model::ModelConfig bench_model() {
  isplitee::model::ModelConfig m;
  m.arch = "resnet_cifar";
  m.depth = env_int("ISPLITEE_BENCH_DEPTH", 14);
  m.width = env_int("ISPLITEE_BENCH_WIDTH", 12);
  m.in_channels = 1;
  m.num_classes = 10;
  m.input_size = 28;
  m.dropout = 0.0;
  return m;
}

// One joint training step as train::train_model runs it: all exits, Σ w_k CE, backward, Adam with
// the three parameter groups (data loading excluded on both sides).
void BM_TrainStep(benchmark::State& state) {
  isplitee::model::configure_runtime(env_int("ISPLITEE_BENCH_THREADS", 2));
  torch::manual_seed(0);
  const auto batch = state.range(0);
  auto net = isplitee::model::build_model(bench_model());
  net->train(true);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(net->backbone_parameters(),
                      std::make_unique<torch::optim::AdamOptions>(
                          torch::optim::AdamOptions(2e-3).weight_decay(1e-4)));
  groups.emplace_back(net->exit_head_parameters(),
                      std::make_unique<torch::optim::AdamOptions>(
                          torch::optim::AdamOptions(4e-3).weight_decay(1e-4)));
  groups.emplace_back(net->final_head_parameters(),
                      std::make_unique<torch::optim::AdamOptions>(
                          torch::optim::AdamOptions(2e-3).weight_decay(1e-4)));
  torch::optim::Adam opt(std::move(groups), torch::optim::AdamOptions(2e-3));
  const auto x = torch::randn({batch, 1, 28, 28});
  const auto y = torch::randint(0, 10, {batch}, torch::kLong);
  const auto w = isplitee::train::resolve_exit_weights({}, net->num_exits());
  for (auto _ : state) isplitee::train::joint_step(*net, opt, x, y, w, /*label_smoothing=*/0.0);
  state.counters["images_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
  state.counters["threads"] = isplitee::model::torch_threads();
}
BENCHMARK(BM_TrainStep)->Arg(128)->Unit(benchmark::kMillisecond)->MinTime(5.0)->UseRealTime();

// Tracing: eval mode, inference mode, every exit, and the per-sample statistics written to a trace
// (model::exit_outputs, as tracegen calls it). Arg 1: 1 = the fast inference path (what
// `isplitee trace` does by default), 0 = unfolded LibTorch.
void BM_Trace(benchmark::State& state) {
  isplitee::model::configure_runtime(env_int("ISPLITEE_BENCH_THREADS", 2));
  torch::manual_seed(0);
  const auto batch = state.range(0);
  auto net = isplitee::model::build_model(bench_model());
  net->train(false);
  if (state.range(1)) net->optimize_for_inference();
  const auto x = torch::randn({batch, 1, 28, 28});
  for (auto _ : state) {
    const auto o = isplitee::model::exit_outputs(*net, x, net->num_exits());
    benchmark::DoNotOptimize(o.max_prob.data());
  }
  state.counters["images_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
  state.SetLabel(net->inference_engine());
}
BENCHMARK(BM_Trace)
    ->Args({256, 0})
    ->Args({256, 1})
    ->Unit(benchmark::kMillisecond)
    ->MinTime(5.0)
    ->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
