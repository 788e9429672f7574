#pragma once
/// \file Process-wide compute settings for LibTorch and the BLAS underneath it.

#include <string>

namespace isplitee::model {

/// Sets LibTorch's intra-op threads to `threads` (0 = all cores; Debian's LibTorch starts with 1)
/// and pins OpenBLAS's own pool to one thread, because LibTorch parallelises around BLAS calls
/// and two competing pools were measured slower (BENCHMARKS.md). Safe to call more than once.
void configure_runtime(int threads);

/// The intra-op thread count LibTorch uses now.
int torch_threads();

/// The BLAS library LibTorch calls ("openblas (1 thread)", "reference", …) for reports.
std::string blas_description();

/// Validates a device string ("cpu", "cuda", "cuda:1"); throws Error(kUsage) when LibTorch cannot
/// use it here, naming what is available.
std::string check_device(const std::string& device);

}  // namespace isplitee::model
