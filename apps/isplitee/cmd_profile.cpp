// isplitee profile: the per-exit cost profile of a multi-exit network (docs/method.md §1–2):
// depth, MACs, parameters, split activation sizes and measured stage latencies.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/model/checkpoint.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/pipeline/experiment.hpp"

namespace isplitee::app {

Action add_profile_command(CLI::App& app, const GlobalOptions& g) {
  struct Options {
    std::string config, arch, checkpoint, json_out;
    std::vector<std::string> overrides;
    int64_t batch = 32;
    int runs = 10;
    bool no_latency = false, no_fold = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("profile",
                         "Per-exit cost profile of a multi-exit network: blocks, MACs, parameters, "
                         "split activation bytes, measured stage latency");
  auto* src = cmd->add_option("--config", o->config, "experiment config (its `model` section)")
                  ->check(CLI::ExistingFile);
  cmd->add_option("--arch", o->arch,
                  "quick mode: profile this architecture with defaults "
                  "(change them with --set model.KEY=VALUE)")
      ->excludes(src);
  cmd->add_option("--checkpoint", o->checkpoint, "profile the network of an isplitee checkpoint")
      ->check(CLI::ExistingFile)
      ->excludes(src);
  cmd->add_option("--set", o->overrides, "override a config value: model.input_size=32")
      ->take_all();
  cmd->add_option("--json", o->json_out, "also write the profile as JSON to this file")
      ->check(output_file());
  cmd->add_option("--batch", o->batch, "batch size N of the batch-N latency")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  cmd->add_option("--runs", o->runs, "timed runs per measurement (median reported)")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  cmd->add_flag("--no-latency", o->no_latency, "static profile only (no timing)");
  cmd->add_flag("--no-fold", o->no_fold, "time without folding BatchNorm into convolutions");
  return [o, &g] {
    model::ModelConfig cfg;
    model::MultiExitNet net{nullptr};
    if (!o->checkpoint.empty()) {
      ISPLITEE_CHECK(o->overrides.empty(),
                     "profile --checkpoint: --set does not apply to a checkpoint");
      auto ck = model::load_checkpoint(o->checkpoint);
      cfg = ck.config;
      net = ck.net;
    } else if (!o->config.empty()) {
      cfg = pipeline::load_experiment(o->config, o->overrides).model;
    } else {
      ISPLITEE_CHECK(!o->arch.empty(),
                     "profile: give --config FILE, --arch NAME or --checkpoint FILE");
      auto doc = config::Document::from_json({{"model", {{"arch", o->arch}}}}, "--arch");
      doc.apply_overrides(o->overrides);
      const config::Node root(doc);
      cfg = model::parse_model_config(root.object("model"));
      root.finish();
    }
    // Weights do not change MACs, shapes or timings: profile without needing the pretrained file.
    cfg.pretrained.clear();
    if (!net) net = model::build_model(cfg);
    if (!o->no_latency) model::measure_latency(*net, o->batch, o->runs, /*warmup=*/2, !o->no_fold);
    const auto& p = net->profile();
    std::printf("%s", model::format_profile_table(p).c_str());
    if (!o->json_out.empty()) {
      nlohmann::json j = model::to_json(p);
      j["model"] = model::to_json(cfg);
      j["exit_blocks"] = net->exit_blocks();
      j["torch_threads"] = model::torch_threads();
      j["blas"] = model::blas_description();
      write_text_atomic(o->json_out, j.dump(2) + "\n");
      if (!g.quiet) std::fprintf(stderr, "wrote %s\n", o->json_out.c_str());
    }
  };
}

}  // namespace isplitee::app
