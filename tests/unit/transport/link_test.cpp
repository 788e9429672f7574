// The emulated link on a virtual clock: exact waits from the token bucket and the round trip,
// deadlines, outages, the trace's schedule, and one-line errors naming file and line.
#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "isplitee/transport/link.hpp"

using namespace isplitee;
using namespace isplitee::transport;
using Clock = std::chrono::steady_clock;

namespace {

/// Records the deadline each call arrived with and the virtual time it arrived at.
class Recorder final : public CloudService {
 public:
  explicit Recorder(const Clock::time_point* now) : now_(now) {}
  CallResult handle(const InferRequest& r) override {
    arrivals.push_back(*now_);
    CallResult out;
    out.status = Status::kOk;
    out.reply.request_id = r.request_id;
    return out;
  }
  std::vector<Clock::time_point> arrivals;

 private:
  const Clock::time_point* now_;
};

/// A client whose deadline argument is visible (the in-process client ignores it).
class DeadlineSpy final : public CloudClient {
 public:
  DeadlineSpy(std::shared_ptr<Recorder> r) : inner_(in_process_client(r)) {}
  CallResult infer(const InferRequest& q, std::chrono::milliseconds d) override {
    last_deadline = d;
    return inner_->infer(q, d);
  }
  std::string describe() const override { return "spy"; }
  std::chrono::milliseconds last_deadline{-1};

 private:
  std::unique_ptr<CloudClient> inner_;
};

struct VirtualLink {
  Clock::time_point now{};
  std::shared_ptr<Recorder> rec = std::make_shared<Recorder>(&now);
  DeadlineSpy* spy = nullptr;
  std::unique_ptr<CloudClient> link;

  explicit VirtualLink(const std::string& csv, std::size_t burst = 0) {
    auto s = std::make_unique<DeadlineSpy>(rec);
    spy = s.get();
    LinkOptions o;
    o.burst_bytes = burst;
    o.framing_bytes = 0;
    o.now = [this] { return now; };
    o.sleep = [this](Clock::duration d) { now += d; };
    link = emulated_link(std::move(s), parse_link_trace(csv, "test.csv"), o);
  }
  double seconds() const {
    return std::chrono::duration<double>(now - Clock::time_point{}).count();
  }
};

InferRequest of_bytes(std::size_t n) {
  InferRequest r;
  r.activation.bytes.assign(n, 'x');
  return r;
}

}  // namespace

TEST(Link, TransmissionAndRoundTripFollowTheTrace) {
  // 8 Mbps = 1e6 bytes/s, 20 ms RTT; from t = 1 s: 80 Mbps, 4 ms.
  VirtualLink v("t_seconds,mbps,rtt_ms\n0,8,20\n1,80,4\n");
  auto r = v.link->infer(of_bytes(100000), std::chrono::seconds(5));
  ASSERT_EQ(r.status, Status::kOk) << r.message;
  EXPECT_NEAR(v.seconds(), 0.1 + 0.02, 1e-9);  // 100 kB at 1 MB/s, then the round trip
  // The cloud saw the request after the transmission and half the round trip.
  EXPECT_NEAR(std::chrono::duration<double>(v.rec->arrivals[0] - Clock::time_point{}).count(), 0.11,
              1e-9);
  EXPECT_EQ(v.spy->last_deadline.count(), 5000 - 110 - 10);  // the return half is reserved
  v.now += std::chrono::seconds(1);  // t = 1.12 s: the fast row
  const double t0 = v.seconds();
  r = v.link->infer(of_bytes(100000), std::chrono::seconds(5));
  EXPECT_NEAR(v.seconds() - t0, 0.01 + 0.004, 1e-9);
  EXPECT_NE(v.link->describe().find("over link test.csv"), std::string::npos);
}

TEST(Link, BackToBackCallsQueueBehindEachOther) {
  VirtualLink v("t_seconds,mbps,rtt_ms\n0,8,0\n");
  const auto call = [&](std::size_t n) {
    const double t0 = v.seconds();
    v.link->infer(of_bytes(n), std::chrono::seconds(5));
    return v.seconds() - t0;
  };
  EXPECT_NEAR(call(50000), 0.05, 1e-9);
  EXPECT_NEAR(call(50000), 0.05, 1e-9);  // the bucket was empty: the whole transfer again
  v.now += std::chrono::milliseconds(200);
  EXPECT_NEAR(call(50000), 0.05, 1e-9);  // no burst allowance: idle time is not banked
}

TEST(Link, ABurstFitsWithoutWaiting) {
  VirtualLink v("t_seconds,mbps,rtt_ms\n0,8,10\n", 64 * 1024);
  v.link->infer(of_bytes(60000), std::chrono::seconds(5));
  EXPECT_NEAR(v.seconds(), 0.01, 1e-9);  // only the round trip
}

TEST(Link, TooSlowForTheDeadlineIsDeadlineWithoutReachingTheCloud) {
  VirtualLink v("t_seconds,mbps,rtt_ms\n0,1,50\n");
  const auto r = v.link->infer(of_bytes(1000000), std::chrono::milliseconds(1000));  // needs 8 s
  EXPECT_EQ(r.status, Status::kDeadline);
  EXPECT_NE(r.message.find("deadline 1000 ms"), std::string::npos) << r.message;
  EXPECT_TRUE(v.rec->arrivals.empty());
  EXPECT_NEAR(v.seconds(), 1.0, 1e-9);  // the caller waited out its deadline
}

TEST(Link, AnOutageIsDeadline) {
  VirtualLink v("t_seconds,mbps,rtt_ms\n0,0,30\n2,10,30\n");
  const auto r = v.link->infer(of_bytes(10), std::chrono::milliseconds(300));
  EXPECT_EQ(r.status, Status::kDeadline);
  EXPECT_NE(r.message.find("down"), std::string::npos);
  v.now += std::chrono::seconds(2);
  EXPECT_EQ(v.link->infer(of_bytes(10), std::chrono::seconds(1)).status, Status::kOk);
}

TEST(Link, TheTraceLoops) {
  const auto t =
      parse_link_trace("# comment\nt_seconds, mbps, rtt_ms\n0,10,1\n0.5,20,2\n1,30,3\n", "x.csv");
  EXPECT_DOUBLE_EQ(t.period(), 1.5);
  EXPECT_EQ(t.at(0.2).mbps, 10);
  EXPECT_EQ(t.at(0.5).mbps, 20);
  EXPECT_EQ(t.at(1.4).mbps, 30);
  EXPECT_EQ(t.at(1.6).mbps, 10);  // started over
  EXPECT_EQ(t.at(2.1).mbps, 20);
}

TEST(Link, MalformedTracesNameFileAndLine) {
  const auto msg = [](const std::string& csv) {
    try {
      parse_link_trace(csv, "net.csv");
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kData);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(msg(""), "net.csv: empty (expected the header t_seconds,mbps,rtt_ms)");
  EXPECT_EQ(msg("time,bw,rtt\n0,1,1\n"),
            "net.csv:1: header 'time,bw,rtt' (expected t_seconds,mbps,rtt_ms)");
  EXPECT_EQ(msg("t_seconds,mbps,rtt_ms\n0,abc,1\n"), "net.csv:2: mbps 'abc' is not a number");
  EXPECT_EQ(msg("t_seconds,mbps,rtt_ms\n0,5,1\n1,-2,1\n"),
            "net.csv:3: mbps -2 is out of range [0, 1e+06]");
  EXPECT_EQ(msg("t_seconds,mbps,rtt_ms\n0,5,1\n\n0,5,1\n"),
            "net.csv:4: t_seconds 0 does not increase (previous 0.000000)");
  EXPECT_EQ(msg("t_seconds,mbps,rtt_ms\n1,5,1\n"),
            "net.csv:2: t_seconds 1 (the first row must be at 0)");
  EXPECT_EQ(msg("t_seconds,mbps,rtt_ms\n0,5\n"),
            "net.csv:2: 2 fields (expected 3: t_seconds,mbps,rtt_ms)");
  EXPECT_EQ(msg("t_seconds,mbps,rtt_ms\n0,5,1e9\n"),
            "net.csv:2: rtt_ms 1e+09 is out of range [0, 60000]");
  EXPECT_EQ(msg("t_seconds,mbps,rtt_ms\n"),
            "net.csv: no rows (header t_seconds,mbps,rtt_ms, then one row per change)");
  try {
    load_link_trace("/nonexistent/net.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIo);
  }
}

TEST(Link, ShippedTracesLoad) {
  for (const char* f : {"configs/net/wifi.csv", "configs/net/lte.csv"}) {
    const auto t = load_link_trace(std::string(ISPLITEE_SOURCE_DIR) + "/" + f);
    EXPECT_GE(t.rows().size(), 100u) << f;
    EXPECT_GE(t.period(), 60.0) << f;
  }
}
