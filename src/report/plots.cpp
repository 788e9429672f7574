// Plots of a run report, rendered by gnuplot (Debian's gnuplot-nox): PNG (pngcairo) and SVG.
// Data go to plots/data/*.dat and scripts to plots/data/*.gp so a user can restyle and re-render.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <sstream>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/report/report.hpp"

namespace isplitee::report {
namespace fs = std::filesystem;

namespace {

std::string safe_name(const std::string& s) {
  std::string out;
  for (char c : s)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.') ? c : '_';
  return out;
}

// gnuplot single-quoted string (a quote is written twice).
std::string q(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

// Gnuplot's enhanced text mode would treat _ and @ as markup: titles are written with noenhanced.
bool gnuplot_available() { return std::system("command -v gnuplot >/dev/null 2>&1") == 0; }

bool is_learner(const std::string& name) { return policy_has(name, &policy::PolicyInfo::plotted); }

// Policy indices in drawing order: the headline policy last, so nothing hides it.
std::vector<std::size_t> draw_order(const sim::ExperimentResult& res) {
  const std::string head = headline_policy(res);
  std::vector<std::size_t> order, last;
  for (std::size_t p = 0; p < res.policies.size(); ++p)
    (res.policies[p] == head ? last : order).push_back(p);
  order.insert(order.end(), last.begin(), last.end());
  return order;
}

// The registry name of policy index p (from the first stream's cell).
const std::string& name_of(const sim::ExperimentResult& res, std::size_t p) {
  return res.cells[p].policy_name;
}

// " lc rgb '#…' pt N ps S" / " lc rgb '#…' lw W" for policy p of `res`.
std::string point_style(const sim::ExperimentResult& res, std::size_t p) {
  const auto st = policy_style(res.policies[p], name_of(res, p));
  std::ostringstream os;
  os << " lc rgb '" << st.color << "' pt " << st.point_type << " ps "
     << (st.emphasised ? 2.4 : 1.4);
  return os.str();
}
std::string line_style(const sim::ExperimentResult& res, std::size_t p) {
  const auto st = policy_style(res.policies[p], name_of(res, p));
  return " lc rgb '" + st.color + "' lw " + (st.emphasised ? "3.5" : "1.8");
}

struct Plot {
  std::string name;  // file stem
  std::string body;  // gnuplot commands after the terminal/output lines
  double width = 800, height = 500;
};

// Renders one plot as PNG and SVG into plots/, through temporary names.
void render(const fs::path& plots_dir, const Plot& p, std::vector<std::string>& files) {
  const fs::path data_dir = plots_dir / "data";
  for (const char* ext : {"png", "svg"}) {
    const fs::path out = plots_dir / (p.name + "." + ext);
    const fs::path tmp = temporary_sibling(out);
    std::ostringstream gp;
    if (std::string(ext) == "png")
      gp << "set terminal pngcairo size " << p.width << "," << p.height << " font 'sans,10'\n";
    else
      gp << "set terminal svg size " << p.width << "," << p.height << " font 'sans,10' dynamic\n";
    gp << "set output " << q(fs::absolute(tmp).string()) << "\n" << p.body << "unset output\n";
    const fs::path script = data_dir / (p.name + "." + ext + ".gp");
    write_text_atomic(script, gp.str());
    const std::string cmd = "cd " + q(fs::absolute(data_dir).string()) + " && gnuplot " +
                            q(script.filename().string()) + " >/dev/null 2>" +
                            q(p.name + "." + ext + ".log");
    const int rc = std::system(cmd.c_str());
    std::error_code ec;
    if (rc != 0 || !fs::exists(tmp, ec)) {
      fs::remove(tmp, ec);
      fail(ErrorCode::kIo, "gnuplot failed to render ", out.string(), " (see ",
           (data_dir / (p.name + "." + ext + ".log")).string(), ")");
    }
    commit_file(tmp, out);
    fs::remove(data_dir / (p.name + "." + ext + ".log"), ec);
    files.push_back("plots/" + p.name + "." + ext);
  }
}

constexpr const char* kStyle =
    "set termoption noenhanced\nset grid lc rgb '#dddddd'\nset key outside right top\n"
    "set border 3\nset tics nomirror\n";

}  // namespace

namespace {

/// 1. Accuracy vs cost: one point per (policy, stream).
void plot_accuracy_vs_cost(const RunReport& r, const fs::path& plots_dir,
                           std::vector<std::string>& files) {
  const auto& res = r.result;
  const fs::path data_dir = plots_dir / "data";
  const std::size_t np = res.policies.size();
  {
    std::ostringstream dat, body;
    body << kStyle << "set title 'Accuracy vs cost per sample (one point per stream)'\n"
         << "set xlabel 'cost per sample'\nset ylabel 'accuracy (%)'\nplot ";
    std::size_t index = 0;
    for (const std::size_t p : draw_order(res)) {
      dat << "# " << res.policies[p] << "\n";
      for (std::size_t s = 0; s < res.streams.size(); ++s) {
        const auto& c = res.cells[s * np + p];
        dat << c.metric("cost_per_sample").mean << ' ' << c.metric("accuracy").mean << '\n';
      }
      dat << "\n\n";
      body << (index ? ", " : "") << "'accuracy_vs_cost.dat' index " << index
           << " using 1:2 with points" << point_style(res, p) << " title " << q(res.policies[p]);
      ++index;
    }
    body << '\n';
    write_text_atomic(data_dir / "accuracy_vs_cost.dat", dat.str());
    render(plots_dir, {"accuracy_vs_cost", body.str()}, files);
  }
}

/// 2. Cumulative regret with 95% bands, learners only, one plot per stream.
void plot_regret(const RunReport& r, const fs::path& plots_dir, std::vector<std::string>& files) {
  const auto& res = r.result;
  const fs::path data_dir = plots_dir / "data";
  const std::size_t np = res.policies.size();
  for (std::size_t s = 0; s < res.streams.size(); ++s) {
    std::ostringstream dat, body;
    std::vector<std::size_t> shown;
    for (const std::size_t p : draw_order(res))
      if (is_learner(res.cells[s * np + p].policy_name)) shown.push_back(p);
    if (shown.empty()) break;
    const std::string stem = "regret_" + safe_name(res.streams[s]);
    body << kStyle << "set title " << q("Cumulative regret vs best fixed arm: " + res.streams[s])
         << "\nset xlabel 'step t'\nset ylabel 'regret'\nset style fill transparent solid 0.2 "
            "noborder\nplot ";
    for (std::size_t i = 0; i < shown.size(); ++i) {
      const auto& c = res.cells[s * np + shown[i]];
      dat << "# " << c.policy << "\n";
      for (std::size_t j = 0; j < c.curve_t.size(); ++j)
        dat << c.curve_t[j] << ' ' << c.regret_mean[j] << ' ' << c.regret_low[j] << ' '
            << c.regret_high[j] << '\n';
      dat << "\n\n";
      const auto color = policy_style(c.policy, c.policy_name).color;
      body << (i ? ", " : "") << q(stem + ".dat") << " index " << i
           << " using 1:3:4 with filledcurves lc rgb '" << color << "' notitle, "
           << q(stem + ".dat") << " index " << i << " using 1:2 with lines"
           << line_style(res, shown[i]) << " title " << q(c.policy);
    }
    body << '\n';
    write_text_atomic(data_dir / (stem + ".dat"), dat.str());
    render(plots_dir, {stem, body.str()}, files);
  }
}

/// 3. Split layer chosen over time, for streams with several segments (schedules).
void plot_arms_over_time(const RunReport& r, const fs::path& plots_dir,
                         std::vector<std::string>& files) {
  const auto& res = r.result;
  const fs::path data_dir = plots_dir / "data";
  const std::size_t np = res.policies.size();
  for (std::size_t s = 0; s < res.streams.size(); ++s) {
    const auto& c0 = res.cells[s * np];
    if (!is_schedule(c0)) continue;
    std::ostringstream dat, body;
    const std::string stem = "arms_" + safe_name(res.streams[s]);
    body << kStyle << "set title " << q("Mean split arm chosen over time: " + res.streams[s])
         << "\nset xlabel 'step t'\nset ylabel 'mean chosen arm (1 = shallowest)'\n"
         << "set yrange [0.5:" << res.num_arms + 0.5 << "]\n";
    for (std::size_t i = 0; i < c0.segment_starts.size(); ++i) {
      body << "set arrow from " << c0.segment_starts[i] << ", graph 0 to " << c0.segment_starts[i]
           << ", graph 1 nohead dt 2 lc rgb '#888888'\n";
      body << "set label " << q(c0.segment_traces[i]) << " at " << c0.segment_starts[i]
           << ", graph 1.03 font ',8'\n";
    }
    body << "plot ";
    std::size_t shown = 0;
    for (const std::size_t p : draw_order(res)) {
      const auto& c = res.cells[s * np + p];
      if (!is_learner(c.policy_name)) continue;
      dat << "# " << c.policy << "\n";
      for (std::size_t b = 0; b < c.arm_over_time.size(); ++b) {
        double mass = 0, mean = 0;
        for (std::size_t a = 0; a < res.num_arms && a < c.arm_over_time[b].size(); ++a) {
          mass += c.arm_over_time[b][a];
          mean += (a + 1.0) * c.arm_over_time[b][a];
        }
        const double mid = 0.5 * (c.bin_edges[b] + c.bin_edges[b + 1]);
        if (mass > 0) dat << mid << ' ' << mean / mass << '\n';
      }
      dat << "\n\n";
      body << (shown ? ", " : "") << q(stem + ".dat") << " index " << shown
           << " using 1:2 with lines" << line_style(res, p) << " title " << q(c.policy);
      ++shown;
    }
    if (!shown) continue;
    body << '\n';
    write_text_atomic(data_dir / (stem + ".dat"), dat.str());
    render(plots_dir, {stem, body.str(), 900, 500}, files);
  }
}

/// 4. Offload fraction and the headline trade-off per distortion level (single-trace streams).
void plot_offload(const RunReport& r, const fs::path& plots_dir, std::vector<std::string>& files) {
  const auto& res = r.result;
  const fs::path data_dir = plots_dir / "data";
  const std::size_t np = res.policies.size();
  std::vector<std::size_t> levels;
  for (std::size_t s = 0; s < res.streams.size(); ++s)
    if (!is_schedule(res.cells[s * np])) levels.push_back(s);
  if (!levels.empty()) {
    std::ostringstream dat, body;
    dat << "# level";
    for (std::size_t p = 0; p < np; ++p) dat << " \"" << res.policies[p] << "\"";
    dat << '\n';
    for (std::size_t i = 0; i < levels.size(); ++i) {
      dat << i;
      for (std::size_t p = 0; p < np; ++p)
        dat << ' ' << res.cells[levels[i] * np + p].metric("offload_pct").mean;
      dat << '\n';
    }
    // Streams are categories: points only (a line between two streams would suggest an order).
    body << kStyle << "set title 'Offload per stream'\nset ylabel 'offloaded (% of samples)'\n"
         << "set xrange [-0.5:" << levels.size() - 0.5 << "]\n"
         << "set xtics rotate by -40 font ',8'\nset xtics (";
    for (std::size_t i = 0; i < levels.size(); ++i)
      body << (i ? ", " : "") << q(res.streams[levels[i]]) << ' ' << i;
    body << ")\nset yrange [0:*]\nplot ";
    std::size_t shown = 0;
    for (const std::size_t p : draw_order(res)) {
      double any = 0;
      for (auto s : levels) any += res.cells[s * np + p].metric("offload_pct").mean;
      if (any <= 0) continue;
      body << (shown++ ? ", " : "") << "'offload_by_stream.dat' using 1:" << p + 2 << " with points"
           << point_style(res, p) << " title " << q(res.policies[p]);
    }
    body << '\n';
    if (shown) {
      write_text_atomic(data_dir / "offload_by_stream.dat", dat.str());
      render(plots_dir, {"offload_by_stream", body.str(), 900, 500}, files);
    }
  }
}

std::string value_label(const nlohmann::json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

/// 5b. A 2-D sweep as two heatmaps (cost reduction, accuracy drop) over the grid, values printed
/// in the cells: a line through a grid would mix its two axes.
void plot_sweep_heatmap(const RunReport& r, const fs::path& plots_dir,
                        std::vector<std::string>& files) {
  const fs::path data_dir = plots_dir / "data";
  const std::string hp = headline_policy(r.sweep.front().result);
  // The grid is first axis slowest: the first axis' values in order, then n2 = points / n1.
  std::vector<std::string> v1, v2;
  for (const auto& p : r.sweep) {
    const auto a = value_label(p.assignment.at(0).second),
               b = value_label(p.assignment.at(1).second);
    if (std::find(v1.begin(), v1.end(), a) == v1.end()) v1.push_back(a);
    if (std::find(v2.begin(), v2.end(), b) == v2.end()) v2.push_back(b);
  }
  std::ostringstream dat, body;
  for (std::size_t i = 0; i < r.sweep.size(); ++i) {
    const PolicyMeans m = mean_over_streams(r.sweep[i].result, hp);
    dat << i % v2.size() << ' ' << i / v2.size() << ' ' << m.cost_reduction << ' '
        << m.accuracy_drop << '\n';
  }
  auto tics = [](const char* axis, const std::vector<std::string>& v) {
    std::string t = std::string("set ") + axis + "tics (";
    for (std::size_t i = 0; i < v.size(); ++i)
      t += (i ? ", " : "") + q(v[i]) + " " + std::to_string(i);
    return t + ")\n";
  };
  const auto& k1 = r.sweep_keys.at(0);
  const auto& k2 = r.sweep_keys.at(1);
  body << "set termoption noenhanced\nset multiplot layout 1,2 title "
       << q("Sweep: " + hp + " (mean over streams)") << "\n"
       << "set xlabel " << q(k2) << "\nset ylabel " << q(k1) << "\n"
       << tics("x", v2) << tics("y", v1) << "set xrange [-0.5:" << v2.size() - 0.5 << "]\n"
       << "set yrange [-0.5:" << v1.size() - 0.5 << "]\nset view map\nunset key\n"
       << "set title 'cost reduction (%)'\nset palette defined (0 '#f7fbff', 1 '#08519c')\n"
       << "plot 'sweep_heatmap.dat' using 1:2:3 with image, '' using 1:2:(sprintf('%.1f',$3)) "
          "with labels font ',9'\n"
       << "set title 'accuracy drop (points)'\nset palette defined (0 '#fff5f0', 1 '#a50f15')\n"
       << "plot 'sweep_heatmap.dat' using 1:2:4 with image, '' using 1:2:(sprintf('%.2f',$4)) "
          "with labels font ',9'\nunset multiplot\n";
  write_text_atomic(data_dir / "sweep_heatmap.dat", dat.str());
  render(plots_dir, {"sweep_heatmap", body.str(), 1100, 480}, files);
}

/// 5. Sweep: headline policy's cost cut and accuracy drop per grid point (a heatmap for 2 keys).
void plot_sweep(const RunReport& r, const fs::path& plots_dir, std::vector<std::string>& files) {
  const fs::path data_dir = plots_dir / "data";
  if (r.sweep.empty()) return;
  if (r.sweep_keys.size() == 2) return plot_sweep_heatmap(r, plots_dir, files);
  std::ostringstream dat, body;
  const std::string hp = headline_policy(r.sweep.front().result);
  body << kStyle << "set title " << q("Sweep: " + hp + " (mean over streams)")
       << "\nset ylabel 'cost reduction (%)'\nset y2label 'accuracy drop (points)'\n"
       << "set ytics nomirror\nset y2tics\nset xtics rotate by -40 font ',8'\nset xtics (";
  for (std::size_t i = 0; i < r.sweep.size(); ++i) {
    std::string label;
    for (const auto& [k, v] : r.sweep[i].assignment)
      label += (label.empty() ? "" : " ") + k.substr(k.rfind('.') + 1) + "=" + value_label(v);
    body << (i ? ", " : "") << q(label) << ' ' << i;
    const PolicyMeans m = mean_over_streams(r.sweep[i].result, hp);
    dat << i << ' ' << m.cost_reduction << ' ' << m.accuracy_drop << '\n';
  }
  body << ")\nplot 'sweep.dat' using 1:2 axes x1y1 with linespoints lw 2 pt 7 lc rgb '#08519c' "
          "title 'cost reduction %', 'sweep.dat' using 1:3 axes x1y2 with linespoints lw 2 pt 5 "
          "lc rgb '#a50f15' title 'accuracy drop (pts)'\n";
  write_text_atomic(data_dir / "sweep.dat", dat.str());
  render(plots_dir, {"sweep", body.str(), 900, 500}, files);
}

/// 6. Dynamic regret (against each segment's best arm) per learner with its 95% interval, one bar
/// chart per scheduled stream.
void plot_dynamic_regret(const RunReport& r, const fs::path& plots_dir,
                         std::vector<std::string>& files) {
  const auto& res = r.result;
  const fs::path data_dir = plots_dir / "data";
  const std::size_t np = res.policies.size();
  for (std::size_t s = 0; s < res.streams.size(); ++s) {
    if (!is_schedule(res.cells[s * np])) continue;
    std::ostringstream dat, body;
    std::size_t shown = 0;
    for (std::size_t p = 0; p < np; ++p) {
      const auto& c = res.cells[s * np + p];
      if (!is_learner(c.policy_name)) continue;
      const auto& d = c.metric("dynamic_regret");
      dat << '"' << c.policy << "\" " << d.mean << ' ' << d.ci_low << ' ' << d.ci_high << '\n';
      ++shown;
    }
    if (!shown) continue;
    const std::string stem = "dynamic_regret_" + safe_name(res.streams[s]);
    body << kStyle << "set title "
         << q("Dynamic regret (vs the best arm of each segment): " + res.streams[s])
         << "\nset ylabel 'dynamic regret (mean, 95% interval)'\nunset key\n"
            "set style fill solid 0.5 border -1\nset boxwidth 0.6\nset xtics rotate by -40\n"
            "set xrange [-0.6:"
         << static_cast<double>(shown) - 0.4 << "]\nplot " << q(stem + ".dat")
         << " using 0:2:xtic(1) with boxes lc 1, " << q(stem + ".dat")
         << " using 0:2:3:4 with yerrorbars lc rgb 'black' pt 0 lw 1.5\n";
    write_text_atomic(data_dir / (stem + ".dat"), dat.str());
    render(plots_dir, {stem, body.str(), 900, 500}, files);
  }
}

}  // namespace

PolicyStyle policy_style(const std::string& label, const std::string& name) {
  // One entry per built-in policy: colours from the Tableau/ColorBrewer sets, each also with its
  // own marker so that policies stay apart in grey-scale prints.
  struct Entry {
    const char* name;
    const char* color;
    int pt;
  };
  static const Entry kTable[] = {
      {"i-splitee", "#d62728", 7},       {"splitee", "#1f77b4", 5},
      {"final-exit", "#000000", 9},      {"cloud-only", "#7f7f7f", 11},
      {"edge-threshold", "#8c564b", 13}, {"fixed", "#bcbd22", 3},
      {"random", "#17becf", 1},          {"random-per-run", "#4a9a9a", 2},
      {"best-fixed", "#2ca02c", 4},      {"per-sample-oracle", "#66c2a5", 6},
      {"epsilon-greedy", "#ff7f0e", 8},  {"thompson", "#9467bd", 10},
      {"sw-ucb", "#e377c2", 12},         {"discounted-ucb", "#1a1a6e", 14},
      {"cusum-ucb", "#b15928", 15},      {"glr-ucb", "#6a3d9a", 15},
      {"budgeted-ucb", "#a6761d", 13},   {"linucb-split", "#e7298a", 5},
  };
  static const char* kExtra[] = {"#ff9896", "#aec7e8", "#c5b0d5", "#c49c94", "#f7b6d2",
                                 "#dbdb8d", "#9edae5", "#ffbb78", "#98df8a", "#8c6d31"};
  PolicyStyle st;
  st.emphasised = policy_has(name, &policy::PolicyInfo::headline) && label == name;
  bool known = false;
  for (const auto& e : kTable)
    if (name == e.name) {
      known = true;
      st.color = e.color;
      st.point_type = e.pt;
    }
  if (!known || label != name) {
    // An unregistered policy, or a second variant of one (its marker, another colour): by label.
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : label) h = (h ^ c) * 1099511628211ULL;
    st.color = kExtra[h % (sizeof kExtra / sizeof kExtra[0])];
    if (!known) st.point_type = 1 + static_cast<int>(h % 14);
  }
  return st;
}

namespace {

/// Live runs: the CDF of end-to-end latency, one curve per policy on the first stream.
void plot_latency_cdf(const RunReport& r, const fs::path& plots_dir,
                      std::vector<std::string>& files) {
  const auto& res = r.result;
  if (res.mode != "live" || res.cells.empty()) return;
  std::ostringstream data, body;
  std::vector<std::string> titles;
  for (std::size_t p = 0; p < res.policies.size(); ++p) {
    const auto& c = res.cells[p];  // the first stream
    if (c.latency_cdf_ms.size() != 101) continue;
    data << "# " << c.policy << "\n";
    for (std::size_t q = 0; q <= 100; ++q) data << c.latency_cdf_ms[q] << ' ' << q << '\n';
    data << "\n\n";
    titles.push_back(c.policy);
  }
  if (titles.empty()) return;
  write_text_atomic(plots_dir / "data" / "latency_cdf.dat", data.str());
  body << kStyle << "set title " << q("End-to-end latency, stream " + res.streams.front())
       << "\nset xlabel 'latency (ms)'\nset ylabel 'samples (%)'\nset logscale x\nplot ";
  for (std::size_t i = 0; i < titles.size(); ++i)
    body << (i ? ", " : "") << "'latency_cdf.dat' index " << i
         << " using 1:2 with steps lw 2 title " << q(titles[i]);
  body << '\n';
  render(plots_dir, {"latency_cdf", body.str()}, files);
}

}  // namespace

std::vector<std::string> render_plots(const fs::path& dir, const RunReport& r) {
  if (!gnuplot_available()) {
    logger()->warn("gnuplot not found: no plots rendered (install gnuplot-nox)");
    return {};
  }
  const fs::path plots_dir = dir / "plots";
  fs::create_directories(plots_dir / "data");
  std::vector<std::string> files;
  plot_accuracy_vs_cost(r, plots_dir, files);
  plot_regret(r, plots_dir, files);
  plot_arms_over_time(r, plots_dir, files);
  plot_offload(r, plots_dir, files);
  plot_sweep(r, plots_dir, files);
  plot_dynamic_regret(r, plots_dir, files);
  plot_latency_cdf(r, plots_dir, files);
  return files;
}

}  // namespace isplitee::report
