// Fuzz target `activation_tensor`: the activation tensor of a live request as the cloud decodes it
// (transport::decode: codec, shape, int8 scale and zero point, payload bytes), with the codec
// name as the request carries it (transport::parse_codec). The wire message around it (gRPC /
// protobuf) gets its own target next to this one (FUZZING.md, "Adding a target").
// Input layout: byte 0 codec (0 fp32, 1 fp16, 2 int8, 3 the rest of the input is a codec name),
// byte 1 rank (mod 5), rank little-endian int64 dimensions, float32 scale, float32 zero point,
// then the payload.
// Invariants of an accepted tensor: a non-empty shape whose exact product (no wrap-around) is the
// number of decoded values, every value finite, and an fp32 payload that re-encodes to itself.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/transport/protocol.hpp"

namespace {

// The product of the shape, or false when it overflows 64 bits.
bool exact_numel(const std::vector<std::int64_t>& shape, std::uint64_t& n) {
  n = 1;
  for (auto d : shape)
    if (d < 0 || __builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n)) return false;
  return true;
}

template <typename T>
bool take(const std::uint8_t*& p, const std::uint8_t* end, T& v) {
  if (static_cast<std::size_t>(end - p) < sizeof(T)) return false;
  std::memcpy(&v, p, sizeof(T));
  p += sizeof(T);
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  const std::uint8_t* p = data;
  const std::uint8_t* const end = data + size;
  std::uint8_t codec = 0, rank = 0;
  if (!take(p, end, codec)) return 0;
  if (codec % 4 == 3) {
    const std::string name(reinterpret_cast<const char*>(p), static_cast<std::size_t>(end - p));
    transport::Codec c{};
    if (fuzz::accepts([&] { c = transport::parse_codec(name); }))
      ISPLITEE_FUZZ_CHECK_MSG(transport::to_string(c) == name, name);
    return 0;
  }
  transport::EncodedTensor t;
  t.codec = static_cast<transport::Codec>(codec % 4);
  if (!take(p, end, rank)) return 0;
  t.shape.resize(rank % 5);
  for (auto& d : t.shape)
    if (!take(p, end, d)) return 0;
  if (!take(p, end, t.scale) || !take(p, end, t.zero_point)) return 0;
  t.bytes.assign(reinterpret_cast<const char*>(p), static_cast<std::size_t>(end - p));

  std::vector<float> out;
  if (!fuzz::accepts([&] { transport::decode(t, out); })) return 0;
  std::uint64_t n = 0;
  ISPLITEE_FUZZ_CHECK_MSG(!t.shape.empty() && exact_numel(t.shape, n) && n == out.size(),
                          out.size(), " values decoded for a shape of rank ", t.shape.size());
  for (float v : out) ISPLITEE_FUZZ_CHECK(std::isfinite(v));
  if (t.codec == transport::Codec::kFp32) {
    const auto again = transport::encode(out.data(), t.shape, t.codec);
    ISPLITEE_FUZZ_CHECK(again.bytes == t.bytes);
  }
  return 0;
}
