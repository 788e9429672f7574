// The live edge against the trace of the same model: outcomes equal the trace replay's, failures of
// the cloud fall back to the deepest computed exit, batches keep per-sample decisions and only the
// undecided samples reach the next stage, and the cloud refuses malformed requests.

#include <gtest/gtest.h>

#include <thread>

#include "isplitee/common/error.hpp"
#include "isplitee/live/live.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/sim/environment.hpp"
#include "isplitee/trace/trace.hpp"
#include "isplitee/tracegen/generate.hpp"
#include "isplitee/train/trainer.hpp"
#include "support/temp_dir.hpp"
#include "unit/train/tiny_fixture.hpp"

using namespace isplitee;
namespace fs = std::filesystem;
using sim::Action;
using sim::Outcome;
using transport::Status;

namespace {

/// A cloud that always fails with `status`, or answers through `inner` after `delay`.
class ScriptedClient final : public transport::CloudClient {
 public:
  ScriptedClient(Status status, std::shared_ptr<transport::CloudService> inner = nullptr,
                 std::chrono::milliseconds delay = {})
      : status_(status), inner_(std::move(inner)), delay_(delay) {}
  transport::CallResult infer(const transport::InferRequest& r,
                              std::chrono::milliseconds) override {
    ++calls;
    std::this_thread::sleep_for(delay_);
    if (inner_) {
      auto res = inner_->handle(r);
      if (status_ == Status::kInternal) res.reply.logits.pop_back();  // a malformed reply
      return res;
    }
    transport::CallResult res;
    res.status = status_;
    res.message = "scripted failure";
    return res;
  }
  std::string describe() const override { return "scripted"; }
  int calls = 0;

 private:
  Status status_;
  std::shared_ptr<transport::CloudService> inner_;
  std::chrono::milliseconds delay_;
};

class LiveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model::configure_runtime(1);
    root_ = tiny::fresh_dir("live-test");
    tiny::make_tiny_folder(root_ / "data");
    train::TrainJob j;
    j.data = tiny::tiny_data(root_ / "data");
    j.model = tiny::tiny_model();
    j.train.epochs = 2;
    j.train.batch_size = 16;
    j.train.lr_backbone = j.train.lr_final_head = 1e-2;
    j.train.workers = 1;
    j.output_dir = root_ / "model";
    j.progress = false;
    checkpoint_ = train::train_model(j).best_checkpoint;
    tracegen::TraceRequest r;
    r.checkpoint = checkpoint_;
    r.data = j.data;
    r.trace.batch_size = 1;  // as the live edge: other batch sizes round the last bit differently
    r.trace.workers = 1;
    noise_.name = "gaussian_noise";
    noise_.severity = 3;
    r.trace.distortions = {distort::DistortionSpec{}, noise_};
    r.seed = 11;
    r.trace_dir = root_ / "traces";
    r.progress = false;
    for (const auto& a : tracegen::ensure_traces(r)) {
      traces_.push_back(std::make_shared<trace::Trace>(trace::read_trace(a.directory)));
      names_.push_back(a.name);
    }
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  static live::LiveSetup setup() {
    live::LiveSetup s;
    s.checkpoint = checkpoint_;
    s.data = tiny::tiny_data(root_ / "data");
    s.split = "test";
    s.sources = {{names_[0], distort::DistortionSpec{}}, {names_[1], noise_}};
    s.seed = 11;
    s.calibration = traces_[0]->manifest.calibration;
    s.exits = traces_[0]->manifest.exits;
    return s;
  }
  static std::vector<std::uint32_t> all_samples(const sim::EnvironmentProvider& p) {
    std::vector<std::uint32_t> v(p.sizes()[0] * p.sizes().size());
    for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<std::uint32_t>(i);
    return v;
  }
  static std::vector<Action> actions_for(std::size_t n, std::size_t k) {
    std::vector<Action> a;
    for (std::size_t i = 0; i < n; ++i)
      a.push_back(i % (k + 2) == k       ? Action::cloud()
                  : i % (k + 2) == k + 1 ? Action::cascade()
                                         : Action::split(i % (k + 2)));
    return a;
  }
  /// Equal outcomes; scores bit-equal unless `tol` > 0 (batches of another size round the last
  /// float bit differently in LibTorch's convolutions).
  static void expect_same(const Outcome& a, const Outcome& b, const std::string& where,
                          float tol = 0) {
    EXPECT_EQ(a.exited, b.exited) << where;
    EXPECT_EQ(a.offloaded, b.offloaded) << where;
    EXPECT_EQ(a.fallback, b.fallback) << where;
    EXPECT_EQ(a.exit_used, b.exit_used) << where;
    EXPECT_EQ(a.prediction, b.prediction) << where;
    EXPECT_EQ(a.final_known, b.final_known) << where;
    if (a.final_known) {
      EXPECT_NEAR(a.final_score, b.final_score, tol) << where;
    }
    if (a.action.kind() != Action::Kind::kCloud) {
      EXPECT_EQ(a.num_seen, b.num_seen) << where;
      for (std::size_t e = 0; e < a.num_seen; ++e)
        EXPECT_NEAR(a.scores[e], b.scores[e], tol) << where;
    }
  }

  static fs::path root_, checkpoint_;
  static distort::DistortionSpec noise_;
  static std::vector<std::shared_ptr<const trace::Trace>> traces_;
  static std::vector<std::string> names_;
};
fs::path LiveTest::root_, LiveTest::checkpoint_;
distort::DistortionSpec LiveTest::noise_;
std::vector<std::shared_ptr<const trace::Trace>> LiveTest::traces_;
std::vector<std::string> LiveTest::names_;

TEST_F(LiveTest, EveryActionEqualsTheTraceReplay) {
  const cost::ExitRule rule(0.45);  // 3 classes: some samples exit, some are sent
  const live::LiveProvider live(setup());
  const sim::TraceProvider replay(traces_, names_, rule);
  ASSERT_EQ(live.sizes(), replay.sizes());
  EXPECT_EQ(live.depth_blocks(), replay.depth_blocks());
  EXPECT_GT(live.full_network_ms(), 0.0);
  const auto samples = all_samples(live);
  auto le = live.open(samples, rule);
  auto re = replay.open(samples, rule);
  const std::size_t k = live.num_exits();
  std::size_t offloads = 0, exits = 0;
  for (std::size_t t = 0; t < samples.size(); ++t) {
    EXPECT_EQ(le->label(t), re->label(t));
    for (std::size_t a = 0; a < k + 2; ++a) {
      const Action act = a < k ? Action::split(a) : a == k ? Action::cloud() : Action::cascade();
      const Outcome o = le->act(t, act, rule);
      expect_same(o, re->act(t, act, rule), "sample " + std::to_string(t) + " " + act.to_string());
      offloads += o.offloaded, exits += o.exited;
      EXPECT_GT(o.latency_ms, 0.0);
      EXPECT_EQ(o.bytes_sent > 0, o.offloaded);
    }
  }
  EXPECT_GT(offloads, 0u);
  EXPECT_GT(exits, 0u);
}

TEST_F(LiveTest, ContextIsExitOnesAndIsReused) {
  const cost::ExitRule rule(0.7);
  const live::LiveProvider live(setup());
  const sim::TraceProvider replay(traces_, names_, rule);
  const auto samples = all_samples(live);
  auto le = live.open(samples, rule);
  auto re = replay.open(samples, rule);
  for (std::size_t t = 0; t < samples.size(); t += 3) {
    policy::ExitContext a, b;
    ASSERT_TRUE(le->exit_context(t, &a));
    ASSERT_TRUE(re->exit_context(t, &b));
    EXPECT_EQ(a.score, b.score);
    EXPECT_EQ(a.entropy_norm, b.entropy_norm);
    EXPECT_EQ(a.margin, b.margin);
    const auto before = live.stage_rows()[0];
    expect_same(le->act(t, Action::split(1), rule), re->act(t, Action::split(1), rule), "ctx");
    EXPECT_EQ(live.stage_rows()[0], before) << "exit 1 ran twice";
  }
}

TEST_F(LiveTest, CloudFailuresFallBackToTheDeepestComputedExit) {
  const cost::ExitRule rule(0.9);  // strict: many offloads
  const auto cloud = live::make_cloud_service(live::load_split_model(checkpoint_, true));
  for (auto [status, delay] : {std::pair{Status::kUnavailable, 0},
                               {Status::kDeadline, 0},
                               {Status::kRejected, 0},
                               {Status::kOk, 30} /* answers after the deadline */,
                               {Status::kInternal, 0}}) {
    auto s = setup();
    s.live.deadline_ms = delay > 0 ? 10 : 600000;  // only the slow cloud misses it, even under load
    const bool answers = status == Status::kOk || status == Status::kInternal;
    auto client = std::make_shared<ScriptedClient>(status, answers ? cloud : nullptr,
                                                   std::chrono::milliseconds(delay));
    const live::LiveProvider live(s, client);
    const sim::TraceProvider replay(traces_, names_, rule);
    const auto samples = all_samples(live);
    auto le = live.open(samples, rule);
    auto re = replay.open(samples, rule);
    std::size_t fallbacks = 0;
    for (std::size_t t = 0; t < samples.size(); ++t)
      for (std::size_t a = 0; a < live.num_exits(); ++a) {
        const Outcome o = le->act(t, Action::split(a), rule);
        const Outcome r = re->act(t, Action::split(a), rule);
        if (!r.offloaded) {
          expect_same(o, r, "edge answer");
          continue;
        }
        ++fallbacks;
        EXPECT_TRUE(o.fallback);
        EXPECT_FALSE(o.offloaded);
        EXPECT_FALSE(o.final_known);
        EXPECT_EQ(o.exit_used, a);
        EXPECT_EQ(o.prediction,
                  traces_[t / live.sizes()[0]]->pred[(t % live.sizes()[0]) * live.num_exits() + a]);
      }
    EXPECT_GT(fallbacks, 0u);
    EXPECT_EQ(client->calls, static_cast<int>(fallbacks));
    const auto f = live.cloud_failures();
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].second, fallbacks);
    // Cloud-only falls back to exit 1, computed on the edge for the purpose.
    const Outcome c = le->act(0, Action::cloud(), rule);
    EXPECT_TRUE(c.fallback);
    EXPECT_EQ(c.exit_used, 0u);
    EXPECT_EQ(c.prediction, traces_[0]->pred[0]);
  }
}

TEST_F(LiveTest, BatchesKeepPerSampleDecisionsAndDropDecidedSamples) {
  const cost::ExitRule rule(0.7);
  const live::LiveProvider one(setup()), many(setup());
  const auto samples = all_samples(one);
  const std::size_t k = one.num_exits(), n = samples.size();
  const auto actions = actions_for(n, k);
  auto e1 = one.open(samples, rule);
  auto en = many.open(samples, rule);
  std::vector<std::size_t> idx(n);
  for (std::size_t i = 0; i < n; ++i) idx[i] = i;
  std::vector<Outcome> batch(n);
  en->act_batch(idx.data(), actions.data(), n, rule, batch.data());
  // Expected rows per stage: a sample reaches stage e+1 unless it was answered or sent before.
  std::vector<std::uint64_t> want(k, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const Outcome o = e1->act(i, actions[i], rule);
    expect_same(batch[i], o, "batch sample " + std::to_string(i), 1e-5f);
    for (std::size_t e = 0; e < o.num_seen; ++e) ++want[e];
  }
  EXPECT_EQ(many.stage_rows(), want);
  EXPECT_EQ(many.stage_rows(), one.stage_rows());
  EXPECT_LT(want.back(), want.front()) << "compaction must have dropped samples";
}

TEST_F(LiveTest, CloudRefusesMalformedRequestsWithoutThrowing) {
  const auto m = live::load_split_model(checkpoint_, true);
  const auto cloud = live::make_cloud_service(m, {4, 1 << 20});
  const std::size_t k = live::num_exits(*m);
  auto edge = live::LiveProvider(setup());
  const auto samples = all_samples(edge);
  // A valid split-1 activation from the edge (taken from a real offload).
  struct Capture final : transport::CloudClient {
    std::shared_ptr<transport::CloudService> inner;
    transport::InferRequest last;
    transport::CallResult infer(const transport::InferRequest& r,
                                std::chrono::milliseconds) override {
      last = r;
      return inner->handle(r);
    }
    std::string describe() const override { return "capture"; }
  };
  auto cap = std::make_shared<Capture>();
  cap->inner = cloud;
  const live::LiveProvider p(setup(), cap);
  auto env = p.open(samples, cost::ExitRule(1.0));
  const Outcome o = env->act(0, Action::split(0), cost::ExitRule(1.0));
  ASSERT_TRUE(o.offloaded);
  const transport::InferRequest good = cap->last;
  EXPECT_EQ(cloud->handle(good).status, Status::kOk);
  auto expect_rejected = [&](transport::InferRequest r, const std::string& what) {
    const auto res = cloud->handle(r);
    EXPECT_EQ(res.status, Status::kRejected) << what;
    EXPECT_NE(res.message.find(what), std::string::npos) << res.message;
  };
  auto r = good;
  r.model_sha256 = std::string(64, '0');
  expect_rejected(r, "model");
  r = good;
  r.split = static_cast<std::uint32_t>(k);
  expect_rejected(r, "split");
  r = good;
  r.activation.shape[1] += 1;
  expect_rejected(r, "shape");
  r = good;
  r.activation.bytes.pop_back();
  expect_rejected(r, "bytes");
  r = good;
  r.activation.shape[0] = 5;  // over the batch limit of 4
  r.activation.bytes.resize(r.activation.bytes.size() * 5);
  expect_rejected(r, "batch");
  r = good;
  r.activation.codec = transport::Codec::kInt8;
  r.activation.bytes.resize(r.activation.bytes.size() / 4);
  r.activation.scale = -1;
  expect_rejected(r, "int8");
}

}  // namespace

namespace {

// live.cloud "HOST:PORT" goes through the network transport the program installed: its connect()
// gets the address, the token and the root certificate; "embedded" gets the model's service from
// embed(). Without a transport a remote cloud is one clear error naming the key.
TEST_F(LiveTest, RemoteAndEmbeddedCloudsUseTheInstalledTransport) {
  auto s = setup();
  s.live.cloud = "cloud.example:50051";
  EXPECT_THROW(
      {
        try {
          live::LiveProvider p(s);
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("live.cloud"), std::string::npos) << e.what();
          EXPECT_NE(std::string(e.what()).find("network transport"), std::string::npos);
          throw;
        }
      },
      Error);

  const isplitee::testing::TempDir dir("live_transport");
  const auto token = dir.write("token", "0123456789abcdef0123\n");
  s.live.token_file = token.string();
  s.live.tls_root_cert = "roots.pem";
  transport::RemoteCloud seen;
  int embedded = 0;
  const auto cloud = live::make_cloud_service(live::load_split_model(checkpoint_, true));
  transport::set_network_transport({"test",
                                    [&](const transport::RemoteCloud& r) {
                                      seen = r;
                                      return transport::in_process_client(cloud);
                                    },
                                    [&](std::shared_ptr<transport::CloudService> service) {
                                      ++embedded;
                                      return transport::in_process_client(std::move(service));
                                    }});
  const cost::ExitRule rule(0.9);
  const live::LiveProvider remote(s);
  EXPECT_EQ(seen.address, "cloud.example:50051");
  EXPECT_EQ(seen.token, "0123456789abcdef0123");
  EXPECT_EQ(seen.tls_root_cert_file, "roots.pem");
  const Outcome o = remote.open(all_samples(remote), rule)->act(0, Action::cloud(), rule);
  EXPECT_TRUE(o.offloaded);
  EXPECT_FALSE(o.fallback);
  EXPECT_EQ(embedded, 0);
  const live::LiveProvider local(setup());
  EXPECT_EQ(embedded, 1);
  transport::set_network_transport({});  // leave no transport behind for other tests
}

}  // namespace
