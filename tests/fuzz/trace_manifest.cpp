// Fuzz target `trace_manifest`: a trace directory as `isplitee replay --trace DIR` and the trace
// cache read it. The input is manifest.json, optionally followed (fuzz_support.hpp's file
// separator) by conf.npy, pred.npy, label.npy, entropy.npy, margin.npy and logits.npy; columns not
// given are valid ones for N = 4 samples and K = 3 exits. Invariants: an accepted trace is
// consistent, and its manifest survives a JSON round trip.

#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/trace/npy.hpp"
#include "isplitee/trace/trace.hpp"

namespace {

const char* const kColumns[] = {"conf.npy",    "pred.npy",   "label.npy",
                                "entropy.npy", "margin.npy", "logits.npy"};

// Valid N = 4, K = 3 columns, written once; their bytes are kept for inputs that give none.
void write_default_columns(const std::filesystem::path& dir) {
  using isplitee::trace::write_npy;
  write_npy(
      dir / "conf.npy",
      std::vector<float>{0.2f, 0.5f, 0.9f, 0.4f, 0.6f, 0.7f, 1.0f, 1.0f, 1.0f, 0.0f, 0.3f, 0.8f},
      {4, 3});
  write_npy(dir / "pred.npy", std::vector<std::int32_t>{0, 1, 1, 2, 2, 2, 3, 3, 3, 0, 1, 0},
            {4, 3});
  write_npy(dir / "label.npy", std::vector<std::int32_t>{1, 2, 3, 0}, {4});
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  // Kept in memory and written like the input's files: std::filesystem::copy_file (sendfile) gave
  // up with EINTR when libFuzzer's timeout alarm arrived mid-copy, a crash of the harness.
  static const auto defaults = [] {
    const auto d = fuzz::fresh_dir("default_columns");
    write_default_columns(d);
    std::vector<std::string> bytes;
    for (std::size_t i = 0; i < 3; ++i) bytes.push_back(fuzz::read_file(d / kColumns[i]));
    return bytes;
  }();
  const auto parts = fuzz::split_files(data, size);
  const auto dir = fuzz::fresh_dir("trace");
  fuzz::write_file(dir / "manifest.json", parts[0]);
  for (std::size_t i = 0; i < 6; ++i) {
    if (i + 1 < parts.size())
      fuzz::write_file(dir / kColumns[i], parts[i + 1]);
    else if (i < 3)
      fuzz::write_file(dir / kColumns[i], defaults[i]);
  }
  fuzz::accepts([&] {
    const auto t = trace::read_trace(dir);
    const std::size_t n = t.num_samples, k = t.num_exits;
    ISPLITEE_FUZZ_CHECK(k >= 1 && t.manifest.exits.size() == k);
    ISPLITEE_FUZZ_CHECK(t.conf.size() % k == 0 && t.conf.size() / k == n);
    ISPLITEE_FUZZ_CHECK(t.pred.size() == t.conf.size() && t.label.size() == n);
    ISPLITEE_FUZZ_CHECK(t.entropy.empty() || t.entropy.size() == t.conf.size());
    ISPLITEE_FUZZ_CHECK(t.margin.empty() || t.margin.size() == t.conf.size());
    trace::validate(t, "fuzz");
    const auto j = trace::manifest_to_json(t.manifest);
    const auto back = trace::manifest_from_json(j, "round trip");
    ISPLITEE_FUZZ_CHECK_MSG(trace::manifest_to_json(back) == j, j.dump());
  });
  return 0;
}
