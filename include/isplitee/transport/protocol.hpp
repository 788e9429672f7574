#pragma once
/// \file The live split protocol between an edge and a cloud (docs/method.md, "Live protocol"):
/// the edge runs stages 1..s and sends the activation at split s, encoded by a codec; the cloud
/// checks the request against its own model, finishes the network and returns the logits of the
/// last exit. Transport sits behind CloudClient (gRPC in isplitee::grpc,
/// include/isplitee/grpc/rpc.hpp; an in-process one for tests); the model sits behind CloudService.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace isplitee::transport {

/// How an activation travels.
enum class Codec : std::uint8_t {
  kFp32,  ///< IEEE float32, little-endian (lossless)
  kFp16,  ///< IEEE float16, round to nearest even
  kInt8,  ///< per-tensor affine: x ≈ scale · (q − zero_point), q ∈ [−128, 127]
};
/// "fp32" / "fp16" / "int8".
std::string to_string(Codec c);
/// Parses a codec name; Error(kUsage) naming the valid ones.
Codec parse_codec(const std::string& name);
/// Bytes on the wire for `numel` values.
std::size_t encoded_size(std::size_t numel, Codec c) noexcept;

/// An encoded float tensor (an N×C×H×W activation).
struct EncodedTensor {
  Codec codec = Codec::kFp32;
  std::vector<std::int64_t> shape;
  std::string bytes;        ///< encoded_size(numel, codec) bytes
  float scale = 1.0f;       ///< int8 only
  float zero_point = 0.0f;  ///< int8 only
  /// Product of the shape (0 for an empty shape).
  std::size_t numel() const noexcept;
};

/// Encodes `numel` floats of `shape` (NaN/inf are refused with Error(kData)).
EncodedTensor encode(const float* data, const std::vector<std::int64_t>& shape, Codec codec);
/// Decodes into `out` (resized to numel); Error(kData) when the byte count, shape or int8
/// parameters are inconsistent — a bad network message, never a crash.
void decode(const EncodedTensor& t, std::vector<float>& out);

/// The edge asks the cloud to finish a batch from split `split`.
struct InferRequest {
  std::uint64_t request_id = 0;
  std::uint32_t split = 0;   ///< 1..K−1: exits 1..split ran on the edge; the tensor is stage
                             ///< `split`'s output
  std::string model_sha256;  ///< the checkpoint the edge runs; the cloud refuses another model
  std::string token;         ///< shared secret (required when the server is not on loopback)
  EncodedTensor activation;
};

/// The cloud's answer: logits of the last exit, one row per sample of the batch.
struct InferReply {
  std::uint64_t request_id = 0;
  std::int64_t num_classes = 0;
  std::vector<float> logits;  ///< N × num_classes
  double cloud_ms = 0;        ///< the cloud's compute time for the batch
};

/// How a call ended.
enum class Status {
  kOk,
  kUnavailable,  ///< no connection / server gone
  kDeadline,     ///< no answer before the deadline
  kRejected,     ///< the server refused the request (other model, bad split/shape/dtype, token)
  kInternal,     ///< anything else
};
/// "ok", "unavailable", "deadline", "rejected", "internal".
std::string to_string(Status s);

/// A call's result: reply when status is kOk, else a one-line message.
struct CallResult {
  Status status = Status::kInternal;
  std::string message;
  InferReply reply;
};

/// The cloud's model behind the protocol (isplitee::vision implements it with the network).
class CloudService {
 public:
  virtual ~CloudService() = default;
  /// Checks the request against the model (SHA-256, split range, shape, dtype, size caps, token)
  /// and finishes the network. Never throws: every failure is a CallResult with kRejected or
  /// kInternal and a message.
  virtual CallResult handle(const InferRequest& request) = 0;
};

/// The edge's view of the cloud.
class CloudClient {
 public:
  virtual ~CloudClient() = default;
  /// Sends `request` and waits at most `deadline`. Never throws for network or server faults.
  virtual CallResult infer(const InferRequest& request, std::chrono::milliseconds deadline) = 0;
  /// "in-process", "grpc://HOST:PORT", … for reports.
  virtual std::string describe() const = 0;
};

/// A client that calls `service` directly in this process (unit tests; no sockets). It encodes
/// and decodes nothing extra: the request object is handed over as is.
std::unique_ptr<CloudClient> in_process_client(std::shared_ptr<CloudService> service);

/// A cloud on the network, as the edge names it (`live.cloud: "HOST:PORT"`).
struct RemoteCloud {
  std::string address;             ///< HOST:PORT
  std::string token;               ///< shared secret sent with every request ("" = none)
  std::string tls_root_cert_file;  ///< PEM roots to verify the server with; "" = plaintext
};

/// A network transport the edge can use, installed by the program that links one (the isplitee
/// CLI installs gRPC: rpc::install_transport(), include/isplitee/grpc/rpc.hpp). The live edge asks
/// for it by contract only, so isplitee::core and isplitee::vision contain no network code.
struct NetworkTransport {
  std::string name;  ///< "gRPC"
  /// A client of the remote cloud; every failure is a CallResult, never an exception (bad
  /// options throw Error).
  std::function<std::unique_ptr<CloudClient>(const RemoteCloud&)> connect;
  /// Serves `service` on a free loopback port inside this process and returns a client of it
  /// that owns the server (`live.cloud: "embedded"`).
  std::function<std::unique_ptr<CloudClient>(std::shared_ptr<CloudService>)> embed;
};
/// Installs `t` for this process (replacing any earlier one; call before the edge starts). A
/// transport with neither connect nor embed uninstalls it.
void set_network_transport(NetworkTransport t);
/// The installed transport, or null when the program installed none.
const NetworkTransport* network_transport() noexcept;

/// The shared secret of a cloud: the contents of `file` with trailing whitespace dropped when
/// `file` is not empty, else the environment variable ISPLITEE_TOKEN, else "". Error(kIo) when the
/// file cannot be read; Error(kUsage) naming `what` when it is empty or shorter than 16 characters.
std::string read_token(const std::string& file, const std::string& what);

}  // namespace isplitee::transport
