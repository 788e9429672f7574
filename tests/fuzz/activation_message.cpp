// Fuzz target `activation_message`: the bytes of one live request as the gRPC server receives
// them: parsed as the protobuf InferRequest (rpc::parse_request), checked as the server checks
// every request before the model sees it (rpc::validate_request: shape, byte count against the
// codec, int8 parameters, the size cap), and its tensor decoded as the cloud decodes it
// (transport::decode).
// Invariants: a request the server lets through always decodes to exactly prod(shape) values,
// or is refused by decode only for a non-finite value (never for its size or shape); and an
// accepted message serializes and parses back to the same request.

#include <cstdint>
#include <string>
#include <vector>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/grpc/rpc.hpp"
#include "isplitee/transport/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  constexpr std::size_t kCap = std::size_t{1} << 20;  // a small cap keeps inputs fast
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  transport::InferRequest req;
  std::string error;
  if (!rpc::parse_request(bytes, req, error)) {
    ISPLITEE_FUZZ_CHECK(!error.empty());
    return 0;
  }
  transport::InferRequest again;
  ISPLITEE_FUZZ_CHECK(rpc::parse_request(rpc::serialize_request(req), again, error));
  ISPLITEE_FUZZ_CHECK(again.request_id == req.request_id && again.split == req.split &&
                      again.activation.shape == req.activation.shape &&
                      again.activation.bytes == req.activation.bytes &&
                      again.model_sha256 == req.model_sha256 && again.token == req.token);

  if (!rpc::validate_request(req, kCap).empty()) return 0;
  const std::size_t n = req.activation.numel();
  ISPLITEE_FUZZ_CHECK_MSG(n > 0 && transport::encoded_size(n, req.activation.codec) <= kCap, n,
                          " values passed the server's checks");
  std::vector<float> out;
  try {
    transport::decode(req.activation, out);
  } catch (const Error& e) {
    // Only the values themselves may still be refused (NaN/inf in fp32 or fp16 bytes).
    ISPLITEE_FUZZ_CHECK_MSG(std::string(e.what()).find("non-finite") != std::string::npos,
                            e.what());
    return 0;
  }
  ISPLITEE_FUZZ_CHECK_MSG(out.size() == n, out.size(), " values decoded, ", n, " expected");
  return 0;
}
