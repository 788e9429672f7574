// isplitee replay: run policies on existing traces (directories or CSV files) and print the
// metrics. Thin: parse options, call isplitee::sim::run_experiment, print (docs/architecture.md,
// "Targets and modules").
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/progress.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/cost/cost_model.hpp"
#include "isplitee/policy/policy.hpp"
#include "isplitee/report/result_io.hpp"
#include "isplitee/stream/stream.hpp"
#include "isplitee/trace/trace.hpp"

namespace isplitee::app {
namespace {

struct ReplayOptions {
  std::vector<std::string> traces;
  std::vector<std::string> policies;
  std::vector<std::string> sets;
  std::vector<double> depths;
  std::size_t repeats = 5;
  std::uint64_t seed = 0;
  std::size_t curve_points = 100;
  bool json = false;
  std::string steps;
};

/// "NAME=PATH" or "PATH" (name = directory name or file stem).
std::pair<std::string, std::string> split_trace_arg(const std::string& arg) {
  const auto eq = arg.find('=');
  if (eq != std::string::npos && eq > 0) return {arg.substr(0, eq), arg.substr(eq + 1)};
  std::filesystem::path p(arg);
  while (!p.empty() && p.filename().empty()) p = p.parent_path();  // "dir/" -> "dir"
  const std::string name =
      std::filesystem::is_directory(p) ? p.filename().string() : p.stem().string();
  return {name, arg};
}

void run_replay(const ReplayOptions& o, const GlobalOptions& g) {
  sim::ExperimentSpec spec;
  // --set applies to a small document with the two sections replay understands.
  auto doc = config::Document::parse(R"({"cost": {}, "streams": {}})", "--set");
  doc.apply_overrides(o.sets);
  const config::Node root(doc);
  spec.cost = cost::parse_cost_config(root.object("cost"));
  spec.streams = stream::parse_streams_config(root.object("streams"));
  root.finish();

  for (const auto& arg : o.traces) {
    auto [name, path] = split_trace_arg(arg);
    for (const auto& n : spec.trace_names)
      ISPLITEE_CHECK(n != name, "--trace ", arg, ": a trace named '", name,
                     "' is already given; use NAME=PATH");
    auto t = std::make_shared<const trace::Trace>(trace::read_trace(path, o.depths));
    cost::exit_rule_of(spec.cost).check_trace(*t, path);  // name the file, not just the stream
    spec.traces.push_back(std::move(t));
    spec.trace_names.push_back(name);
  }
  std::vector<std::string> names = o.policies;
  if (names.empty()) names = {"i-splitee", "final-exit"};
  if (names.size() == 1 && names[0] == "all") {
    // Every registered policy the traces can serve: contextual ones need exit 1's entropy and
    // margin, which plain CSV traces lack.
    bool context = true;
    for (const auto& t : spec.traces) context &= !t->entropy.empty() && !t->margin.empty();
    names.clear();
    for (auto n : policy::builtin_policies().names()) {
      if (n == "fixed") n = "fixed:arm=1";
      const auto p = policy::make_policy(policy::parse_policy_argument(n), 1, 0);
      if (context || !p->needs_context()) names.push_back(n);
    }
  }
  for (const auto& n : names) spec.policies.push_back(policy::parse_policy_argument(n));
  spec.repeats = o.repeats;
  spec.seed = o.seed;
  spec.threads = static_cast<std::size_t>(g.threads);
  spec.record_steps = !o.steps.empty();
  spec.curve_points = o.curve_points;

  std::unique_ptr<Progress> bar;
  const auto result = sim::run_experiment(spec, [&](std::size_t done, std::size_t total) {
    if (!bar)
      bar = std::make_unique<Progress>("replay", total, "run",
                                       !g.quiet && !o.json && progress_enabled());
    bar->tick(1);
    if (done == total) bar->finish();
  });
  if (!o.steps.empty()) report::write_steps_csv(o.steps, result);
  if (o.json) {
    std::cout << report::to_json(result).dump(2) << "\n";
  } else {
    std::cout << report::format_table(result);
    std::printf("%zu streams x %zu policies x %zu repeats in %.3f s on %zu threads\n",
                result.streams.size(), result.policies.size(), result.repeats, result.wall_seconds,
                result.threads);
  }
}

}  // namespace

Action add_replay_command(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<ReplayOptions>();
  auto* cmd =
      app.add_subcommand("replay", "run policies on existing traces and print the metrics table");
  cmd->add_option("--trace", o->traces,
                  "trace directory or CSV (conf_1..K,pred_1..K,label); NAME=PATH to name it")
      ->required();
  cmd->add_option("--policy", o->policies,
                  "policy NAME or NAME:key=value,... (repeatable; 'all' = every registered policy "
                  "the traces support; default i-splitee and final-exit)");
  cmd->add_option("--set", o->sets,
                  "override KEY=VALUE under cost.* or streams.* (e.g. cost.alpha=0.6)");
  cmd->add_option("--repeats", o->repeats, "repeats (a permutation of each trace per repeat)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the permutations and randomised policies")
      ->capture_default_str();
  cmd->add_option("--depths", o->depths, "exit depths l_1..l_K for CSV traces (default l_k = k)")
      ->delimiter(',');
  cmd->add_option("--curve-points", o->curve_points, "points of the regret curve")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_flag("--json", o->json, "print the metrics as JSON instead of a table");
  cmd->add_option("--steps", o->steps, "write per-step records to this CSV file")
      ->check(output_file());
  return [o, &g] { run_replay(*o, g); };
}

}  // namespace isplitee::app
