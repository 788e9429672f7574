#include "isplitee/model/runtime.hpp"

#include <dlfcn.h>

#include <thread>

#include <torch/torch.h>

#include "isplitee/common/error.hpp"

namespace isplitee::model {
namespace {
using SetThreadsFn = void (*)(int);
using GetConfigFn = char* (*)();
}  // namespace

void configure_runtime(int threads) {
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
