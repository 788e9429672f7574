#include "isplitee/model/runtime.hpp"

#include <dlfcn.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <thread>

#include <torch/torch.h>

#include "isplitee/common/error.hpp"

namespace isplitee::model {
namespace {
using SetThreadsFn = void (*)(int);
using GetConfigFn = char* (*)();

// glibc hands allocations above a (dynamic, ≤ 32 MiB) threshold to fresh mmap()s and returns freed
// heap tops to the system, so every training step or inference batch page-faults its activations
// in again. Keeping blocks up to 256 MiB in the heap and trimming only above 512 MiB of free top
// memory removes that cost (BENCHMARKS.md: training and tracing) without changing any result.
void keep_freed_memory() {
#if defined(__GLIBC__)
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 256 << 20);
    mallopt(M_TRIM_THRESHOLD, 512 << 20);
    return true;
  }();
  (void)done;
#endif
}

}  // namespace

void configure_runtime(int threads) {
  keep_freed_memory();
  // OpenBLAS reads OPENBLAS_NUM_THREADS only at load time, so set its pool through its API.
  if (auto fn = reinterpret_cast<SetThreadsFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads")))
    fn(1);
  const int n =
      threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (at::get_num_threads() != n) at::set_num_threads(n);
}

int torch_threads() { return at::get_num_threads(); }

std::string blas_description() {
  if (auto fn = reinterpret_cast<GetConfigFn>(dlsym(RTLD_DEFAULT, "openblas_get_config"))) {
    std::string s = fn();  // "OpenBLAS 0.3.21 … MAX_THREADS=64"
    if (auto nt = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads")))
      s += " (" + std::to_string(nt()) + " BLAS thread" + (nt() == 1 ? ")" : "s)");
    return s;
  }
  return "reference BLAS (slow: install libopenblas0-pthread)";
}

std::string check_device(const std::string& device) {
  torch::Device d(torch::kCPU);
  try {
    d = torch::Device(device);
  } catch (const c10::Error&) {
    fail(ErrorCode::kUsage, "device '", device, "': not a device (use cpu, cuda or cuda:N)");
  }
  // The device comes from the config's "device" key (or --set device=…): name that, not a flag.
  if (d.is_cuda() && !torch::cuda::is_available())
    fail(ErrorCode::kUsage, "device '", device,
         "': CUDA is not available in this LibTorch build or machine (use \"device\": \"cpu\" "
         "in the config or --set device=cpu)");
  if (!d.is_cpu() && !d.is_cuda())
    fail(ErrorCode::kUsage, "device '", device, "': only cpu and cuda are supported");
  return device;
}

}  // namespace isplitee::model
