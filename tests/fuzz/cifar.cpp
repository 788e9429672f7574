// Fuzz target `cifar`: CIFAR binary batches as the `cifar10` (test_batch.bin) and `cifar100`
// (test.bin) datasets read them; optionally followed (fuzz_support.hpp's file separator) by a class
// names file (batches.meta.txt / fine_label_names.txt). Invariants: an accepted dataset has 32×32
// RGB images and every label is a class index.

#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/data/readers.hpp"

namespace {

void check_dataset(const isplitee::data::Dataset& ds) {
  const std::size_t n = ds.size();
  ISPLITEE_FUZZ_CHECK(n >= 1);
  for (std::size_t i : {std::size_t{0}, n - 1}) {
    const cv::Mat img = ds.image(i);
    ISPLITEE_FUZZ_CHECK(img.rows == 32 && img.cols == 32 && img.channels() == 3);
    ISPLITEE_FUZZ_CHECK(ds.label(i) >= 0 &&
                        static_cast<std::size_t>(ds.label(i)) < ds.num_classes());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  const auto parts = fuzz::split_files(data, size);
  const auto dir = fuzz::fresh_dir("cifar");
  fuzz::write_file(dir / "test_batch.bin", parts[0]);
  fuzz::write_file(dir / "test.bin", parts[0]);
  if (parts.size() > 1) {
    fuzz::write_file(dir / "batches.meta.txt", parts[1]);
    fuzz::write_file(dir / "fine_label_names.txt", parts[1]);
  }
  fuzz::accepts([&] { check_dataset(*data::read_cifar10(dir, /*train=*/false)); });
  fuzz::accepts([&] { check_dataset(*data::read_cifar100(dir, /*train=*/false)); });
  return 0;
}
