#include "wire.hpp"

#include <cmath>
#include <limits>

#include "isplitee/grpc/rpc.hpp"

namespace isplitee::rpc {
namespace detail {

void to_proto(const transport::InferRequest& in, const std::string& token, v1::InferRequest& out) {
  out.set_request_id(in.request_id);
  out.set_split(in.split);
  out.set_codec(static_cast<v1::Codec>(static_cast<int>(in.activation.codec)));
  out.mutable_shape()->Assign(in.activation.shape.begin(), in.activation.shape.end());
  out.set_activation(in.activation.bytes);
  out.set_scale(in.activation.scale);
  out.set_zero_point(in.activation.zero_point);
  out.set_model_sha256(in.model_sha256);
  out.set_token(in.token.empty() ? token : in.token);
}

std::string from_proto(const v1::InferRequest& in, transport::InferRequest& out) {
  switch (in.codec()) {
    case v1::CODEC_FP32:
      out.activation.codec = transport::Codec::kFp32;
      break;
    case v1::CODEC_FP16:
      out.activation.codec = transport::Codec::kFp16;
      break;
    case v1::CODEC_INT8:
      out.activation.codec = transport::Codec::kInt8;
      break;
    default:
      return "codec " + std::to_string(static_cast<int>(in.codec())) +
             " is unknown (valid: 0 fp32, 1 fp16, 2 int8)";
  }
  out.request_id = in.request_id();
  out.split = in.split();
  out.activation.shape.assign(in.shape().begin(), in.shape().end());
  out.activation.bytes = in.activation();
  out.activation.scale = in.scale();
  out.activation.zero_point = in.zero_point();
  out.model_sha256 = in.model_sha256();
  out.token = in.token();
  return "";
}

}  // namespace detail

std::string validate_request(const transport::InferRequest& r, std::size_t max_activation_bytes) {
  const auto& t = r.activation;
  if (t.shape.empty() || t.shape.size() > 8)
    return "activation shape has " + std::to_string(t.shape.size()) + " dimensions (valid: 1 to 8)";
  // Multiply with an overflow guard: a hostile shape must not wrap around to a small count.
  std::size_t numel = 1;
  for (std::size_t i = 0; i < t.shape.size(); ++i) {
    const auto d = t.shape[i];
    if (d < 1 || d > (std::int64_t{1} << 31))
      return "activation shape dimension " + std::to_string(i) + " is " + std::to_string(d) +
             " (valid: 1 to 2^31)";
    if (numel > max_activation_bytes / static_cast<std::size_t>(d))
      return "activation of shape dimension " + std::to_string(i) + " exceeds the cap of " +
             std::to_string(max_activation_bytes) + " bytes";
    numel *= static_cast<std::size_t>(d);
  }
  const std::size_t expected = transport::encoded_size(numel, t.codec);
  if (expected > max_activation_bytes)
    return "activation of " + std::to_string(expected) + " bytes exceeds the cap of " +
           std::to_string(max_activation_bytes) + " bytes";
  if (t.bytes.size() != expected)
    return "activation has " + std::to_string(t.bytes.size()) + " bytes for " +
           std::to_string(numel) + " " + transport::to_string(t.codec) + " values (expected " +
           std::to_string(expected) + ")";
  if (t.codec == transport::Codec::kInt8 &&
      !(std::isfinite(t.scale) && t.scale > 0 && std::isfinite(t.zero_point) &&
        std::abs(t.zero_point) <= 1e6f))
    return "int8 scale / zero point are invalid (scale > 0 and finite, |zero point| <= 1e6)";
  return "";
}

std::size_t wire_request_bytes(const transport::InferRequest& request) {
  v1::InferRequest m;
  detail::to_proto(request, "", m);
  return m.ByteSizeLong() + 5;  // gRPC message prefix: 1 flag byte + 4 length bytes
}

bool parse_request(const std::string& bytes, transport::InferRequest& out, std::string& error) {
  v1::InferRequest m;
  if (bytes.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !m.ParseFromString(bytes)) {
    error = "not a protobuf InferRequest";
    return false;
  }
  error = detail::from_proto(m, out);
  return error.empty();
}

std::string serialize_request(const transport::InferRequest& request) {
  v1::InferRequest m;
  detail::to_proto(request, "", m);
  return m.SerializeAsString();
}

}  // namespace isplitee::rpc
