// Fuzz target `npy`: one .npy file (trace columns; numpy's format, NEP 1) read as float and as int.
// Invariant: an accepted array holds exactly prod(shape) elements.

#include <cstdint>
#include <limits>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/trace/npy.hpp"

namespace {

bool shape_matches(const std::vector<std::size_t>& shape, std::size_t n) {
  std::size_t prod = 1;
  for (auto d : shape) {
    if (d != 0 && prod > std::numeric_limits<std::size_t>::max() / d) return false;
    prod *= d;
  }
  return prod == n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  const auto file = fuzz::scratch_dir() / "column.npy";
  fuzz::write_file(file, {reinterpret_cast<const char*>(data), size});
  std::vector<std::size_t> shape;
  fuzz::accepts([&] {
    const auto v = trace::read_npy_f32(file, shape);
    ISPLITEE_FUZZ_CHECK_MSG(shape_matches(shape, v.size()), v.size(), " floats");
  });
  fuzz::accepts([&] {
    const auto v = trace::read_npy_i32(file, shape);
    ISPLITEE_FUZZ_CHECK_MSG(shape_matches(shape, v.size()), v.size(), " ints");
  });
  return 0;
}
