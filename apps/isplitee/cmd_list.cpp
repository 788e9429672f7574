// isplitee list [policies|distortions|models|datasets] [--json]: every registry, as the build knows
// it.
#include <cstdio>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/cost/exit_rule.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/distort/distortion.hpp"
#include "isplitee/model/config.hpp"
#include "isplitee/policy/policy.hpp"

namespace isplitee::app {
namespace {

nlohmann::json registries() {
  nlohmann::json out;
  nlohmann::json pol = nlohmann::json::array();
  for (const auto& p : policy::builtin_policies().entries()) {
    nlohmann::json params = nlohmann::json::array();
    for (const auto& a : p.params)
      params.push_back({{"name", a.name},
                        {"default", a.default_value},
                        {"min", a.lo},
                        {"max", a.hi},
                        {"integer", a.integer},
                        {"description", a.description}});
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
  out["models"] = {{"architectures", model::architecture_names()},
                   {"exit_heads", model::head_names()}};
  out["datasets"] = data::dataset_names();
  return out;
}

void print_text(const nlohmann::json& r, const std::string& which) {
  if (which.empty() || which == "policies") {
    std::printf("policies (%zu):\n", r["policies"].size());
    for (const auto& p : r["policies"]) {
      std::string params;
      for (const auto& a : p["params"])
        params += (params.empty() ? "" : ", ") + a["name"].get<std::string>() + "=" +
                  format_number(a["default"].get<double>()) + " [" +
                  format_number(a["min"].get<double>()) + ", " +
                  format_number(a["max"].get<double>()) + "]";
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
    std::printf("models: %s\n  exit heads: %s\n",
                join(r["models"]["architectures"].get<std::vector<std::string>>(), ", ").c_str(),
                join(r["models"]["exit_heads"].get<std::vector<std::string>>(), ", ").c_str());
  }
  if (which.empty() || which == "datasets")
    std::printf("datasets: %s\n",
                join(r["datasets"].get<std::vector<std::string>>(), ", ").c_str());
}

}  // namespace

Action add_list_command(CLI::App& app, const GlobalOptions&) {
  struct Options {
    std::string which;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  auto* cmd =
      app.add_subcommand("list", "List policies, exit rules, distortions, models and datasets");
  cmd->add_option("what", o->which, "one registry only")
      ->check(CLI::IsMember({"policies", "exit-rules", "distortions", "models", "datasets"}));
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
