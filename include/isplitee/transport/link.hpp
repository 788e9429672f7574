#pragma once
/// \file Network conditions on one machine: a replayable link trace (CSV `t_seconds,mbps,rtt_ms`)
/// applied at the edge as a token bucket plus delay around any CloudClient, so a loopback cloud
/// behaves like a Wi-Fi or LTE uplink (configs/net/, scripts/make-net-traces.py).

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "isplitee/transport/protocol.hpp"

namespace isplitee::transport {

/// One row of a link trace: from `t_seconds` on, the uplink carries `mbps` megabits per second
/// and a round trip takes `rtt_ms` on top of the transmission time.
struct LinkSample {
  double t_seconds = 0;
  double mbps = 0;  ///< 0 = the link is down (calls wait out their deadline)
  double rtt_ms = 0;
};

/// A link trace: rows hold until the next row's time; the last row holds for the median row
/// interval, then the trace starts over (period()).
class LinkTrace {
 public:
  /// Validates the rows (at least one; times start at 0 and strictly increase; mbps in
  /// [0, 1e6]; rtt_ms in [0, 60000]). Throws Error(kData) naming `name` and the row.
  LinkTrace(std::string name, std::vector<LinkSample> rows);
  /// The row in force `t` seconds after the start (t ≥ 0; looped over period()).
  const LinkSample& at(double t) const;
  /// Seconds after which the trace repeats.
  double period() const noexcept { return period_; }
  const std::vector<LinkSample>& rows() const noexcept { return rows_; }
  const std::string& name() const noexcept { return name_; }

 private:
  std::string name_;
  std::vector<LinkSample> rows_;
  double period_ = 1;
};

/// Parses CSV text with the header `t_seconds,mbps,rtt_ms` ('#' lines and blank lines skipped).
/// Throws Error(kData) "NAME:LINE: …" naming the field and its valid range.
LinkTrace parse_link_trace(const std::string& text, const std::string& name);
/// Reads a link trace file (Error(kIo) when it cannot be read; Error(kData) "FILE:LINE: …").
LinkTrace load_link_trace(const std::filesystem::path& path);

/// How an emulated link behaves.
struct LinkOptions {
  /// Bytes the token bucket holds when full (a burst sent at once without waiting).
  std::size_t burst_bytes = 16 * 1024;
  /// Bytes a request takes on top of its activation (protocol framing; BENCHMARKS.md measures
  /// about 110 bytes for gRPC over HTTP/2).
  std::size_t framing_bytes = 128;
  /// The clock; tests give a virtual one (now() and a sleep that advances it).
  std::function<std::chrono::steady_clock::time_point()> now;
  std::function<void(std::chrono::steady_clock::duration)> sleep;
};

/// Wraps `inner` so that every call first waits for the uplink: the request's bytes (activation
/// + framing) drain from a token bucket refilled at the trace's current rate, then half the round
/// trip passes before the call and half after it. Trace time starts when the link is made.
/// A call whose link time exceeds its deadline waits out the deadline and returns kDeadline
/// without reaching the cloud; the inner call gets what is left of the deadline.
std::unique_ptr<CloudClient> emulated_link(std::unique_ptr<CloudClient> inner, LinkTrace trace,
                                           LinkOptions options = {});

}  // namespace isplitee::transport
