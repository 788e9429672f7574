// The "paper table" of report.md: the I-SplitEE paper's comparison (final exit, random exit,
// SplitEE, I-SplitEE; accuracy and cost, with the cost reduction and accuracy drop against final-
// exit inference) laid out per distortion type and level, so it can be read next to the paper's.

#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>

#include "isplitee/common/text.hpp"
#include "isplitee/report/report.hpp"

namespace isplitee::report {
namespace {

// The paper's methods, in its row order: registry name and the name the paper gives them.
struct Method {
  const char* registry_name;
  const char* paper_name;
};
constexpr Method kMethods[] = {{"final-exit", "Final exit"},
                               {"random", "Random exit"},
                               {"splitee", "SplitEE"},
                               {"i-splitee", "I-SplitEE"}};

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return "n/a";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// A stream that replays one trace, with the trace's distortion (when the report knows it).
struct Row {
  std::size_t stream = 0;  // index into ExperimentResult::streams
  std::string level;
};
struct Group {
  std::string key, title;
  std::vector<Row> rows;
};

std::string group_title(const std::string& name) {
  if (name == "none") return "No distortion";
  if (name == "gaussian_noise") return "Gaussian noise";
  if (name == "gaussian_blur") return "Gaussian blur";
  if (name.empty()) return "Unknown distortion";
  return name;
}

// "σ = 0.08 on [0,1]", "σ = 20 px", "σ = 1.5 px (AdaEE kernel)", "severity 3", or k=v pairs.
std::string level_text(const nlohmann::json& d, const std::string& fallback) {
  if (!d.is_object() || !d.contains("spec")) return fallback;
  const auto& spec = d["spec"];
  const std::string name = spec.value("name", "");
  if (name == "none") return "pristine";
  if (name == "chain") return d.value("label", fallback);
  const auto params = spec.value("params", nlohmann::json::object());
  if (params.empty() || !params.is_object()) {
    std::string s = "severity " + std::to_string(spec.value("severity", 0));
    const std::string preset = spec.value("preset", "auto");
    return preset == "auto" ? s : s + " (" + preset + "-px table)";
  }
  const auto number = [&](const char* k) {
    return params.contains(k) && params[k].is_number() ? format_number(params[k].get<double>())
                                                       : std::string("?");
  };
  if (name == "gaussian_noise" && params.contains("sigma"))
    return "σ = " + number("sigma") + (params.value("units", "px") == "px" ? " px" : " on [0,1]");
  if (name == "gaussian_blur" && params.contains("sigma"))
    return "σ = " + number("sigma") + " px" +
           (params.value("kernel", "") == "adaee" ? " (AdaEE kernel)" : "");
  std::vector<std::string> parts;
  for (const auto& [k, v] : params.items())
    parts.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
  return join(parts, ", ");
}

// Streams that replay a single trace, grouped by the trace's distortion name, in stream order.
std::vector<Group> group_streams(const RunReport& r) {
  const auto& res = r.result;
  std::map<std::string, const TraceSummary*> by_name;
  for (const auto& t : r.traces) by_name.emplace(t.name, &t);
  std::vector<Group> groups;
  for (std::size_t s = 0; s < res.streams.size(); ++s) {
    const std::size_t first = s * res.policies.size();
    if (first >= res.cells.size()) break;
    const auto& c = res.cells[first];
    if (is_schedule(c)) continue;  // a schedule mixes distortions: it has no single level
    const std::string trace = c.segment_traces.empty() ? res.streams[s] : c.segment_traces[0];
    const auto it = by_name.find(trace);
    const nlohmann::json d = it == by_name.end() ? nlohmann::json() : it->second->distortion;
    const std::string key = d.is_object() ? d.value("name", "") : "";
    Group* g = nullptr;
    for (auto& x : groups)
      if (x.key == key) g = &x;
    if (g == nullptr) {
      groups.push_back({key, group_title(key), {}});
      g = &groups.back();
    }
    std::string level = level_text(d, trace);
    if (trace != res.streams[s]) level += " (stream `" + res.streams[s] + "`)";
    g->rows.push_back({s, level});
  }
  return groups;
}

// The policy label of each method (first label with that registry name), "" when it did not run.
std::vector<std::string> method_labels(const sim::ExperimentResult& res) {
  std::vector<std::string> labels;
  for (const auto& m : kMethods) {
    std::string label;
    for (std::size_t p = 0; p < res.policies.size() && p < res.cells.size(); ++p)
      if (res.cells[p].policy_name == m.registry_name) {
        label = res.policies[p];
        break;
      }
    labels.push_back(label);
  }
  return labels;
}

std::string method_cell(std::size_t m, const std::string& label) {
  std::string s = kMethods[m].paper_name;
  if (!label.empty() && label != kMethods[m].registry_name) s += " (`" + label + "`)";
  return s;
}

// Mean over a group's levels of one metric of one policy.
double group_mean(const sim::ExperimentResult& res, const Group& g, const std::string& label,
                  const char* metric) {
  double sum = 0;
  for (const auto& row : g.rows)
    sum += res.cell(res.streams[row.stream], label).metric(metric).mean;
  return g.rows.empty() ? NAN : sum / static_cast<double>(g.rows.size());
}

void level_tables(std::ostringstream& os, const sim::ExperimentResult& res,
                  const std::vector<Group>& groups, const std::vector<std::string>& labels) {
  for (const auto& g : groups) {
    os << "### " << g.title << "\n\n"
       << "| level | method | accuracy % | cost/sample | cost cut % | acc. drop (pts) |\n"
       << "|---|---|---:|---:|---:|---:|\n";
    for (const auto& row : g.rows) {
      for (std::size_t m = 0; m < std::size(kMethods); ++m) {
        os << "| " << (m == 0 ? row.level : "") << " | " << method_cell(m, labels[m]) << " |";
        if (labels[m].empty()) {
          os << " not run | | | |\n";
          continue;
        }
        const auto& c = res.cell(res.streams[row.stream], labels[m]);
        os << ' ' << fixed(c.metric("accuracy").mean, 2) << " | "
           << fixed(c.metric("cost_per_sample").mean, 3) << " | "
           << fixed(c.metric("cost_reduction").mean, 1) << " | "
           << fixed(c.metric("accuracy_drop").mean, 2) << " |\n";
      }
    }
    os << '\n';
  }
}

// The paper's own summary layout: rows = methods, columns = distortion types (mean over levels).
void summary_table(std::ostringstream& os, const sim::ExperimentResult& res,
                   const std::vector<Group>& groups, const std::vector<std::string>& labels) {
  os << "Mean over the levels of each type; each cell is accuracy % (drop in points) and cost per "
        "sample (cost cut %).\n\n| method |";
  for (const auto& g : groups) os << ' ' << g.title << " accuracy | " << g.title << " cost |";
  os << "\n|---|";
  for (std::size_t i = 0; i < groups.size(); ++i) os << "---:|---:|";
  os << '\n';
  for (std::size_t m = 0; m < std::size(kMethods); ++m) {
    os << "| " << method_cell(m, labels[m]) << " |";
    for (const auto& g : groups) {
      if (labels[m].empty()) {
        os << " not run | not run |";
        continue;
      }
      const std::string& l = labels[m];
      os << ' ' << fixed(group_mean(res, g, l, "accuracy"), 2) << " ("
         << fixed(group_mean(res, g, l, "accuracy_drop"), 2) << ") | "
         << fixed(group_mean(res, g, l, "cost_per_sample"), 3) << " ("
         << fixed(group_mean(res, g, l, "cost_reduction"), 1) << "%) |";
    }
    os << '\n';
  }
  os << '\n';
}

}  // namespace

std::string render_paper_table(const RunReport& r) {
  const auto& res = r.result;
  const auto groups = group_streams(r);
  if (groups.empty()) return "";
  const auto labels = method_labels(res);
  std::ostringstream os;
  os << "## Paper table: final exit, random exit, SplitEE and I-SplitEE per distortion\n\n"
     << "The layout of the I-SplitEE paper's results: per distortion type and level, the accuracy "
        "and cost per sample of each method (means over "
     << res.repeats
     << " repeats; intervals are in the per-stream tables below), with the cost reduction and "
        "accuracy drop against final-exit inference on the same stream and repeat. Cost is what "
        "the cost model above charges.\n\n";
  std::vector<std::string> missing;
  for (std::size_t m = 0; m < std::size(kMethods); ++m)
    if (labels[m].empty()) missing.push_back(std::string("`") + kMethods[m].registry_name + "`");
  if (!missing.empty())
    os << "Not run in this experiment (add them to `policies` to fill their rows): "
       << join(missing, ", ") << ".\n\n";
  summary_table(os, res, groups, labels);
  level_tables(os, res, groups, labels);
  return os.str();
}

}  // namespace isplitee::report
