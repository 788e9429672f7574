// Adding a policy is one registry entry: a policy registered here (test-only) is parsed, listed,
// run in the default run, reported and plotted with no other edit.
#include <cstdlib>
#include <filesystem>

#include <gtest/gtest.h>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/report/report.hpp"
#include "isplitee/sim/experiment.hpp"
#include "support/synthetic_trace.hpp"
#include "support/temp_dir.hpp"

using namespace isplitee;

namespace {

/// Always splits after exit 2 and counts its updates (so the test can see it really ran).
class AlwaysSecond final : public policy::Policy {
 public:
  explicit AlwaysSecond(std::size_t k) : Policy(k) {}
  std::string_view name() const noexcept override { return "test-always-second"; }

 private:
  policy::Action do_select(const policy::Round&) override { return policy::Action::split(1); }
  void do_update(const policy::Feedback& f) override { EXPECT_EQ(f.num_observed, 2u); }
};

void register_once() {
  if (policy::builtin_policies().find("test-always-second")) return;
  policy::PolicyInfo info;
  info.name = "test-always-second";
  info.description = "test only: split after exit 2";
  info.factory = [](const nlohmann::json&, std::size_t k, std::uint64_t) {
    return std::make_unique<AlwaysSecond>(k);
  };
  policy::register_policy(std::move(info));  // a learner, in the default run, plotted
}

}  // namespace

TEST(RegistryExtension, OneEntryIsListedRunReportedAndPlotted) {
  register_once();
  const auto names = policy::builtin_policies().names();
  EXPECT_EQ(names.back(), "test-always-second");
  EXPECT_THROW(policy::register_policy(policy::builtin_policies().at("test-always-second")),
               Error);
  // Parsed from a config entry and part of the default policy list.
  const auto spec = policy::parse_policy_argument("test-always-second");
  bool in_default = false;
  for (const auto& s : policy::default_policy_specs()) in_default |= s.name == spec.name;
  EXPECT_TRUE(in_default);

  sim::ExperimentSpec e;
  e.trace_names = {"none"};
  e.traces = {synth::synthetic_trace(500, {0.4, 0.6, 0.8}, 5)};
  e.policies = {policy::parse_policy_argument("i-splitee"), spec,
                policy::parse_policy_argument("final-exit")};
  e.repeats = 2;
  e.threads = 1;
  report::RunReport r;
  r.result = sim::run_experiment(e);
  const auto& c = r.result.cell("none", "test-always-second");
  EXPECT_DOUBLE_EQ(c.arm_histogram[1], 1.0);  // it really chose split 2 every time

  const isplitee::testing::TempDir tmp("registry_ext");
  const bool gnuplot = std::system("command -v gnuplot >/dev/null 2>&1") == 0;
  report::write_report_files(tmp.path(), r, /*plots=*/gnuplot);
  EXPECT_NE(read_text_file(tmp / "report.md").find("test-always-second"), std::string::npos);
  EXPECT_NE(read_text_file(tmp / "summary.csv").find("test-always-second"), std::string::npos);
  if (!gnuplot) GTEST_SKIP() << "gnuplot missing: plots not checked";
  const auto regret = read_text_file(tmp.path() / "plots" / "data" / "regret_none.dat");
  EXPECT_NE(regret.find("# test-always-second"), std::string::npos) << regret;
}
