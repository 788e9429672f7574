// The C++ half of the side-by-side speed comparisons with PyTorch (bench/python/compare.py runs it
// and the PyTorch variants back to back; BENCHMARKS.md has the tables). One measurement per call:
//
//   bench_compare --net mbv2|fm --size S --batch N --threads T --mode MODE [--seconds s]
//
// nets: mbv2 = multi-exit MobileNetV2 with the paper's 7 exits (small-input variant at ≤ 64 px),
//       fm = the Fashion-MNIST ResNet of configs/fashion-mnist.json (resnet_cifar 14/12, 6 exits).
// modes: all    — fast inference path (optimize_for_inference()), all exits
//        plain  — fast inference path, backbone + final exit only (no exit heads)
//        libtorch — LibTorch's own path (BatchNorm folded, channels-last), all exits
//        eval   — plain eval mode (NCHW, BatchNorm separate), all exits
//        trace  — model::exit_outputs() of all exits (the trace pass without data loading)
//        train  — one joint training step as the trainer runs it (all exits, Σ w_k CE, backward,
//                 Adam with the three parameter groups)
//        stages — per-stage and per-head medians of the fast path at this batch (where time goes)
// Prints one JSON line. OpenBLAS is pinned to one thread (configure_runtime), as in the CLI.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "isplitee/model/exit_outputs.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/train/step.hpp"
#include "isplitee/train/train_config.hpp"

using namespace isplitee;

namespace {

struct Args {
  std::string net = "mbv2", mode = "all";
  int64_t size = 224, batch = 1;
  int threads = 1;
  double seconds = 3.0;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--net")
      a.net = v;
    else if (k == "--mode")
      a.mode = v;
    else if (k == "--size")
      a.size = std::atoll(v.c_str());
    else if (k == "--batch")
      a.batch = std::atoll(v.c_str());
    else if (k == "--threads")
      a.threads = std::atoi(v.c_str());
    else if (k == "--seconds")
      a.seconds = std::atof(v.c_str());
    else {
      std::fprintf(stderr, "bench_compare: unknown option %s\n", k.c_str());
      std::exit(2);
    }
  }
  return a;
}

model::ModelConfig config_of(const Args& a) {
  model::ModelConfig c;
  if (a.net == "fm") {  // configs/fashion-mnist.json
    c.arch = "resnet_cifar";
    c.depth = 14;
    c.width = 12;
    c.in_channels = 1;
    c.input_size = a.size;
    c.num_classes = 10;
    c.dropout = 0.0;
  } else {
    c.arch = "mobilenet_v2";
    c.num_classes = 10;
    c.input_size = a.size;
    c.small_input = a.size <= 64;
  }
  return c;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

/// Median wall and process-CPU seconds of one call.
struct Timing {
  double wall = 0, cpu = 0;
};

// Medians of fn() over at least 3 timed runs and `seconds` of wall time, after 2 warm-ups. CPU
// time (all threads of the process) is the steadier measure on a shared, loaded machine.
template <typename F>
Timing time_median(F&& fn, double seconds) {
  for (int i = 0; i < 2; ++i) fn();
  std::vector<double> wall, cpu;
  const auto start = std::chrono::steady_clock::now();
  while (wall.size() < 3 ||
         (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() <
              seconds &&
          wall.size() < 2000)) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    fn();
    cpu.push_back(cpu_seconds() - c0);
    wall.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  return {median(wall), median(cpu)};
}

void put_rate(nlohmann::json& out, const Timing& t, int64_t batch) {
  out["images_per_s"] = static_cast<double>(batch) / t.wall;
  out["images_per_cpu_s"] = static_cast<double>(batch) / t.cpu;
  out["ms_per_batch"] = t.wall * 1e3;
}

Timing time_train(model::MultiExitNet& net, const Args& a) {
  net->train(true);
  std::vector<torch::optim::OptimizerParamGroup> groups;
  for (const auto& [params, lr] :
       {std::pair{net->backbone_parameters(), 2e-3}, std::pair{net->exit_head_parameters(), 4e-3},
        std::pair{net->final_head_parameters(), 2e-3}})
    groups.emplace_back(params, std::make_unique<torch::optim::AdamOptions>(
                                    torch::optim::AdamOptions(lr).weight_decay(1e-4)));
  torch::optim::Adam opt(std::move(groups), torch::optim::AdamOptions(2e-3));
  const auto c = net->config();
  const auto x = torch::randn({a.batch, c.in_channels, a.size, a.size});
  const auto y = torch::randint(0, c.num_classes, {a.batch}, torch::kLong);
  const auto w = train::resolve_exit_weights({}, net->num_exits());
  return time_median([&] { train::joint_step(*net, opt, x, y, w, /*label_smoothing=*/0.0); },
                     a.seconds);
}

// Median ms of every stage (run_stages(h, k-1, k)) and head at this batch, fast path on.
nlohmann::json stage_profile(model::MultiExitNet& net, const torch::Tensor& x, double seconds) {
  const int64_t K = net->num_exits();
  nlohmann::json stages = nlohmann::json::array();
  std::vector<torch::Tensor> inputs{x};
  for (int64_t k = 1; k <= K; ++k) inputs.push_back(net->run_stages(inputs.back(), k - 1, k));
  const double per = seconds / static_cast<double>(2 * K);
  for (int64_t k = 1; k <= K; ++k) {
    const auto& in = inputs[static_cast<std::size_t>(k - 1)];
    const auto& out = inputs[static_cast<std::size_t>(k)];
    const double s = time_median([&] { net->run_stages(in, k - 1, k); }, per).wall;
    const double h = time_median([&] { net->exit_logits(k, out); }, per).wall;
    stages.push_back(
        {{"exit", k},
         {"blocks", net->exit_blocks()[static_cast<std::size_t>(k - 1)]},
         {"stage_ms", s * 1e3},
         {"head_ms", h * 1e3},
         {"stage_mmacs",
          static_cast<double>(
              net->profile().exits[static_cast<std::size_t>(k - 1)].backbone_macs -
              (k > 1 ? net->profile().exits[static_cast<std::size_t>(k - 2)].backbone_macs : 0)) /
              1e6 * static_cast<double>(x.size(0))}});
  }
  return stages;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  model::configure_runtime(a.threads);
  torch::manual_seed(0);
  const auto cfg = config_of(a);
  model::MultiExitNet net(cfg);
  nlohmann::json out = {{"net", a.net},
                        {"size", a.size},
                        {"batch", a.batch},
                        {"mode", a.mode},
                        {"threads", a.threads},
                        {"exits", net->num_exits()},
                        {"blas", model::blas_description()}};
  if (a.mode == "train") {
    put_rate(out, time_train(net, a), a.batch);
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  net->eval();
  if (a.mode == "all" || a.mode == "plain" || a.mode == "trace" || a.mode == "stages")
    net->optimize_for_inference();
  else if (a.mode == "libtorch")
    net->optimize_for_inference(/*fast_path=*/false);
  else if (a.mode != "eval") {
    std::fprintf(stderr, "bench_compare: unknown mode %s\n", a.mode.c_str());
    return 2;
  }
  out["engine"] = net->inference_engine();
  torch::InferenceMode guard;
  const auto x = torch::randn({a.batch, cfg.in_channels, a.size, a.size});
  const int64_t K = net->num_exits();
  if (a.mode == "stages") {
    out["stages"] = stage_profile(net, x, a.seconds);
    out["engine"] = net->inference_engine();
    std::printf("%s\n", out.dump().c_str());
    return 0;
  }
  const Timing t = time_median(
      [&] {
        if (a.mode == "plain") {
          auto y = net->exit_logits(K, net->run_stages(x, 0, K));
        } else if (a.mode == "trace") {
          auto o = model::exit_outputs(*net, x, K);
        } else {
          auto y = net->forward(x);
        }
      },
      a.seconds);
  put_rate(out, t, a.batch);
  out["engine"] = net->inference_engine();
  std::printf("%s\n", out.dump().c_str());
  return 0;
}
