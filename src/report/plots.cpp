// Plots of a run report, rendered by gnuplot (Debian's gnuplot-nox): PNG (pngcairo) and SVG.
// Data go to plots/data/*.dat and scripts to plots/data/*.gp so a user can restyle and re-render.

#include <cmath>
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
    for (std::size_t p = 0; p < np; ++p) {
      dat << "# " << res.policies[p] << "\n";
      for (std::size_t s = 0; s < res.streams.size(); ++s) {
        const auto& c = res.cells[s * np + p];
        dat << c.metric("cost_per_sample").mean << ' ' << c.metric("accuracy").mean << '\n';
      }
      dat << "\n\n";
      body << (p ? ", " : "") << "'accuracy_vs_cost.dat' index " << p
           << " using 1:2 with points pt " << (p % 13) + 1 << " ps 1.3 title "
           << q(res.policies[p]);
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
    for (std::size_t p = 0; p < np; ++p)
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
      body << (i ? ", " : "") << q(stem + ".dat") << " index " << i
           << " using 1:3:4 with filledcurves lc " << i + 1 << " notitle, " << q(stem + ".dat")
           << " index " << i << " using 1:2 with lines lw 2 lc " << i + 1 << " title "
           << q(c.policy);
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
    for (std::size_t p = 0; p < np; ++p) {
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
           << " using 1:2 with lines lw 2 title " << q(c.policy);
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
        dat << ' ' << 100 * res.cells[levels[i] * np + p].metric("offload_fraction").mean;
      dat << '\n';
    }
    body << kStyle << "set title 'Offload fraction per stream'\nset ylabel 'offloaded (%)'\n"
         << "set xtics rotate by -40 font ',8'\nset xtics (";
    for (std::size_t i = 0; i < levels.size(); ++i)
      body << (i ? ", " : "") << q(res.streams[levels[i]]) << ' ' << i;
    body << ")\nset yrange [0:*]\nplot ";
    std::size_t shown = 0;
    for (std::size_t p = 0; p < np; ++p) {
      double any = 0;
      for (auto s : levels) any += res.cells[s * np + p].metric("offload_fraction").mean;
      if (any <= 0) continue;
      body << (shown++ ? ", " : "") << "'offload_by_stream.dat' using 1:" << p + 2
           << " with linespoints lw 2 title " << q(res.policies[p]);
    }
    body << '\n';
    if (shown) {
      write_text_atomic(data_dir / "offload_by_stream.dat", dat.str());
      render(plots_dir, {"offload_by_stream", body.str(), 900, 500}, files);
    }
  }
}

/// 5. Sweep: headline policy's cost cut and accuracy drop per grid point.
void plot_sweep(const RunReport& r, const fs::path& plots_dir, std::vector<std::string>& files) {
  const fs::path data_dir = plots_dir / "data";
  if (!r.sweep.empty()) {
    std::ostringstream dat, body;
    const std::string hp = headline_policy(r.sweep.front().result);
    body << kStyle << "set title " << q("Sweep: " + hp + " (mean over streams)")
         << "\nset ylabel 'cost reduction (%)'\nset y2label 'accuracy drop (points)'\n"
         << "set ytics nomirror\nset y2tics\nset xtics rotate by -40 font ',8'\nset xtics (";
    for (std::size_t i = 0; i < r.sweep.size(); ++i) {
      std::string label;
      for (const auto& [k, v] : r.sweep[i].assignment)
        label += (label.empty() ? "" : " ") + k.substr(k.rfind('.') + 1) + "=" +
                 (v.is_string() ? v.get<std::string>() : v.dump());
      body << (i ? ", " : "") << q(label) << ' ' << i;
      const PolicyMeans m = mean_over_streams(r.sweep[i].result, hp);
      dat << i << ' ' << m.cost_reduction << ' ' << m.accuracy_drop << '\n';
    }
    body << ")\nplot 'sweep.dat' using 1:2 axes x1y1 with linespoints lw 2 title 'cost reduction "
            "%', "
            "'sweep.dat' using 1:3 axes x1y2 with linespoints lw 2 title 'accuracy drop (pts)'\n";
    write_text_atomic(data_dir / "sweep.dat", dat.str());
    render(plots_dir, {"sweep", body.str(), 900, 500}, files);
  }
}

}  // namespace

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
  plot_latency_cdf(r, plots_dir, files);
  return files;
}

}  // namespace isplitee::report
