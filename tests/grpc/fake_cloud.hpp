#pragma once
// A CloudService without a network, for the transport tests: it holds a "model" with a SHA-256, 5
// splits and activations of shape N×8×4×4, checks requests as the real service does, and answers
// logits computed from the decoded activation (row n, class c: mean of sample n + c), so a test
// can tell that every byte arrived.

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "isplitee/transport/protocol.hpp"

namespace isplitee::testing {

class FakeCloud final : public transport::CloudService {
 public:
  static constexpr std::int64_t kClasses = 10;
  /// Shape of one sample's activation at every split.
  static std::vector<std::int64_t> shape(std::int64_t n) { return {n, 8, 4, 4}; }

  explicit FakeCloud(std::string sha = std::string(64, 'a'), int delay_ms = 0)
      : sha_(std::move(sha)), delay_ms_(delay_ms) {}

  transport::CallResult handle(const transport::InferRequest& r) override {
    ++calls;
    transport::CallResult out;
    out.status = transport::Status::kRejected;
    if (r.model_sha256 != sha_) {
      out.message = "model " + r.model_sha256.substr(0, 12) + " is not the one served (" +
                    sha_.substr(0, 12) + ")";
      return out;
    }
    if (r.split < 1 || r.split > 5) {
      out.message = "split " + std::to_string(r.split) + " is out of range [1, 5]";
      return out;
    }
    const auto& s = r.activation.shape;
    if (s.size() != 4 || s[1] != 8 || s[2] != 4 || s[3] != 4) {
      out.message = "activation shape does not match split " + std::to_string(r.split);
      return out;
    }
    std::vector<float> x;
    try {
      transport::decode(r.activation, x);
    } catch (const std::exception& e) {
      out.message = e.what();
      return out;
    }
    if (delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
    const std::size_t per = 8 * 4 * 4;
    out.reply.request_id = r.request_id;
    out.reply.num_classes = kClasses;
    for (std::int64_t n = 0; n < s[0]; ++n) {
      double sum = 0;
      for (std::size_t i = 0; i < per; ++i) sum += x[n * per + i];
      for (std::int64_t c = 0; c < kClasses; ++c)
        out.reply.logits.push_back(static_cast<float>(sum / per + c));
    }
    out.reply.cloud_ms = 0.25;
    out.status = transport::Status::kOk;
    return out;
  }

  std::atomic<int> calls{0};

 private:
  std::string sha_;
  int delay_ms_;
};

/// A request of `n` samples with values i/100 − 1 (exact in fp16), for the fake's model.
inline transport::InferRequest fake_request(std::int64_t n, transport::Codec codec,
                                            std::uint64_t id = 1,
                                            const std::string& sha = std::string(64, 'a')) {
  std::vector<float> x(static_cast<std::size_t>(n) * 128);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 200) / 100.0f - 1.0f;
  transport::InferRequest r;
  r.request_id = id;
  r.split = 2;
  r.model_sha256 = sha;
  r.activation = transport::encode(x.data(), FakeCloud::shape(n), codec);
  return r;
}

}  // namespace isplitee::testing
