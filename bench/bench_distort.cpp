// Per-corruption time per image at 32x32 and 224x224, single-threaded (OpenCV threads pinned to 1).
// Goal (issue 4): every corruption at 224x224 under 20 ms, glass blur under 250 ms.
// Run: build-data/bench/bench_distort --benchmark_min_time=0.2
// The Python reference timings (the public generators' numpy/skimage/PIL code) come from
// tests/python/bench_distort_reference.py; see bench/results/distort.md.
#include <benchmark/benchmark.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "isplitee/distort/distortion.hpp"
#include "isplitee/distort/grid.hpp"

using namespace isplitee;

namespace {

cv::Mat scene(int size) {
  cv::Mat big = distort::synthetic_scene(224);
  if (size == 224) return big;
  cv::Mat s;
  cv::resize(big, s, cv::Size(size, size), 0, 0, cv::INTER_AREA);
  return s;
}

void BM_Corruption(benchmark::State& state, const std::string& name, int size, int severity) {
  cv::setNumThreads(1);
  const cv::Mat img = scene(size);
  distort::DistortionSpec spec;
  spec.name = name;
  spec.severity = severity;
  const auto d = distort::make_distortion(spec, size);
  std::int64_t id = 0;
  for (auto _ : state) {
    cv::Mat out = distort::apply_seeded(*d, img, 0, id++);
    benchmark::DoNotOptimize(out.data);
  }
  state.SetItemsProcessed(state.iterations());
}

const int kRegistered = [] {
  std::vector<std::string> names = distort::common_corruptions();
  for (const auto& n : distort::extra_corruptions()) names.push_back(n);
  for (int size : {32, 224})
    for (const auto& n : names)
      for (int sev : {1, 3, 5})
        benchmark::RegisterBenchmark(
            (n + "/" + std::to_string(size) + "px/s" + std::to_string(sev)).c_str(),
            [n, size, sev](benchmark::State& st) { BM_Corruption(st, n, size, sev); })
            ->Unit(benchmark::kMillisecond);
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();
