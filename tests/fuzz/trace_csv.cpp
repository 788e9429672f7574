// Fuzz target `trace_csv`: a trace CSV (conf_1..conf_K,pred_1..pred_K,label) as `isplitee replay`
// reads it, with and without --depths. Invariant: an accepted trace is consistent (N×K columns, K
// manifest exits) and passes validate() again.

#include <cstdint>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/trace/trace.hpp"

namespace {

void check_trace(const isplitee::trace::Trace& t) {
  const std::size_t n = t.num_samples, k = t.num_exits;
  ISPLITEE_FUZZ_CHECK(k >= 1 && n >= 1);
  ISPLITEE_FUZZ_CHECK(t.conf.size() / k == n && t.conf.size() % k == 0);
  ISPLITEE_FUZZ_CHECK(t.pred.size() == t.conf.size() && t.label.size() == n);
  ISPLITEE_FUZZ_CHECK(t.manifest.exits.size() == k);
  isplitee::trace::validate(t, "fuzz");
  ISPLITEE_FUZZ_CHECK(isplitee::trace::exit_accuracy(t).size() == k);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  const auto file = fuzz::scratch_dir() / "trace.csv";
  fuzz::write_file(file, {reinterpret_cast<const char*>(data), size});
  fuzz::accepts([&] { check_trace(trace::read_trace(file)); });
  // --depths given: must agree with the CSV's K (usage error otherwise).
  fuzz::accepts([&] { check_trace(trace::read_trace(file, {3, 6, 9})); });
  return 0;
}
