// The paper table of report.md on a hand-built report: streams grouped by the trace's manifest
// distortion, levels in stream order, schedules left out, methods found by registry name (a
// missing one is named), and every number taken from the right cell.

#include <gtest/gtest.h>

#include "isplitee/report/report.hpp"

namespace isplitee::report {
namespace {

sim::Stat stat(double mean) {
  sim::Stat s;
  s.mean = s.ci_low = s.ci_high = mean;
  s.values = {mean};
  return s;
}

// A cell whose numbers encode (stream, policy) so a misplaced value is caught:
// accuracy = 50 + 10·s + p, cost = 0.1·(s + 1) + 0.01·p, cut = 20 + s + 0.1·p, drop = s + 0.1·p.
sim::CellResult cell(const std::string& stream, std::size_t s, const std::string& label,
                     const std::string& registry, std::size_t p, std::vector<std::string> segs) {
  sim::CellResult c;
  c.stream = stream;
  c.policy = label;
  c.policy_name = registry;
  c.steps = 100;
  const double ds = static_cast<double>(s), dp = static_cast<double>(p);
  c.metrics = {{"accuracy", stat(50 + 10 * ds + dp)},
               {"cost_per_sample", stat(0.1 * (ds + 1) + 0.01 * dp)},
               {"cost_reduction", stat(20 + ds + 0.1 * dp)},
               {"accuracy_drop", stat(ds + 0.1 * dp)}};
  for (std::size_t i = 0; i < segs.size(); ++i) c.segment_starts.push_back(50 * i);
  c.segment_traces = std::move(segs);
  return c;
}

TraceSummary trace(const std::string& name, const nlohmann::json& spec) {
  TraceSummary t;
  t.name = name;
  t.distortion = {{"name", spec.at("name")}, {"label", name}, {"spec", spec}};
  return t;
}

nlohmann::json spec(const std::string& name, const nlohmann::json& params, int severity = 0) {
  return {{"name", name}, {"severity", severity}, {"preset", "auto"}, {"params", params}};
}

// Streams: pristine, noise 0.03, blur 1 px (AdaEE), noise 20 px, a drift schedule, snow@3.
// Policies: final-exit, an i-splitee labelled "isp-b2", random, edge-threshold; no splitee.
RunReport make_report() {
  RunReport r;
  auto& res = r.result;
  res.repeats = 5;
  res.streams = {"none",
                 "gaussian_noise(sigma=0.03)",
                 "gaussian_blur(sigma=1,kernel=adaee)",
                 "gaussian_noise(sigma=20px)",
                 "drift",
                 "snow@3"};
  res.policies = {"final-exit", "isp-b2", "random", "edge-threshold"};
  const std::vector<std::string> registry = {"final-exit", "i-splitee", "random", "edge-threshold"};
  for (std::size_t s = 0; s < res.streams.size(); ++s)
    for (std::size_t p = 0; p < res.policies.size(); ++p) {
      std::vector<std::string> segs = {res.streams[s]};
      if (res.streams[s] == "drift") segs = {"none", "snow@3"};
      res.cells.push_back(cell(res.streams[s], s, res.policies[p], registry[p], p, segs));
    }
  r.traces = {
      trace("none", spec("none", nlohmann::json::object())),
      trace("gaussian_noise(sigma=0.03)",
            spec("gaussian_noise", {{"sigma", 0.03}, {"units", "unit"}})),
      trace("gaussian_blur(sigma=1,kernel=adaee)",
            spec("gaussian_blur", {{"sigma", 1}, {"kernel", "adaee"}})),
      trace("gaussian_noise(sigma=20px)", spec("gaussian_noise", {{"sigma", 20}, {"units", "px"}})),
      trace("snow@3", spec("snow", nlohmann::json::object(), 3))};
  return r;
}

std::size_t find(const std::string& text, const std::string& what) {
  const auto pos = text.find(what);
  EXPECT_NE(pos, std::string::npos) << "missing: " << what << "\n" << text;
  return pos;
}

TEST(PaperTable, GroupsStreamsByDistortionTypeInStreamOrder) {
  const std::string t = render_paper_table(make_report());
  const auto none = find(t, "### No distortion");
  const auto noise = find(t, "### Gaussian noise");
  const auto blur = find(t, "### Gaussian blur");
  const auto snow = find(t, "### snow");
  EXPECT_LT(none, noise);
  EXPECT_LT(noise, blur);
  EXPECT_LT(blur, snow);
  // Both noise levels sit under the one noise heading, 0.03 before 20 px; blur follows.
  const auto n1 = find(t, "| σ = 0.03 on [0,1] | Final exit |");
  const auto n2 = find(t, "| σ = 20 px | Final exit |");
  EXPECT_LT(noise, n1);
  EXPECT_LT(n1, n2);
  EXPECT_LT(n2, blur);  // noise 20 px is the 4th stream but belongs to the noise group
  find(t, "| σ = 1 px (AdaEE kernel) | Final exit |");
  find(t, "| severity 3 | Final exit |");
  find(t, "| pristine | Final exit |");
  EXPECT_EQ(t.find("drift"), std::string::npos) << "a schedule has no single level";
}

TEST(PaperTable, TakesEachNumberFromItsCellAndNamesMissingMethods) {
  const std::string t = render_paper_table(make_report());
  // Stream 3 (noise 20 px), I-SplitEE = policy 1 labelled isp-b2: 81, 0.410, 23.1, 3.10.
  find(t, "|  | I-SplitEE (`isp-b2`) | 81.00 | 0.410 | 23.1 | 3.10 |");
  // Stream 1 (noise 0.03), random = policy 2: 62, 0.220, 21.2, 1.20.
  find(t, "|  | Random exit | 62.00 | 0.220 | 21.2 | 1.20 |");
  // Stream 0, final exit = policy 0.
  find(t, "| pristine | Final exit | 50.00 | 0.100 | 20.0 | 0.00 |");
  // SplitEE did not run: its rows and the note say so.
  find(t, "|  | SplitEE | not run | | | |");
  find(t, "Not run in this experiment (add them to `policies` to fill their rows): `splitee`.");
  // edge-threshold is not one of the paper's methods.
  EXPECT_EQ(t.find("edge-threshold"), std::string::npos);
}

TEST(PaperTable, SummaryAveragesTheLevelsOfEachType) {
  const std::string t = render_paper_table(make_report());
  // Noise = streams 1 and 3; I-SplitEE (p = 1): accuracy (61 + 81)/2 = 71, drop (1.1 + 3.1)/2 =
  // 2.1, cost (0.21 + 0.41)/2 = 0.31, cut (21.1 + 23.1)/2 = 22.1. Columns: none, noise, blur, snow.
  find(t,
       "| I-SplitEE (`isp-b2`) | 51.00 (0.10) | 0.110 (20.1%) | 71.00 (2.10) | 0.310 (22.1%) | "
       "71.00 (2.10) | 0.310 (22.1%) | 101.00 (5.10) | 0.610 (25.1%) |");
  find(t, "| SplitEE | not run | not run | not run | not run |");
}

TEST(PaperTable, EmptyWithoutSingleTraceStreamsAndPartOfReportMd) {
  RunReport only_drift = make_report();
  auto& res = only_drift.result;
  std::vector<sim::CellResult> keep;
  for (const auto& c : res.cells)
    if (c.stream == "drift") keep.push_back(c);
  res.cells = keep;
  res.streams = {"drift"};
  EXPECT_EQ(render_paper_table(only_drift), "");

  // A trace without a manifest distortion (a replayed CSV) is still listed, under its own name.
  RunReport bare = make_report();
  bare.traces.clear();
  const std::string t = render_paper_table(bare);
  find(t, "### Unknown distortion");
  find(t, "| gaussian_noise(sigma=20px) | Final exit |");
}

}  // namespace
}  // namespace isplitee::report
