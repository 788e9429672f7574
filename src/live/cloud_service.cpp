// The cloud half of the live protocol: the network finishes what the edge started.

#include <chrono>
#include <exception>
#include <sstream>

#include "isplitee/common/error.hpp"
#include "isplitee/common/sha256.hpp"
#include "isplitee/model/checkpoint.hpp"
#include "split_model.hpp"

namespace isplitee::live {
namespace {

using transport::CallResult;
using transport::Status;

CallResult refuse(Status s, const std::string& message) {
  CallResult r;
  r.status = s;
  r.message = message;
  return r;
}

std::string shape_text(const std::vector<std::int64_t>& s) {
  std::ostringstream os;
  for (std::size_t i = 0; i < s.size(); ++i) os << (i ? "x" : "") << s[i];
  return os.str();
}

class NetworkCloud final : public transport::CloudService {
 public:
  NetworkCloud(std::shared_ptr<SplitModel> m, CloudLimits limits, std::string token)
      : m_(std::move(m)), limits_(limits), token_(std::move(token)) {}

  CallResult handle(const transport::InferRequest& req) override {
    try {
      if (const auto bad = check(req); !bad.empty()) return refuse(Status::kRejected, bad);
      return run(req);
    } catch (const std::exception& e) {
      return refuse(Status::kInternal, std::string("cloud: ") + e.what());
    } catch (...) {
      return refuse(Status::kInternal, "cloud: unknown failure");
    }
  }

 private:
  /// "" when the request fits this model and the limits, else why not.
  std::string check(const transport::InferRequest& req) const {
    if (!token_.empty() && req.token != token_) return "token does not match";
    if (req.model_sha256 != m_->sha256)
      return "model " + req.model_sha256.substr(0, 12) + " is not the served model " +
             m_->sha256.substr(0, 12);
    if (req.split >= static_cast<std::uint32_t>(m_->k))
      return "split " + std::to_string(req.split) + " is out of range [0, " +
             std::to_string(m_->k - 1) + "]";
    const auto& t = req.activation;
    const auto& want = m_->split_shape[req.split];
    if (t.shape.size() != want.size() + 1 || t.shape[0] < 1 ||
        !std::equal(want.begin(), want.end(), t.shape.begin() + 1))
      return "activation shape " + shape_text(t.shape) + " is not N x " + shape_text(want) +
             " (split " + std::to_string(req.split) + ")";
    if (static_cast<std::size_t>(t.shape[0]) > limits_.max_batch)
      return "batch " + std::to_string(t.shape[0]) + " exceeds the limit " +
             std::to_string(limits_.max_batch);
    if (t.bytes.size() > limits_.max_bytes)
      return "activation of " + std::to_string(t.bytes.size()) + " bytes exceeds the limit " +
             std::to_string(limits_.max_bytes);
    if (t.codec != transport::Codec::kFp32 && t.codec != transport::Codec::kFp16 &&
        t.codec != transport::Codec::kInt8)
      return "unknown codec " + std::to_string(static_cast<int>(t.codec));
    if (t.bytes.size() != transport::encoded_size(t.numel(), t.codec))
      return "activation has " + std::to_string(t.bytes.size()) + " bytes, " +
             transport::to_string(t.codec) + " " + shape_text(t.shape) + " needs " +
             std::to_string(transport::encoded_size(t.numel(), t.codec));
    return "";
  }

  CallResult run(const transport::InferRequest& req) {
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<float> values;
    try {
      transport::decode(req.activation, values);
    } catch (const Error& e) {
      return refuse(Status::kRejected, e.what());
    }
    torch::InferenceMode guard;
    torch::Tensor h = torch::from_blob(values.data(), req.activation.shape, torch::kFloat32);
    h = m_->stages(h, req.split, m_->k);
    const auto logits = m_->head(m_->k, h).to(torch::kFloat32).contiguous();
    CallResult r;
    r.status = Status::kOk;
    r.reply.request_id = req.request_id;
    r.reply.num_classes = m_->classes;
    r.reply.logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
    r.reply.cloud_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    return r;
  }

  std::shared_ptr<SplitModel> m_;
  CloudLimits limits_;
  std::string token_;
};

}  // namespace

std::shared_ptr<SplitModel> load_split_model(const std::filesystem::path& checkpoint,
                                             bool fold_batchnorm) {
  ISPLITEE_CHECK_CODE(std::filesystem::exists(checkpoint), ErrorCode::kIo, "live: checkpoint ",
                      checkpoint.string(), " not found");
  auto ck = model::load_checkpoint(checkpoint);
  auto m = std::make_shared<SplitModel>();
  m->net = ck.net;
  m->config = ck.config;
  m->sha256 = sha256_file(checkpoint);
  m->net->train(false);
  // The same inference setup as the trace pass (tracegen/generate.cpp): same arithmetic, same
  // scores, so a live run takes the decisions a replay of its traces takes.
  if (fold_batchnorm && model::MultiExitNetImpl::fast_path_available())
    m->net->optimize_for_inference();
  else if (fold_batchnorm)
    m->net->fold_batchnorm();
  m->k = m->net->num_exits();
  m->classes = ck.config.num_classes;
  const auto& p = m->net->profile();
  m->split_shape.push_back({p.input_channels, p.input_size, p.input_size});
  for (const auto& e : p.exits) m->split_shape.push_back(e.activation_shape);
  return m;
}

std::size_t num_exits(const SplitModel& m) { return static_cast<std::size_t>(m.k); }
const std::string& model_sha256(const SplitModel& m) { return m.sha256; }

std::shared_ptr<transport::CloudService> make_cloud_service(std::shared_ptr<SplitModel> model,
                                                            CloudLimits limits, std::string token) {
  ISPLITEE_CHECK(model != nullptr, "make_cloud_service: no model");
  return std::make_shared<NetworkCloud>(std::move(model), limits, std::move(token));
}

}  // namespace isplitee::live
