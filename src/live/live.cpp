// The live edge: lazy, batched inference with per-sample decisions, offloads through a
// CloudClient, and the fallback to the deepest computed exit when the cloud does not answer.

#include "isplitee/live/live.hpp"

#include <time.h>
#include <algorithm>

#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/data/dataset.hpp"
#include "isplitee/data/loader.hpp"
#include "isplitee/distort/distortion.hpp"
#include "isplitee/tracegen/exit_stats.hpp"
#include "isplitee/transport/link.hpp"
#include "split_model.hpp"

namespace isplitee::live {
namespace {

using Clock = std::chrono::steady_clock;
using sim::Action;
using sim::Outcome;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// CPU time of this thread in ms: edge compute is measured with it, so that a loaded machine's
/// preemptions do not count as compute (LibTorch runs the edge on this thread with --threads 1;
/// with more intra-op threads their work is not included). Latency stays wall-clock.
double cpu_ms() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return 1e3 * static_cast<double>(ts.tv_sec) + 1e-6 * static_cast<double>(ts.tv_nsec);
}

/// One exit's statistics for the rows of a batch, as a trace records them.
struct ExitRows {
  std::vector<float> score;         ///< under the exit rule (calibrated when it says so)
  std::vector<std::int32_t> pred;   ///< argmax of the raw logits
  std::vector<float> entropy_norm;  ///< exit 1's context: entropy / ln(C)
  std::vector<float> margin;        ///< exit 1's context: top-1 minus top-2
};

/// Scores `logits` (N × C) of exit `e` (0-based) exactly as a trace and the trace replay do:
/// exit_statistics in float64 stored as float32, temperatures applied the same way.
ExitRows score_exit(const torch::Tensor& logits, std::size_t e, const cost::ExitRule& rule,
                    const trace::CalibrationInfo& cal, std::size_t classes) {
  const auto raw = tracegen::exit_statistics(logits);
  const bool c = rule.config().calibrate;
  const auto st =
      c ? tracegen::exit_statistics(logits.to(torch::kFloat64) / cal.temperature[e]) : raw;
  const auto conf = st.conf.cpu().contiguous(), ent = st.entropy.cpu().contiguous(),
             mar = st.margin.cpu().contiguous(), pred = raw.pred.cpu().contiguous();
  const auto n = static_cast<std::size_t>(conf.size(0));
  ExitRows r;
  r.score.resize(n);
  r.pred.assign(pred.data_ptr<std::int32_t>(), pred.data_ptr<std::int32_t>() + n);
  r.entropy_norm.resize(n);
  r.margin.assign(mar.data_ptr<float>(), mar.data_ptr<float>() + n);
  const double norm = std::log(static_cast<double>(classes));
  for (std::size_t i = 0; i < n; ++i) {
    const float h = ent.data_ptr<float>()[i];
    r.entropy_norm[i] = static_cast<float>(h / norm);
    switch (rule.config().kind) {
      case cost::ExitCriterion::kEntropy: {
        cost::ExitStats s;
        s.entropy = h;
        r.score[i] = static_cast<float>(rule.score(s, classes));
        break;
      }
      case cost::ExitCriterion::kMargin:
        r.score[i] = r.margin[i];
        break;
      default:
        r.score[i] = conf.data_ptr<float>()[i];
    }
  }
  return r;
}

torch::Tensor rows_of(const torch::Tensor& t, const std::vector<std::int64_t>& rows) {
  if (static_cast<std::int64_t>(rows.size()) == t.size(0)) return t;
  return t.index_select(0, torch::tensor(rows, torch::kInt64));
}

}  // namespace

/// What every environment of a provider shares.
struct LiveProvider::State {
  LiveSetup setup;
  std::shared_ptr<SplitModel> edge;
  std::shared_ptr<transport::CloudClient> client;
  std::shared_ptr<const data::Dataset> ds;
  std::vector<std::unique_ptr<distort::Distortion>> distortions;  ///< null for "none"
  std::uint64_t next_request = 0;
  std::set<transport::Status> warned;  ///< failures already logged (one warning per kind)
  std::map<std::string, std::uint64_t> failures;  ///< cloud failures by status
  std::vector<std::uint64_t> stage_rows;          ///< samples through each edge stage

  /// The preprocessed input of global sample `g` (source g / n, row g % n).
  torch::Tensor input(std::size_t g) const {
    const std::size_t n = ds->size(), src = g / n, row = g % n;
    cv::Mat img = ds->image(row);
    if (distortions[src])
      img = distort::apply_seeded(*distortions[src], img, setup.seed, ds->sample_id(row));
    return data::to_tensor(img, setup.data.preprocess);
  }
};

namespace {

/// The environment of one stream: sample t is global sample samples[t].
class LiveEnvironment final : public sim::Environment {
 public:
  LiveEnvironment(std::shared_ptr<LiveProvider::State> s, std::vector<std::uint32_t> samples,
                  const cost::ExitRule& rule)
      : s_(std::move(s)), samples_(std::move(samples)), rule_(rule) {
    k_ = static_cast<std::size_t>(s_->edge->k);
    classes_ = static_cast<std::size_t>(s_->edge->classes);
    const std::size_t n = s_->ds->size();
    for (auto g : samples_) labels_.push_back(static_cast<std::int32_t>(s_->ds->label(g % n)));
  }
  std::size_t num_exits() const override { return k_; }
  std::size_t num_samples() const override { return samples_.size(); }
  std::int32_t label(std::size_t sample) const override { return labels_[sample]; }

  Outcome act(std::size_t sample, const Action& action, const cost::ExitRule& rule) override {
    Outcome o;
    act_batch(&sample, &action, 1, rule, &o);
    return o;
  }

  bool exit_context(std::size_t sample, policy::ExitContext* out) override {
    torch::InferenceMode guard;
    const auto x = s_->input(samples_[sample]).unsqueeze(0);
    const double c0 = cpu_ms();
    ctx_h_ = s_->edge->stages(x, 0, 1);
    ++s_->stage_rows[0];
    ctx_rows_ = score_exit(s_->edge->head(1, ctx_h_), 0, rule_, s_->setup.calibration, classes_);
    ctx_ms_ = cpu_ms() - c0;
    ctx_sample_ = sample;
    out->score = ctx_rows_.score[0];
    out->entropy_norm = ctx_rows_.entropy_norm[0];
    out->margin = ctx_rows_.margin[0];
    return true;
  }

  void act_batch(const std::size_t* samples, const Action* actions, std::size_t n,
                 const cost::ExitRule& rule, Outcome* out) override;

 private:
  void offload(std::uint32_t split, const torch::Tensor& h, const std::vector<std::size_t>& rows,
               Outcome* out, Clock::time_point t0);
  void fallback(std::uint32_t split, const torch::Tensor& h, const std::vector<std::size_t>& rows,
                Outcome* out, const transport::CallResult& r);

  std::shared_ptr<LiveProvider::State> s_;
  std::vector<std::uint32_t> samples_;
  std::vector<std::int32_t> labels_;
  cost::ExitRule rule_;
  std::size_t k_ = 0, classes_ = 0;
  std::vector<float> scores_;        ///< n × K of the current batch (Outcome::scores points here)
  std::vector<std::int32_t> preds_;  ///< n × K
  std::vector<double> edge_at_;      ///< n × K cumulative edge ms (Outcome::edge_ms_at)
  // Exit 1 computed by exit_context() for one sample, reused by the act that follows.
  std::size_t ctx_sample_ = static_cast<std::size_t>(-1);
  torch::Tensor ctx_h_;
  ExitRows ctx_rows_;
  double ctx_ms_ = 0;
};

void LiveEnvironment::act_batch(const std::size_t* samples, const Action* actions, std::size_t n,
                                const cost::ExitRule& rule, Outcome* out) {
  ISPLITEE_ASSERT(rule.config() == rule_.config() && rule.alpha() == rule_.alpha(),
                  "live environment: opened for another exit rule");
  torch::InferenceMode guard;
  const std::size_t k = k_, last = k - 1;
  scores_.assign(n * k, 0.0f);
  preds_.assign(n * k, 0);
  edge_at_.assign(n * k, 0.0);
  // A sample whose exit 1 ran for its context starts at stage 2 (batch 1 only).
  const bool reuse =
      n == 1 && ctx_sample_ == samples[0] && actions[0].kind() != Action::Kind::kCloud;
  ctx_sample_ = static_cast<std::size_t>(-1);
  std::vector<torch::Tensor> inputs;
  if (!reuse)
    for (std::size_t i = 0; i < n; ++i) inputs.push_back(s_->input(samples_[samples[i]]));
  const torch::Tensor x = reuse ? torch::Tensor() : torch::stack(inputs);
  const auto t0 = Clock::now();
  std::vector<std::size_t> active, cloud;
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = Outcome{};
    out[i].action = actions[i];
    out[i].scores = &scores_[i * k];
    out[i].edge_ms_at = &edge_at_[i * k];
    (actions[i].kind() == Action::Kind::kCloud ? cloud : active).push_back(i);
  }
  if (!cloud.empty()) {
    std::vector<std::int64_t> r(cloud.begin(), cloud.end());
    offload(0, rows_of(x, r), cloud, out, t0);
  }
  torch::Tensor h;
  if (!reuse && !active.empty())
    h = rows_of(x, std::vector<std::int64_t>(active.begin(), active.end()));
  for (std::size_t e = 0; e < k && !active.empty(); ++e) {
    const double cs = cpu_ms();
    ExitRows rows;
    if (reuse && e == 0) {
      h = ctx_h_;
      rows = std::move(ctx_rows_);
    } else {
      h = s_->edge->stages(h, static_cast<std::int64_t>(e), static_cast<std::int64_t>(e + 1));
      s_->stage_rows[e] += static_cast<std::uint64_t>(h.size(0));
      rows = score_exit(s_->edge->head(static_cast<std::int64_t>(e + 1), h), e, rule_,
                        s_->setup.calibration, classes_);
    }
    const double share =
        (reuse && e == 0 ? ctx_ms_ : cpu_ms() - cs) / static_cast<double>(active.size());
    std::vector<std::size_t> keep, off;
    std::vector<std::int64_t> keep_rows, off_rows;
    for (std::size_t j = 0; j < active.size(); ++j) {
      const std::size_t i = active[j];
      Outcome& o = out[i];
      o.edge_ms += share;
      edge_at_[i * k + e] = o.edge_ms;
      scores_[i * k + e] = rows.score[j];
      preds_[i * k + e] = rows.pred[j];
      o.num_seen = e + 1;
      const bool exits = rule.exits(e, k, rows.score[j]);
      const bool cascade = actions[i].kind() == Action::Kind::kCascade;
      const bool at_split = cascade || actions[i].arm() == e;
      bool done = false;
      if (at_split && exits) {  // answered on the edge before the last exit
        o.exited = true, o.exit_used = e, done = true;
      } else if (e == last) {  // the whole network ran on the edge
        o.exit_used = last, o.final_known = true, o.final_score = rows.score[j], done = true;
      } else if (!cascade && at_split) {  // the rule said no: the cloud finishes
        off.push_back(i), off_rows.push_back(static_cast<std::int64_t>(j));
        continue;
      }
      if (done) {
        o.prediction = preds_[i * k + o.exit_used];
        o.latency_ms = ms_since(t0);
      } else {
        keep.push_back(i), keep_rows.push_back(static_cast<std::int64_t>(j));
      }
    }
    if (!off.empty())
      offload(static_cast<std::uint32_t>(e + 1), rows_of(h, off_rows), off, out, t0);
    // Batch compaction: samples that were answered or sent leave before the next stage.
    if (keep.size() < active.size() && !keep.empty()) h = rows_of(h, keep_rows);
    active.swap(keep);
  }
}

void LiveEnvironment::offload(std::uint32_t split, const torch::Tensor& h,
                              const std::vector<std::size_t>& rows, Outcome* out,
                              Clock::time_point t0) {
  const double ce = cpu_ms();
  const auto c = h.to(torch::kFloat32).contiguous();
  transport::InferRequest req;
  req.request_id = ++s_->next_request;
  req.split = split;
  req.model_sha256 = s_->edge->sha256;
  req.activation = transport::encode(c.data_ptr<float>(), c.sizes().vec(), s_->setup.live.codec);
  const double encode_share = (cpu_ms() - ce) / static_cast<double>(rows.size());
  const std::size_t bytes = req.activation.bytes.size() / rows.size();
  const auto deadline = std::chrono::milliseconds(s_->setup.live.deadline_ms);
  const auto tc = Clock::now();
  transport::CallResult r = s_->client->infer(req, deadline);
  // A client that cannot interrupt a call (in-process) is held to the deadline afterwards.
  if (r.status == transport::Status::kOk && ms_since(tc) > static_cast<double>(deadline.count()))
    r.status = transport::Status::kDeadline, r.message = "answer arrived after the deadline";
  if (r.status == transport::Status::kOk && r.reply.logits.size() != rows.size() * classes_)
    r.status = transport::Status::kInternal,
    r.message = "reply has " + std::to_string(r.reply.logits.size()) + " logits, expected " +
                std::to_string(rows.size() * classes_);
  for (auto i : rows) out[i].edge_ms += encode_share, out[i].bytes_sent = bytes;
  if (r.status != transport::Status::kOk) {
    s_->failures[transport::to_string(r.status)] += rows.size();
    fallback(split, h, rows, out, r);
  } else {
    const auto logits = torch::from_blob(
        r.reply.logits.data(),
        {static_cast<std::int64_t>(rows.size()), static_cast<std::int64_t>(classes_)},
        torch::kFloat32);
    const auto fin = score_exit(logits, k_ - 1, rule_, s_->setup.calibration, classes_);
    for (std::size_t j = 0; j < rows.size(); ++j) {
      Outcome& o = out[rows[j]];
      o.offloaded = true;
      o.exit_used = k_ - 1;
      o.final_known = true;
      o.final_score = fin.score[j];
      o.prediction = fin.pred[j];
      scores_[rows[j] * k_ + k_ - 1] = fin.score[j];  // as a trace row: s_K in the last column
    }
  }
  for (auto i : rows) out[i].latency_ms = ms_since(t0);
}

void LiveEnvironment::fallback(std::uint32_t split, const torch::Tensor& h,
                               const std::vector<std::size_t>& rows, Outcome* out,
                               const transport::CallResult& r) {
  if (s_->warned.insert(r.status).second)
    logger()->warn("live: cloud call failed ({}: {}); the edge answers from its deepest exit",
                   transport::to_string(r.status), r.message);
  if (split == 0) {  // cloud-only: nothing ran on the edge yet, so exit 1 answers
    const double c0 = cpu_ms();
    const auto e1 = score_exit(s_->edge->head(1, s_->edge->stages(h, 0, 1)), 0, rule_,
                               s_->setup.calibration, classes_);
    s_->stage_rows[0] += rows.size();
    const double share = (cpu_ms() - c0) / static_cast<double>(rows.size());
    for (std::size_t j = 0; j < rows.size(); ++j) {
      scores_[rows[j] * k_] = e1.score[j];
      preds_[rows[j] * k_] = e1.pred[j];
      out[rows[j]].edge_ms += share;
      edge_at_[rows[j] * k_] = out[rows[j]].edge_ms;
      out[rows[j]].num_seen = 1;
    }
  }
  for (auto i : rows) {
    Outcome& o = out[i];
    o.fallback = true;
    o.offloaded = false;
    o.final_known = false;
    o.exit_used = split == 0 ? 0 : split - 1;
    o.prediction = preds_[i * k_ + o.exit_used];
  }
}

}  // namespace

namespace {

/// The cloud of `cfg.cloud`: "embedded" serves a second copy of the model inside this process (on
/// a loopback port through the installed network transport, else by direct calls); "HOST:PORT"
/// connects to a remote `isplitee serve`. A link trace (`cfg.network`) wraps either.
std::shared_ptr<transport::CloudClient> make_client(const LiveSetup& setup) {
  const auto& cfg = setup.live;
  const transport::NetworkTransport* net = transport::network_transport();
  std::unique_ptr<transport::CloudClient> client;
  if (cfg.cloud == "embedded") {
    auto service = make_cloud_service(load_split_model(setup.checkpoint, setup.fold_batchnorm));
    client =
        net ? net->embed(std::move(service)) : transport::in_process_client(std::move(service));
  } else {
    ISPLITEE_CHECK(net != nullptr, "live.cloud: '", cfg.cloud,
                   "': a remote cloud needs a network transport, and this program installed none "
                   "(build with ISPLITEE_WITH_GRPC and call rpc::install_transport(); valid "
                   "without one: \"embedded\")");
    client = net->connect(
        {cfg.cloud, transport::read_token(cfg.token_file, "live.token_file"), cfg.tls_root_cert});
  }
  if (cfg.network != "none")
    client = transport::emulated_link(std::move(client), transport::load_link_trace(cfg.network));
  return client;
}

}  // namespace

LiveProvider::LiveProvider(LiveSetup setup, std::shared_ptr<transport::CloudClient> client)
    : state_(std::make_shared<State>()) {
  auto& s = *state_;
  s.setup = std::move(setup);
  const auto& su = s.setup;
  ISPLITEE_CHECK(!su.sources.empty(), "live: no sample source given");
  s.edge = load_split_model(su.checkpoint, su.fold_batchnorm);
  s.stage_rows.assign(static_cast<std::size_t>(s.edge->k), 0);
  s.client = client ? std::move(client) : make_client(su);
  auto ds = data::open_split(su.data, su.split);
  ISPLITEE_CHECK_CODE(ds->size() > 0, ErrorCode::kData, "live: the ", su.split, " split of ",
                      ds->name(), " is empty");
  ISPLITEE_CHECK(static_cast<std::int64_t>(ds->num_classes()) == s.edge->classes,
                 "live: ", su.checkpoint.string(), " has ", s.edge->classes, " classes but ",
                 ds->name(), " has ", ds->num_classes());
  if (su.max_samples > 0 && static_cast<std::size_t>(su.max_samples) < ds->size()) {
    std::vector<std::size_t> idx(static_cast<std::size_t>(su.max_samples));
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    ds = std::make_shared<data::Subset>(ds, std::move(idx), ds->name());
  }
  s.ds = ds;
  const cv::Mat first = ds->image(0);
  for (const auto& src : su.sources) {
    names_.push_back(src.name);
    sizes_.push_back(ds->size());
    s.distortions.push_back(
        src.distortion.name == "none"
            ? nullptr
            : distort::make_distortion(src.distortion, std::min(first.rows, first.cols)));
  }
  // The unit of measured edge cost: the whole network on the edge at batch 1 as the edge runs it,
  // every stage, exit head and exit score (the softmax statistics a decision needs), median of 31.
  torch::InferenceMode guard;
  std::vector<double> ms;
  const std::size_t runs = std::min<std::size_t>(32, ds->size());
  const cost::ExitRule rule(0.5);
  const auto classes = static_cast<std::size_t>(s.edge->classes);
  for (std::size_t i = 0; i < runs; ++i) {
    auto h = s.input(i).unsqueeze(0);
    const double c0 = cpu_ms();
    for (std::int64_t e = 1; e <= s.edge->k; ++e) {
      h = s.edge->stages(h, e - 1, e);
      (void)score_exit(s.edge->head(e, h), static_cast<std::size_t>(e - 1), rule, {}, classes);
    }
    if (i > 0) ms.push_back(cpu_ms() - c0);  // the first run warms up
  }
  if (!ms.empty()) {
    std::nth_element(ms.begin(), ms.begin() + ms.size() / 2, ms.end());
    full_ms_ = ms[ms.size() / 2];
  }
}

LiveProvider::~LiveProvider() = default;

std::size_t LiveProvider::num_exits() const { return static_cast<std::size_t>(state_->edge->k); }

std::vector<double> LiveProvider::depth_blocks() const {
  std::vector<double> v;
  if (!state_->setup.exits.empty()) {
    for (const auto& e : state_->setup.exits) v.push_back(e.depth_blocks);
  } else {
    for (auto b : state_->edge->net->exit_blocks()) v.push_back(static_cast<double>(b));
  }
  return v;
}

std::vector<double> LiveProvider::depth_macs() const {
  std::vector<double> v;
  if (!state_->setup.exits.empty()) {
    for (const auto& e : state_->setup.exits) v.push_back(e.macs_millions);
  } else {
    for (const auto& e : state_->edge->net->profile().exits)
      v.push_back(static_cast<double>(e.edge_macs) / 1e6);
  }
  return v;
}

std::vector<double> LiveProvider::activation_bytes() const {
  std::vector<double> v;
  for (const auto& e : state_->edge->net->profile().exits)
    v.push_back(static_cast<double>(transport::encoded_size(
        static_cast<std::size_t>(e.activation_bytes_fp32 / 4), state_->setup.live.codec)));
  return v;
}

std::vector<std::vector<double>> LiveProvider::exit_accuracy() const {
  return state_->setup.exit_accuracy;
}

std::unique_ptr<sim::Environment> LiveProvider::open(const std::vector<std::uint32_t>& samples,
                                                     const cost::ExitRule& rule) const {
  const std::size_t k = num_exits();
  ISPLITEE_CHECK_CODE(!rule.config().calibrate || state_->setup.calibration.temperature.size() == k,
                      ErrorCode::kData,
                      "live: cost.exit_rule.calibrate needs per-exit temperatures (the model's "
                      "traces were recorded without a validation split)");
  const std::size_t total = sizes_.size() * state_->ds->size();
  for (auto g : samples) ISPLITEE_ASSERT(g < total, "live: sample ", g, " out of range");
  return std::make_unique<LiveEnvironment>(state_, samples, rule);
}

cost::MeasuredUnits LiveProvider::measured_units() const {
  const auto& in = state_->edge->split_shape.front();
  return {full_ms_, static_cast<double>(in[0] * in[1] * in[2]), activation_bytes()};
}

std::string LiveProvider::cloud_description() const { return state_->client->describe(); }

std::vector<std::uint64_t> LiveProvider::stage_rows() const { return state_->stage_rows; }

std::vector<std::pair<std::string, std::uint64_t>> LiveProvider::cloud_failures() const {
  return {state_->failures.begin(), state_->failures.end()};
}

}  // namespace isplitee::live
