// Fuzz target `report_json`: a run directory's report.json as `isplitee report` reads and
// re-renders it (report.md, summary.csv, sweep.csv and the terminal table; plots need gnuplot and
// are left out). Invariant: an accepted report renders without error and survives a JSON round
// trip.

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/report/report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  const auto dir = fuzz::fresh_dir("run");
  fuzz::write_file(dir / "report.json", {reinterpret_cast<const char*>(data), size});
  report::RunReport r;
  if (!fuzz::accepts([&] { r = report::read_run_report(dir); })) return 0;
  fuzz::accepts([&] {
    (void)report::render_markdown(r, {});
    (void)report::render_summary_csv(r.result);
    (void)report::render_sweep_csv(r);
    (void)report::render_terminal_table(r);
    const auto j = report::to_json(r);
    ISPLITEE_FUZZ_CHECK(report::to_json(report::run_report_from_json(j, "round trip")) == j);
  });
  return 0;
}
