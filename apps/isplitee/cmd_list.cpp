// isplitee list [policies|distortions|models|datasets|configs] [--json]: every registry, as the
// build knows it, and the configs under ./configs.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/cost/exit_rule.hpp"
#include "isplitee/data/dataset_config.hpp"
#include "isplitee/distort/spec.hpp"
#include "isplitee/model/backbones.hpp"
#include "isplitee/model/config.hpp"
#include "isplitee/pipeline/experiment_config.hpp"
#include "isplitee/policy/policy.hpp"

namespace isplitee::app {
namespace {

nlohmann::json registries() {
  nlohmann::json out;
  nlohmann::json pol = nlohmann::json::array();
  for (const auto& p : policy::builtin_policies().entries()) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& a : p.params) {
      nlohmann::json pj = {
          {"name", a.name}, {"default", a.default_json()}, {"description", a.description}};
      if (a.choices.empty()) {
        pj["min"] = a.lo;
        pj["max"] = a.hi;
        pj["integer"] = a.integer;
      } else {
        pj["choices"] = a.choices;
      }
      params.push_back(pj);
    }
    pol.push_back({{"name", p.name},
                   {"description", p.description},
                   {"role", policy::to_string(p.role)},
                   {"default_run", p.default_run},
                   {"plotted", p.plotted},
                   {"headline", p.headline},
                   {"baseline", p.baseline},
                   {"params", params}});
  }
  out["policies"] = pol;
  nlohmann::json rules = nlohmann::json::array();
  for (const auto& e : cost::exit_criteria())
    rules.push_back({{"name", e.name}, {"score", e.formula}, {"trace_needs", e.trace_needs}});
  out["exit-rules"] = rules;
  nlohmann::json dis = nlohmann::json::array();
  for (const auto& d : distort::builtin_distortions()) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& a : d.params) {
      nlohmann::json pj = {{"name", a.name}, {"units", a.units}, {"description", a.description}};
      if (a.choices.empty()) {
        pj["min"] = a.lo;
        pj["max"] = a.hi;
      } else {
        pj["choices"] = a.choices;
      }
      params.push_back(pj);
    }
    dis.push_back({{"name", d.name},
                   {"group", d.group},
                   {"description", d.description},
                   {"severities", d.has_severity ? "1-5" : "-"},
                   {"params", params}});
  }
  out["distortions"] = dis;
  nlohmann::json backbones = nlohmann::json::array();
  for (const auto& b : model::builtin_backbones())
    backbones.push_back({{"name", b.name},
                         {"description", b.description},
                         {"keys", b.knobs},
                         {"default_exits", b.default_exits}});
  out["models"] = {{"architectures", model::architecture_names()},
                   {"backbones", backbones},
                   {"common_keys", model::common_model_keys()},
                   {"exit_heads", model::head_names()}};
  out["datasets"] = data::dataset_names();
  nlohmann::json configs = nlohmann::json::array();
  for (const auto& c : pipeline::find_configs("configs"))
    configs.push_back({{"file", c.file.string()},
                       {"name", c.name},
                       {"description", c.description},
                       {"error", c.problem}});
  out["configs"] = configs;
  return out;
}

void print_text(const nlohmann::json& r, const std::string& which) {
  if (which.empty() || which == "policies") {
    std::printf("policies (%zu):\n", r["policies"].size());
    for (const auto& p : r["policies"]) {
      std::string params;
      for (const auto& a : p["params"]) {
        params += (params.empty() ? "" : ", ") + a["name"].get<std::string>() + "=";
        if (a.contains("choices"))
          params += a["default"].get<std::string>() + " {" +
                    join(a["choices"].get<std::vector<std::string>>(), "|") + "}";
        else
          params += format_number(a["default"].get<double>()) + " [" +
                    format_number(a["min"].get<double>()) + ", " +
                    format_number(a["max"].get<double>()) + "]";
      }
      std::printf("  %-18s %-9s %s%s\n", p["name"].get<std::string>().c_str(),
                  p["role"].get<std::string>().c_str(), p["description"].get<std::string>().c_str(),
                  p["default_run"].get<bool>() ? "" : " (not in the default run)");
      if (!params.empty()) std::printf("  %-18s params: %s\n", "", params.c_str());
    }
  }
  if (which.empty() || which == "exit-rules") {
    std::printf(
        "exit rules (cost.exit_rule.kind; calibrate: true divides logits by a per-exit "
        "temperature first):\n");
    for (const auto& e : r["exit-rules"])
      std::printf("  %-10s %s\n  %-10s reads: %s\n", e["name"].get<std::string>().c_str(),
                  e["score"].get<std::string>().c_str(), "",
                  e["trace_needs"].get<std::string>().c_str());
  }
  if (which.empty() || which == "distortions") {
    std::printf("distortions (%zu):\n", r["distortions"].size());
    for (const auto& d : r["distortions"]) {
      std::string params;
      for (const auto& a : d["params"]) {
        params += (params.empty() ? "" : ", ") + a["name"].get<std::string>();
        if (!a["units"].get<std::string>().empty())
          params += " (" + a["units"].get<std::string>() + ")";
        if (a.contains("choices"))
          params += " {" + join(a["choices"].get<std::vector<std::string>>(), "|") + "}";
        else
          params += " [" + format_number(a["min"].get<double>()) + ", " +
                    format_number(a["max"].get<double>()) + "]";
      }
      std::printf("  %-20s %-8s sev %-4s %s\n", d["name"].get<std::string>().c_str(),
                  d["group"].get<std::string>().c_str(), d["severities"].get<std::string>().c_str(),
                  d["description"].get<std::string>().c_str());
      if (!params.empty()) std::printf("  %-20s params: %s\n", "", params.c_str());
    }
  }
  if (which.empty() || which == "models") {
    std::printf(
        "models (%zu; every one reads model.%s):\n", r["models"]["backbones"].size(),
        join(r["models"]["common_keys"].get<std::vector<std::string>>(), ", model.").c_str());
    for (const auto& b : r["models"]["backbones"]) {
      std::printf("  %-18s %s\n", b["name"].get<std::string>().c_str(),
                  b["description"].get<std::string>().c_str());
      std::printf("  %-18s keys: %s; default exits: %s\n", "",
                  join(b["keys"].get<std::vector<std::string>>(), ", ").c_str(),
                  b["default_exits"].get<std::string>().c_str());
    }
    std::printf("  exit heads: %s\n",
                join(r["models"]["exit_heads"].get<std::vector<std::string>>(), ", ").c_str());
  }
  if (which.empty() || which == "datasets")
    std::printf("datasets: %s\n",
                join(r["datasets"].get<std::vector<std::string>>(), ", ").c_str());
  if (which.empty() || which == "configs") {
    if (r["configs"].empty())
      std::printf("configs: none in ./configs (run from the isplitee repository)\n");
    else
      std::printf("configs (%zu, run with `isplitee run --config FILE`):\n", r["configs"].size());
    for (const auto& c : r["configs"]) {
      const std::string err = c["error"].get<std::string>();
      std::printf("  %-36s %s\n", c["file"].get<std::string>().c_str(),
                  (err.empty() ? c["description"].get<std::string>() : "(invalid) " + err).c_str());
    }
  }
}

}  // namespace

Action add_list_command(CLI::App& app, const GlobalOptions&) {
  struct Options {
    std::string which;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "list",
      "List policies, exit rules, distortions, models, datasets and the configs in ./configs");
  cmd->add_option("what", o->which, "one registry only")
      ->check(CLI::IsMember(
          {"policies", "exit-rules", "distortions", "models", "datasets", "configs"}));
  cmd->add_flag("--json", o->json, "print JSON");
  return [o] {
    auto r = registries();
    if (o->json) {
      std::printf("%s\n", (o->which.empty() ? r : r[o->which]).dump(2).c_str());
      return;
    }
    print_text(r, o->which);
  };
}

}  // namespace isplitee::app
