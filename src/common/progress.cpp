#include "isplitee/common/progress.hpp"

#include <atomic>
#include <cstdio>

#include <unistd.h>

namespace isplitee {
namespace {
std::atomic<bool> g_progress_enabled{true};

std::string format_duration(double s) {
  if (!(s >= 0) || s > 1e7) return "--:--";
  const auto t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
  return buf;
}
}  // namespace

void set_progress_enabled(bool enabled) noexcept { g_progress_enabled = enabled; }
bool progress_enabled() noexcept { return g_progress_enabled; }

Progress::Progress(std::string label, std::uint64_t total, std::string unit, bool enabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled && progress_enabled()),
      tty_(::isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

Progress::~Progress() {
  if (enabled_ && !finished_ && tty_) std::fputc('\n', stderr);
}

double Progress::elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::tick(std::uint64_t n, const std::string& status) {
  done_ += n;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since >= (tty_ ? 0.1 : 10.0) || done_ == total_) {
    last_draw_ = now;
    draw(false, status);
  }
}

void Progress::finish(const std::string& status) {
  if (finished_) return;
  // Without a TTY the last tick may already have printed the complete line.
  if (enabled_ && (tty_ || last_drawn_ != done_ || !status.empty())) draw(true, status);
  finished_ = true;
}

void Progress::draw(bool final_line, const std::string& status) {
  last_drawn_ = done_;
  const double el = elapsed();
  const double rate = el > 0 ? static_cast<double>(done_) / el : 0.0;
  const double frac = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
  const double eta = rate > 0 ? static_cast<double>(total_ - std::min(done_, total_)) / rate : -1;
  char counters[160];
  std::snprintf(counters, sizeof counters, "%llu/%llu %s  %.1f %s/s  %s<%s",
                static_cast<unsigned long long>(done_), static_cast<unsigned long long>(total_),
                unit_.c_str(), rate, unit_.c_str(), format_duration(el).c_str(),
                format_duration(final_line ? 0.0 : eta).c_str());
  if (tty_) {
    constexpr int kWidth = 24;
    const int filled = static_cast<int>(frac * kWidth + 0.5);
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "\r\033[K%s [%s] %3.0f%% %s %s%s", label_.c_str(), bar.c_str(), frac * 100,
                 counters, status.c_str(), final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s %3.0f%% %s %s\n", label_.c_str(), frac * 100, counters,
                 status.c_str());
  }
  std::fflush(stderr);
}

}  // namespace isplitee
