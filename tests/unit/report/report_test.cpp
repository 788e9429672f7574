#include "isplitee/report/report.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>

#include <gtest/gtest.h>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/rng.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/policy/policy.hpp"
#include "support/temp_dir.hpp"

namespace isplitee::report {
namespace {
namespace fs = std::filesystem;

// A synthetic 3-exit trace: deeper exits are more confident and more accurate.
std::shared_ptr<trace::Trace> synthetic_trace(std::uint64_t seed, double hardness,
                                              std::size_t n = 400) {
  auto t = std::make_shared<trace::Trace>();
  t->num_samples = n;
  t->num_exits = 3;
  t->manifest.arch = "synthetic";
  t->manifest.num_classes = 4;
  for (int k = 0; k < 3; ++k) {
    trace::ExitInfo e;
    e.depth_blocks = 2.0 * (k + 1);
    e.macs_millions = 10.0 * (k + 1);
    e.activation_bytes = 1000 * (3 - k);
    t->manifest.exits.push_back(e);
  }
  Rng rng(seed);
  for (std::size_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.uniform_int(4));
    t->label.push_back(label);
    for (int k = 0; k < 3; ++k) {
      const double c =
          std::min(1.0, std::max(0.25, 0.35 + 0.2 * k - hardness + 0.3 * rng.uniform()));
      t->conf.push_back(static_cast<float>(c));
      t->pred.push_back(rng.uniform() < c ? label : (label + 1) % 4);
    }
  }
  for (std::size_t i = 0; i < n; ++i)
    t->manifest.sample_ids.push_back(static_cast<std::int64_t>(i));
  return t;
}

policy::PolicySpec spec(const std::string& name) {
  auto doc = config::Document::from_json({{"name", name}}, "test");
  return policy::parse_policy_spec(config::Node(doc));
}

RunReport make_report() {
  sim::ExperimentSpec s;
  s.trace_names = {"none", "noise@3"};
  s.traces = {synthetic_trace(1, 0.0), synthetic_trace(2, 0.15)};
  s.policies = {spec("i-splitee"), spec("final-exit"), spec("edge-threshold"), spec("cloud-only")};
  auto sdoc = config::Document::from_json(
      {{"schedules",
        {{{"name", "drift"},
          {"segments",
           {{{"trace", "none"}, {"length", 200}}, {{"trace", "noise@3"}, {"length", 200}}}}}}}},
      "test");
  s.streams = stream::parse_streams_config(config::Node(sdoc));
  s.repeats = 3;
  s.curve_points = 10;
  RunReport r;
  r.result = sim::run_experiment(s);
  r.config = {{"name", "unit"}, {"cost", cost::to_json(s.cost)}};
  r.meta = {{"isplitee_version", "test"}, {"git_hash", "abc"}, {"timings", {{"total", 1.5}}}};
  r.traces = {summarize_trace(*s.traces[0], "none"), summarize_trace(*s.traces[1], "noise@3")};
  return r;
}

TEST(Report, SummarizeTraceComputesPerExitAccuracy) {
  trace::Trace t;
  t.num_samples = 4;
  t.num_exits = 2;
  t.conf = {0.5f, 0.9f, 0.6f, 0.8f, 0.7f, 0.7f, 0.4f, 1.0f};
  t.pred = {1, 1, 0, 2, 3, 3, 1, 0};
  t.label = {1, 2, 3, 0};
  const auto s = summarize_trace(t, "x");
  ASSERT_EQ(s.exit_accuracy.size(), 2u);
  EXPECT_DOUBLE_EQ(s.exit_accuracy[0], 50.0);   // rows 0 and 2 right at exit 1
  EXPECT_DOUBLE_EQ(s.exit_accuracy[1], 100.0);  // every row right at exit 2
  EXPECT_NEAR(s.mean_confidence[0], (0.5 + 0.6 + 0.7 + 0.4) / 4, 1e-6);
  EXPECT_NEAR(s.mean_confidence[1], (0.9 + 0.8 + 0.7 + 1.0) / 4, 1e-6);
}

TEST(Report, JsonRoundTripKeepsEveryNumber) {
  const auto r = make_report();
  const auto j = to_json(r);
  const auto back = run_report_from_json(nlohmann::json::parse(j.dump()), "r.json");
  EXPECT_EQ(to_json(back), j);
  EXPECT_EQ(render_summary_csv(back.result), render_summary_csv(r.result));
}

TEST(Report, MalformedReportIsADataError) {
  try {
    run_report_from_json({{"format_version", 1}}, "bad.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kData);
    EXPECT_NE(std::string(e.what()).find("bad.json: malformed report"), std::string::npos);
  }
  try {
    run_report_from_json({{"format_version", 99}}, "bad.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("format_version 99 is not supported"), std::string::npos);
  }
}

TEST(Report, SummaryCsvHasOneRowPerCellWithMeans) {
  const auto r = make_report();
  const auto csv = render_summary_csv(r.result);
  const auto lines = split(csv, '\n');
  // header + 3 streams × 4 policies + trailing empty field
  ASSERT_EQ(lines.size(), 1u + 3 * 4 + 1);
  const auto header = split(lines[0], ',');
  const auto idx = std::find(header.begin(), header.end(), "accuracy_mean") - header.begin();
  const auto row = split(lines[1], ',');
  EXPECT_EQ(row[0], r.result.cells[0].stream);
  EXPECT_NEAR(std::stod(row[idx]), r.result.cells[0].metric("accuracy").mean, 1e-6);
}

TEST(Report, MarkdownHasPaperStyleTablesAndStatesSideInfoMode) {
  const auto r = make_report();
  const auto md = render_markdown(r, {"plots/a.png", "plots/a.svg"});
  for (const char* s :
       {"# isplitee report: unit", "side information: `oracle`", "## Traces: per-exit accuracy",
        "| none | 400 |", "## i-splitee against final-exit inference", "### drift",
        "| policy | accuracy % | cost/sample | cost cut % | acc. drop (pts) | offload % | regret | "
        "dyn. regret |",
        "| final-exit | ", "![plots/a.png](plots/a.png)"})
    EXPECT_NE(md.find(s), std::string::npos) << s;
  EXPECT_EQ(md.find("plots/a.svg)"), std::string::npos);  // only PNGs are embedded
  // final-exit's own cost cut is 0 and its accuracy drop is 0 on every stream.
  for (const auto& c : r.result.cells)
    if (c.policy == "final-exit") {
      EXPECT_NEAR(c.metric("cost_reduction").mean, 0.0, 1e-9);
      EXPECT_NEAR(c.metric("accuracy_drop").mean, 0.0, 1e-9);
    }
}

TEST(Report, ClaimColumnFollowsThresholds) {
  auto r = make_report();
  const auto md = render_markdown(r, {});
  const auto& c = r.result.cell("none", "i-splitee");
  const bool holds =
      c.metric("cost_reduction").mean >= 55.0 && c.metric("accuracy_drop").mean <= 5.0;
  const auto pos = md.find("| none | ", md.find("against final-exit inference"));
  ASSERT_NE(pos, std::string::npos);
  const auto line = md.substr(pos, md.find('\n', pos) - pos);
  EXPECT_NE(line.find(holds ? "| yes |" : "| no |"), std::string::npos) << line;
}

TEST(Report, WritesFilesAtomicallyAndRendersPlots) {
  const isplitee::testing::TempDir tmp("report");
  const fs::path dir = tmp / "run";
  const auto r = make_report();
  const bool have_gnuplot = std::system("command -v gnuplot >/dev/null 2>&1") == 0;
  const auto files = write_report_files(dir, r, /*plots=*/true);
  for (const char* f : {"report.json", "summary.csv", "report.md"})
    EXPECT_NE(std::find(files.begin(), files.end(), f), files.end()) << f;
  if (have_gnuplot) {
    for (const char* f : {"plots/accuracy_vs_cost.png", "plots/accuracy_vs_cost.svg",
                          "plots/regret_drift.png", "plots/arms_drift.png",
                          "plots/offload_by_stream.svg", "plots/dynamic_regret_drift.png"}) {
      EXPECT_TRUE(fs::exists(dir / f)) << f;
      EXPECT_GT(fs::file_size(dir / f), 500u) << f;
    }
  }
  for (const auto& e : fs::recursive_directory_iterator(dir))
    EXPECT_EQ(e.path().filename().string().find(".tmp."), std::string::npos) << e.path();
  const auto back = read_run_report(dir);
  EXPECT_EQ(to_json(back), to_json(r));
  // Re-rendered without plots, report.md still shows the plots plots/ holds.
  write_report_files(dir, r, /*plots=*/false);
  const std::string md = read_text_file(dir / "report.md");
  if (have_gnuplot) {
    EXPECT_EQ(md.find("No plots were rendered"), std::string::npos) << md;
    EXPECT_NE(md.find("![plots/accuracy_vs_cost.png](plots/accuracy_vs_cost.png)"),
              std::string::npos);
    EXPECT_NE(md.find("not re-rendered"), std::string::npos);
  }
  fs::remove_all(dir);
  write_report_files(dir, r, /*plots=*/false);
  EXPECT_NE(read_text_file(dir / "report.md").find("No plots were rendered"), std::string::npos);
  fs::remove_all(dir);
}

TEST(Report, SweepCsvAndTable) {
  auto r = make_report();
  r.sweep_keys = {"cost.offload"};
  for (double o : {0.2, 0.8}) {
    SweepPoint p;
    p.assignment = {{"cost.offload", o}};
    p.result = r.result;
    r.sweep.push_back(p);
  }
  const auto csv = split(render_sweep_csv(r), '\n');
  EXPECT_EQ(csv.size(), 1u + 2 * 12 + 1);
  EXPECT_EQ(split(csv[0], ',')[0], "cost.offload");
  EXPECT_EQ(split(csv[1], ',')[0], "0.2");
  const auto md = render_markdown(r, {});
  EXPECT_NE(md.find("## Sweep over `cost.offload`"), std::string::npos);
  EXPECT_NE(md.find("| cost.offload=0.8 |"), std::string::npos);
}

// The terminal table shows every policy of every stream with "mean ± half-width" of the 95%
// interval in every column, offload in percent, and the sweep table; with fewer than 3 repeats
// the intervals are "—" and a warning says why.
TEST(Report, TerminalTableShowsEveryPolicyWithIntervalsAndTheSweep) {
  auto r = make_report();
  auto table = render_terminal_table(r);
  const auto lines = split(table, '\n');
  ASSERT_GE(lines.size(), 1u + 1 * 4);  // header + one stream (drift) × 4 policies
  for (const char* p : {"i-splitee", "final-exit", "edge-threshold", "cloud-only"})
    EXPECT_NE(table.find(p), std::string::npos) << p << "\n" << table;
  const auto& c = r.result.cell("drift", "i-splitee");
  const auto& acc = c.metric("accuracy");
  char want[64];
  std::snprintf(want, sizeof want, "%.2f ± %.2f", acc.mean, (acc.ci_high - acc.ci_low) / 2);
  EXPECT_NE(table.find(want), std::string::npos) << want << "\n" << table;
  const auto& off = r.result.cell("drift", "cloud-only").metric("offload_pct");
  EXPECT_DOUBLE_EQ(off.mean, 100.0);  // cloud-only offloads every sample: percent, not fraction
  EXPECT_NE(table.find("100.0 ± 0.0"), std::string::npos) << table;
  EXPECT_EQ(table.find("warning"), std::string::npos);
  EXPECT_EQ(table.find("sweep"), std::string::npos);

  r.sweep_keys = {"cost.offload"};
  for (double o : {0.2, 0.8}) {
    SweepPoint p;
    p.assignment = {{"cost.offload", o}};
    p.result = r.result;
    r.sweep.push_back(p);
  }
  table = render_terminal_table(r);
  EXPECT_NE(table.find("sweep over cost.offload"), std::string::npos) << table;
  EXPECT_NE(table.find("cost.offload=0.8"), std::string::npos) << table;

  // Two repeats: no intervals, a warning in the table and in report.md.
  for (auto& cell : r.result.cells)
    for (auto& [name, st] : cell.metrics) st.values.resize(2);
  r.result.repeats = 2;
  table = render_terminal_table(r);
  EXPECT_NE(table.find(" ± —"), std::string::npos) << table;
  EXPECT_NE(table.find("warning: 2 repeats: too few for a 95% interval"), std::string::npos)
      << table;
  const auto md = render_markdown(r, {});
  EXPECT_NE(md.find("too few for a 95% interval"), std::string::npos);
  EXPECT_NE(md.find(" ± —"), std::string::npos);
}

// Every built-in policy has its own colour and I-SplitEE alone is emphasised; in the scripts
// I-SplitEE is drawn last with its colour, and categorical streams are never joined by lines.
TEST(Report, PlotsUseOneStylePerPolicyAndDrawTheHeadlineLast) {
  std::set<std::string> colors;
  std::size_t emphasised = 0;
  for (const auto& info : policy::builtin_policies().entries()) {
    const auto st = policy_style(info.name, info.name);
    EXPECT_TRUE(colors.insert(st.color).second) << info.name << " shares colour " << st.color;
    emphasised += st.emphasised ? 1 : 0;
  }
  EXPECT_EQ(emphasised, 1u);
  EXPECT_TRUE(policy_style("i-splitee", "i-splitee").emphasised);
  EXPECT_NE(policy_style("i-splitee:beta=2", "i-splitee").color,
            policy_style("i-splitee", "i-splitee").color);
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) GTEST_SKIP() << "no gnuplot";
  const isplitee::testing::TempDir tmp("plotstyle");
  const auto r = make_report();
  write_report_files(tmp.path(), r, /*plots=*/true);
  const std::string gp = read_text_file(tmp / "plots/data/accuracy_vs_cost.png.gp");
  const auto last_title = gp.rfind("title '");
  ASSERT_NE(last_title, std::string::npos);
  EXPECT_EQ(gp.substr(last_title, 18), "title 'i-splitee'\n") << gp;
  EXPECT_NE(gp.find("lc rgb '" + policy_style("i-splitee", "i-splitee").color + "'"),
            std::string::npos);
  const std::string off = read_text_file(tmp / "plots/data/offload_by_stream.png.gp");
  EXPECT_EQ(off.find("lines"), std::string::npos) << off;
}

TEST(Report, MissingRunDirectoryIsAnIoError) {
  try {
    read_run_report("/nonexistent/run");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/run/report.json: not found"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace isplitee::report

namespace isplitee::report {
namespace {

TEST(Report, MeanOverStreamsAveragesOnePolicyAndCountsTheClaim) {
  const auto r = make_report();
  EXPECT_EQ(headline_policy(r.result), "i-splitee");
  const auto m = mean_over_streams(r.result, "i-splitee");
  ASSERT_EQ(m.streams, 3u);
  double cut = 0, drop = 0;
  std::size_t holds = 0;
  for (const auto& s : r.result.streams) {
    const auto& c = r.result.cell(s, "i-splitee");
    cut += c.metric("cost_reduction").mean;
    drop += c.metric("accuracy_drop").mean;
    holds += claim_holds(c) ? 1 : 0;
  }
  EXPECT_NEAR(m.cost_reduction, cut / 3, 1e-12);
  EXPECT_NEAR(m.accuracy_drop, drop / 3, 1e-12);
  EXPECT_EQ(m.claim_holds, holds);
  EXPECT_EQ(mean_over_streams(r.result, "no-such-policy").streams, 0u);
  EXPECT_TRUE(is_schedule(r.result.cell("drift", "final-exit")));
  EXPECT_FALSE(is_schedule(r.result.cell("none", "final-exit")));
}

}  // namespace
}  // namespace isplitee::report

namespace isplitee::report {

TEST(Report, ChangeDetectionAndBudgetTables) {
  auto r = make_report();
  {
    sim::ExperimentSpec s;
    s.trace_names = {"none", "noise@3"};
    s.traces = {synthetic_trace(1, 0.0), synthetic_trace(2, 0.3)};
    s.policies = {spec("cusum-ucb"), policy::parse_policy_argument("budgeted-ucb:budget=0.5"),
                  spec("i-splitee")};
    auto sdoc = config::Document::from_json(
        {{"per_trace", false},
         {"schedules",
          {{{"name", "drift"},
            {"segments",
             {{{"trace", "none"}, {"length", 400}}, {{"trace", "noise@3"}, {"length", 400}}}}}}}},
        "test");
    s.streams = stream::parse_streams_config(config::Node(sdoc));
    s.repeats = 2;
    s.curve_points = 10;
    r.result = sim::run_experiment(s);
  }
  const auto md = render_markdown(r, {});
  const auto& c = r.result.cell("drift", "cusum-ucb");
  ASSERT_EQ(c.changes.size(), 1u);
  EXPECT_NE(md.find("## Change detection"), std::string::npos) << md;
  EXPECT_NE(md.find("### cusum-ucb on drift"), std::string::npos) << md;
  EXPECT_NE(md.find("| 401 | noise@3 | " + std::to_string(c.changes[0].detected) + "/2 | "),
            std::string::npos)
      << md;
  EXPECT_EQ(md.find("### i-splitee on drift"), std::string::npos);  // no detector, no table
  EXPECT_NE(md.find("## Cost budget"), std::string::npos);
  EXPECT_NE(md.find("| drift | budgeted-ucb | 0.5000 | "), std::string::npos) << md;
}

}  // namespace isplitee::report
