#include "isplitee/transport/link.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "isplitee/common/error.hpp"

namespace isplitee::transport {
namespace {

using Clock = std::chrono::steady_clock;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

/// A number from a CSV field; Error(kData) naming file, line and column otherwise.
double number(const std::string& field, const std::string& where, const char* column, double lo,
              double hi) {
  const std::string f = trim(field);
  char* end = nullptr;
  const double v = std::strtod(f.c_str(), &end);
  ISPLITEE_CHECK_CODE(!f.empty() && end == f.c_str() + f.size() && std::isfinite(v),
                      ErrorCode::kData, where, ": ", column, " '", f, "' is not a number");
  ISPLITEE_CHECK_CODE(v >= lo && v <= hi, ErrorCode::kData, where, ": ", column, " ", v,
                      " is out of range [", lo, ", ", hi, "]");
  return v;
}

class LinkClient final : public CloudClient {
 public:
  LinkClient(std::unique_ptr<CloudClient> inner, LinkTrace trace, LinkOptions o)
      : inner_(std::move(inner)), trace_(std::move(trace)), o_(std::move(o)) {
    if (!o_.now) o_.now = [] { return Clock::now(); };
    if (!o_.sleep) o_.sleep = [](Clock::duration d) { std::this_thread::sleep_for(d); };
    start_ = last_ = o_.now();
    tokens_ = static_cast<double>(o_.burst_bytes);
  }

  CallResult infer(const InferRequest& request, std::chrono::milliseconds deadline) override {
    const auto t0 = o_.now();
    const double bytes = static_cast<double>(request.activation.bytes.size() + o_.framing_bytes);
    const auto [wait_s, half_rtt_s, down] = reserve(t0, bytes);
    const double budget_s = std::chrono::duration<double>(deadline).count();
    if (down || wait_s + 2 * half_rtt_s > budget_s) {
      o_.sleep(std::chrono::duration_cast<Clock::duration>(deadline));
      CallResult r;
      r.status = Status::kDeadline;
      r.message =
          describe() + ": " +
          (down ? std::string("the link is down")
                : "the link needs " + std::to_string(1e3 * (wait_s + 2 * half_rtt_s)) + " ms") +
          " (deadline " + std::to_string(deadline.count()) + " ms)";
      return r;
    }
    o_.sleep(seconds(wait_s + half_rtt_s));
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - (o_.now() - t0) - seconds(half_rtt_s));
    CallResult r = inner_->infer(request, std::max(left, std::chrono::milliseconds(0)));
    o_.sleep(seconds(half_rtt_s));
    return r;
  }

  std::string describe() const override {
    return inner_->describe() + " over link " + trace_.name();
  }

 private:
  static Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  }

  /// Takes `bytes` from the token bucket at time `now`: how long the sender waits for tokens,
  /// half the current round trip, and whether the link is down.
  std::tuple<double, double, bool> reserve(Clock::time_point now, double bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    const double t = std::chrono::duration<double>(now - start_).count();
    const LinkSample& row = trace_.at(t);
    if (row.mbps <= 0) return {0.0, row.rtt_ms / 2e3, true};
    const double rate = row.mbps * 1e6 / 8;  // bytes per second
    const double dt = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(static_cast<double>(o_.burst_bytes), tokens_ + rate * std::max(dt, 0.0));
    tokens_ -= bytes;  // a debt is paid by waiting; later calls queue behind it
    const double wait = tokens_ < 0 ? -tokens_ / rate : 0.0;
    return {wait, row.rtt_ms / 2e3, false};
  }

  std::unique_ptr<CloudClient> inner_;
  LinkTrace trace_;
  LinkOptions o_;
  std::mutex mu_;
  Clock::time_point start_, last_;
  double tokens_ = 0;
};

}  // namespace

LinkTrace::LinkTrace(std::string name, std::vector<LinkSample> rows)
    : name_(std::move(name)), rows_(std::move(rows)) {
  ISPLITEE_CHECK_CODE(!rows_.empty(), ErrorCode::kData, name_, ": no rows (header ",
                      "t_seconds,mbps,rtt_ms, then one row per change)");
  ISPLITEE_CHECK_CODE(rows_[0].t_seconds == 0, ErrorCode::kData, name_,
                      ": the first row's t_seconds is ", rows_[0].t_seconds, " (must be 0)");
  std::vector<double> steps;
  for (std::size_t i = 1; i < rows_.size(); ++i) {
    ISPLITEE_CHECK_CODE(rows_[i].t_seconds > rows_[i - 1].t_seconds, ErrorCode::kData, name_,
                        ": row ", i + 1, " t_seconds ", rows_[i].t_seconds,
                        " does not increase (previous ", rows_[i - 1].t_seconds, ")");
    steps.push_back(rows_[i].t_seconds - rows_[i - 1].t_seconds);
  }
  for (std::size_t i = 0; i < rows_.size(); ++i)
    ISPLITEE_CHECK_CODE(rows_[i].mbps >= 0 && rows_[i].mbps <= 1e6 && rows_[i].rtt_ms >= 0 &&
                            rows_[i].rtt_ms <= 60000,
                        ErrorCode::kData, name_, ": row ", i + 1,
                        " is out of range (mbps in [0, 1e6], rtt_ms in [0, 60000])");
  double step = 1;
  if (!steps.empty()) {
    std::nth_element(steps.begin(), steps.begin() + steps.size() / 2, steps.end());
    step = steps[steps.size() / 2];
  }
  period_ = rows_.back().t_seconds + step;
}

const LinkSample& LinkTrace::at(double t) const {
  const double u = std::fmod(std::max(t, 0.0), period_);
  auto it = std::upper_bound(rows_.begin(), rows_.end(), u,
                             [](double v, const LinkSample& s) { return v < s.t_seconds; });
  return *std::prev(it);  // rows_[0] is at 0, so it != begin()
}

LinkTrace parse_link_trace(const std::string& text, const std::string& name) {
  std::istringstream in(text);
  std::string line;
  std::vector<LinkSample> rows;
  bool header = false;
  for (int n = 1; std::getline(in, line); ++n) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    const std::string where = name + ":" + std::to_string(n);
    if (!header) {
      std::string h;
      for (char c : line)
        if (c != ' ' && c != '\t') h += c;
      ISPLITEE_CHECK_CODE(h == "t_seconds,mbps,rtt_ms", ErrorCode::kData, where, ": header '", line,
                          "' (expected t_seconds,mbps,rtt_ms)");
      header = true;
      continue;
    }
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    ISPLITEE_CHECK_CODE(f.size() == 3, ErrorCode::kData, where, ": ", f.size(),
                        " fields (expected 3: t_seconds,mbps,rtt_ms)");
    LinkSample s;
    s.t_seconds = number(f[0], where, "t_seconds", 0, 1e7);
    s.mbps = number(f[1], where, "mbps", 0, 1e6);
    s.rtt_ms = number(f[2], where, "rtt_ms", 0, 60000);
    ISPLITEE_CHECK_CODE(rows.empty() ? s.t_seconds == 0 : s.t_seconds > rows.back().t_seconds,
                        ErrorCode::kData, where, ": t_seconds ", s.t_seconds,
                        rows.empty() ? " (the first row must be at 0)"
                                     : " does not increase (previous " +
                                           std::to_string(rows.back().t_seconds) + ")");
    rows.push_back(s);
  }
  ISPLITEE_CHECK_CODE(header, ErrorCode::kData, name, ": empty (expected the header ",
                      "t_seconds,mbps,rtt_ms)");
  return LinkTrace(name, std::move(rows));
}

LinkTrace load_link_trace(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  ISPLITEE_CHECK_CODE(in, ErrorCode::kIo, "cannot read the link trace '", path.string(), "'");
  std::ostringstream os;
  os << in.rdbuf();
  return parse_link_trace(os.str(), path.string());
}

std::unique_ptr<CloudClient> emulated_link(std::unique_ptr<CloudClient> inner, LinkTrace trace,
                                           LinkOptions options) {
  ISPLITEE_CHECK(inner != nullptr, "emulated_link: no client");
  return std::make_unique<LinkClient>(std::move(inner), std::move(trace), std::move(options));
}

}  // namespace isplitee::transport
