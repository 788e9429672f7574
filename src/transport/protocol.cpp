#include "isplitee/transport/protocol.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>

#include "isplitee/common/error.hpp"

namespace isplitee::transport {
namespace {

/// float32 → float16 bits, round to nearest even. Values beyond the half range saturate to ±65504
/// (not ±inf): an activation that large still decodes to a finite, usable value.
std::uint16_t to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, 4);
  const std::uint32_t sign = (x >> 16) & 0x8000u;
  std::int32_t exp = static_cast<std::int32_t>((x >> 23) & 0xffu) - 127 + 15;
  std::uint32_t mant = x & 0x7fffffu;
  if (exp <= 0) {  // subnormal half (or zero)
    if (exp < -10) return static_cast<std::uint16_t>(sign);
    mant |= 0x800000u;
    const int shift = 14 - exp;
    std::uint32_t half = mant >> shift;
    const std::uint32_t rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1u))) ++half;
    return static_cast<std::uint16_t>(sign | half);
  }
  if (exp >= 31) return static_cast<std::uint16_t>(sign | 0x7bffu);
  std::uint32_t half = (static_cast<std::uint32_t>(exp) << 10) | (mant >> 13);
  const std::uint32_t rem = mant & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (half & 1u))) ++half;  // may carry into the exponent
  if (half >= 0x7c00u) half = 0x7bffu;  // rounded past the largest half: saturate
  return static_cast<std::uint16_t>(sign | half);
}

float from_half(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exp = (h >> 10) & 0x1fu, mant = h & 0x3ffu;
  std::uint32_t x;
  if (exp == 0) {
    if (mant == 0) {
      x = sign;
    } else {  // subnormal: normalise
      int e = -1;
      std::uint32_t m = mant;
      do {
        ++e;
        m <<= 1;
      } while ((m & 0x400u) == 0);
      x = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((m & 0x3ffu) << 13);
    }
  } else if (exp == 31) {
    x = sign | 0x7f800000u | (mant << 13);
  } else {
    x = sign | ((exp - 15 + 127) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

class InProcessClient final : public CloudClient {
 public:
  explicit InProcessClient(std::shared_ptr<CloudService> s) : service_(std::move(s)) {}
  CallResult infer(const InferRequest& request, std::chrono::milliseconds) override {
    return service_->handle(request);
  }
  std::string describe() const override { return "in-process"; }

 private:
  std::shared_ptr<CloudService> service_;
};

}  // namespace

std::string to_string(Codec c) {
  switch (c) {
    case Codec::kFp16:
      return "fp16";
    case Codec::kInt8:
      return "int8";
    default:
      return "fp32";
  }
}

Codec parse_codec(const std::string& name) {
  for (Codec c : {Codec::kFp32, Codec::kFp16, Codec::kInt8})
    if (to_string(c) == name) return c;
  fail(ErrorCode::kUsage, "unknown codec '", name, "' (valid: fp32, fp16, int8)");
}

std::string to_string(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kUnavailable:
      return "unavailable";
    case Status::kDeadline:
      return "deadline";
    case Status::kRejected:
      return "rejected";
    default:
      return "internal";
  }
}

std::size_t encoded_size(std::size_t numel, Codec c) noexcept {
  return numel * (c == Codec::kFp32 ? 4 : c == Codec::kFp16 ? 2 : 1);
}

std::size_t EncodedTensor::numel() const noexcept {
  if (shape.empty()) return 0;
  std::size_t n = 1;
  for (auto d : shape)  // a product past 64 bits would wrap to a small, plausible count
    if (d < 0 || __builtin_mul_overflow(n, static_cast<std::size_t>(d), &n)) return 0;
  return n;
}

EncodedTensor encode(const float* data, const std::vector<std::int64_t>& shape, Codec codec) {
  EncodedTensor t;
  t.codec = codec;
  t.shape = shape;
  const std::size_t n = t.numel();
  for (std::size_t i = 0; i < n; ++i)
    ISPLITEE_CHECK_CODE(std::isfinite(data[i]), ErrorCode::kData, "encode: activation value ", i,
                        " is not finite");
  t.bytes.resize(encoded_size(n, codec));
  char* out = t.bytes.data();
  if (codec == Codec::kFp32) {
    std::memcpy(out, data, 4 * n);
  } else if (codec == Codec::kFp16) {
    for (std::size_t i = 0; i < n; ++i) {
      const std::uint16_t h = to_half(data[i]);
      std::memcpy(out + 2 * i, &h, 2);
    }
  } else {
    const auto [lo, hi] = n ? std::minmax_element(data, data + n)
                            : std::pair<const float*, const float*>{nullptr, nullptr};
    const float mn = n ? std::min(0.0f, *lo) : 0.0f, mx = n ? std::max(0.0f, *hi) : 0.0f;
    t.scale = mx > mn ? (mx - mn) / 255.0f : 1.0f;
    t.zero_point = std::round(-128.0f - mn / t.scale);  // mn maps to −128, 0 exactly to an integer
    for (std::size_t i = 0; i < n; ++i) {
      const float q = std::clamp(std::round(data[i] / t.scale + t.zero_point), -128.0f, 127.0f);
      out[i] = static_cast<char>(static_cast<std::int8_t>(q));
    }
  }
  return t;
}

void decode(const EncodedTensor& t, std::vector<float>& out) {
  for (auto d : t.shape)
    ISPLITEE_CHECK_CODE(d > 0 && d <= (std::int64_t{1} << 31), ErrorCode::kData,
                        "activation: shape dimension ", d, " is out of range [1, 2^31]");
  const std::size_t n = t.numel();
  ISPLITEE_CHECK_CODE(n >= 1 && n <= (std::size_t{1} << 31), ErrorCode::kData,
                      "activation: the number of values of the rank-", t.shape.size(),
                      " shape is out of range [1, 2^31]");
  ISPLITEE_CHECK_CODE(t.bytes.size() == encoded_size(n, t.codec), ErrorCode::kData,
                      "activation: ", t.bytes.size(), " bytes for ", n, " ", to_string(t.codec),
                      " values (expected ", encoded_size(n, t.codec), ")");
  out.resize(n);
  const char* in = t.bytes.data();
  if (t.codec == Codec::kFp32) {
    std::memcpy(out.data(), in, 4 * n);
  } else if (t.codec == Codec::kFp16) {
    for (std::size_t i = 0; i < n; ++i) {
      std::uint16_t h;
      std::memcpy(&h, in + 2 * i, 2);
      out[i] = from_half(h);
    }
  } else {
    ISPLITEE_CHECK_CODE(std::isfinite(t.scale) && t.scale > 0 && std::isfinite(t.zero_point) &&
                            std::abs(t.zero_point) <= 1e6f,
                        ErrorCode::kData, "activation: int8 scale ", t.scale, " / zero point ",
                        t.zero_point, " are invalid (scale > 0, |zero point| <= 1e6)");
    for (std::size_t i = 0; i < n; ++i)
      out[i] = t.scale * (static_cast<float>(static_cast<std::int8_t>(in[i])) - t.zero_point);
  }
  for (std::size_t i = 0; i < n; ++i)
    ISPLITEE_CHECK_CODE(std::isfinite(out[i]), ErrorCode::kData, "activation: value ", i,
                        " decodes to a non-finite number");
}

std::unique_ptr<CloudClient> in_process_client(std::shared_ptr<CloudService> service) {
  ISPLITEE_CHECK(service != nullptr, "in_process_client: no service");
  return std::make_unique<InProcessClient>(std::move(service));
}

namespace {
std::mutex g_transport_mutex;
std::unique_ptr<const NetworkTransport> g_transport;
}  // namespace

void set_network_transport(NetworkTransport t) {
  ISPLITEE_CHECK(static_cast<bool>(t.connect) == static_cast<bool>(t.embed),
                 "set_network_transport: '", t.name, "' has only one of connect and embed");
  std::lock_guard<std::mutex> lock(g_transport_mutex);
  if (t.connect)
    g_transport = std::make_unique<const NetworkTransport>(std::move(t));
  else
    g_transport.reset();
}

const NetworkTransport* network_transport() noexcept {
  std::lock_guard<std::mutex> lock(g_transport_mutex);
  return g_transport.get();
}

std::string read_token(const std::string& file, const std::string& what) {
  std::string token;
  if (!file.empty()) {
    std::ifstream in(file, std::ios::binary);
    ISPLITEE_CHECK_CODE(in, ErrorCode::kIo, what, ": cannot read the token file '", file, "'");
    std::ostringstream os;
    os << in.rdbuf();
    token = os.str();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back())))
      token.pop_back();
    ISPLITEE_CHECK(!token.empty(), what, ": the token file '", file, "' is empty");
  } else if (const char* env = std::getenv("ISPLITEE_TOKEN")) {
    token = env;
  }
  ISPLITEE_CHECK(token.empty() || token.size() >= 16, what, ": the token has ", token.size(),
                 " characters (at least 16: e.g. `openssl rand -hex 32`)");
  return token;
}

}  // namespace isplitee::transport
