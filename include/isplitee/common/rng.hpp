#pragma once
/// \file Seeded, platform-independent random numbers (no global state: docs/architecture.md,
/// "Style").

#include <cstdint>
#include <initializer_list>

namespace isplitee {

/// xoshiro256** generator with its own distributions, so a seed gives the same numbers with any
/// compiler and standard library. Streams are derived from (seed, ids…) with splitmix64: an output
/// that depends on (seed, sample id) never depends on processing order or thread count.
class Rng {
 public:
  /// A generator for `seed`.
  explicit Rng(std::uint64_t seed = 0);
  /// A generator for the stream identified by `seed` and any number of ids (e.g. repeat, sample).
  Rng(std::uint64_t seed, std::initializer_list<std::uint64_t> ids);

  /// Next raw 64-bit value.
  std::uint64_t next_u64() noexcept;
  /// Uniform double in [0, 1).
  double uniform() noexcept;
  /// Uniform double in [lo, hi).
  double uniform(double lo, double hi) noexcept { return lo + (hi - lo) * uniform(); }
  /// Uniform integer in [0, n); n must be > 0. Unbiased (Lemire's method).
  std::uint64_t uniform_int(std::uint64_t n) noexcept;
  /// Standard normal N(0, 1) (Box–Muller; the second value is cached).
  double normal() noexcept;
  /// Normal N(mean, stddev).
  double normal(double mean, double stddev) noexcept { return mean + stddev * normal(); }
  /// Poisson(lambda), lambda ≥ 0 (inversion for small lambda, PTRS transformed rejection above 10).
  std::uint64_t poisson(double lambda) noexcept;
  /// Beta(a, b) via two gamma variates.
  double beta(double a, double b) noexcept;
  /// Gamma(shape, 1) (Marsaglia–Tsang).
  double gamma(double shape) noexcept;

  /// Fisher–Yates shuffle of [first, last).
  template <typename It>
  void shuffle(It first, It last) noexcept {
    auto n = last - first;
    for (decltype(n) i = n - 1; i > 0; --i) {
      auto j = static_cast<decltype(n)>(uniform_int(static_cast<std::uint64_t>(i) + 1));
      auto tmp = first[i];
      first[i] = first[j];
      first[j] = tmp;
    }
  }

 private:
  std::uint64_t s_[4];
  double cached_normal_ = 0.0;
  bool has_cached_normal_ = false;
};

/// splitmix64 mixing step: a good 64-bit hash used to derive seeds.
std::uint64_t splitmix64(std::uint64_t x) noexcept;

}  // namespace isplitee
