// Fuzz target `idx`: MNIST / Fashion-MNIST IDX files (plain or gzip) as the `mnist` and
// `fashion-mnist` datasets read them. The input is the images file, then (fuzz_support.hpp's file
// separator) the labels file. Invariants: an accepted dataset's images have its declared size and
// every label is a class index.

#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/data/readers.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  const auto parts = fuzz::split_files(data, size);
  const auto dir = fuzz::fresh_dir("idx");
  fuzz::write_file(dir / "t10k-images-idx3-ubyte", parts[0]);
  if (parts.size() > 1) fuzz::write_file(dir / "t10k-labels-idx1-ubyte", parts[1]);
  fuzz::accepts([&] {
    const auto ds = data::read_idx_dataset(dir, /*train=*/false, /*fashion=*/true);
    const std::size_t n = ds->size();
    for (std::size_t i : {std::size_t{0}, n / 2, n - 1}) {
      if (i >= n) continue;
      const cv::Mat img = ds->image(i);
      ISPLITEE_FUZZ_CHECK(!img.empty() && img.channels() == ds->channels());
      ISPLITEE_FUZZ_CHECK(ds->label(i) >= 0 &&
                          static_cast<std::size_t>(ds->label(i)) < ds->num_classes());
      ISPLITEE_FUZZ_CHECK(ds->sample_id(i) == 60000 + static_cast<std::int64_t>(i));
    }
  });
  // The gzip layer on its own (a file of any bytes).
  fuzz::accepts([&] { (void)data::read_maybe_gzip(dir / "t10k-images-idx3-ubyte"); });
  return 0;
}
