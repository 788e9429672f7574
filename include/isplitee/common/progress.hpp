#pragma once
/// \file Progress reporting for long work: a bar with rate and ETA on a terminal, plain periodic
/// lines when stderr is not a TTY (docs/architecture.md, "Style").

#include <chrono>
#include <cstdint>
#include <string>

namespace isplitee {

/// A progress bar over `total` units of work. Not thread-safe: tick from one thread.
class Progress {
 public:
  /// `label` prefixes each line; `unit` names what is counted ("img", "run"); `enabled` false makes
  /// every call a no-op (library callers pass the app's choice).
  Progress(std::string label, std::uint64_t total, std::string unit = "it", bool enabled = true);
  ~Progress();
  /// Adds `n` units and redraws at most ~10 times a second on a TTY, every 10 s otherwise.
  /// `status` is shown after the counters (e.g. "loss 0.412").
  void tick(std::uint64_t n = 1, const std::string& status = "");
  /// Prints the final line (idempotent).
  void finish(const std::string& status = "");
  /// Seconds since construction.
  double elapsed() const;

 private:
  void draw(bool final_line, const std::string& status);
  std::string label_, unit_;
  std::uint64_t total_, done_ = 0, last_drawn_ = ~std::uint64_t{0};
  bool enabled_, tty_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

/// Global switch read by Progress's default: apps turn bars off with --quiet. Defaults to true.
void set_progress_enabled(bool enabled) noexcept;
/// Whether progress bars are enabled for this process.
bool progress_enabled() noexcept;

}  // namespace isplitee
