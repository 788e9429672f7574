#pragma once
/// \file The gRPC transport of the live split protocol (isplitee::grpc, built when gRPC and
/// protobuf are found: CMake option ISPLITEE_WITH_GRPC). A thin server that puts any
/// transport::CloudService on the network, a client with a deadline on every call, and the
/// embedded loopback server the edge starts when no cloud address is given. No gRPC or protobuf
/// header is included here: users of isplitee::grpc see only the transport contract.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "isplitee/transport/protocol.hpp"

namespace isplitee::rpc {

/// The largest request a server accepts by default (a batch-64 fp32 activation of a ResNet-50
/// split is ~50 MiB).
inline constexpr std::size_t kDefaultMaxMessageBytes = std::size_t{64} << 20;

/// How a server listens and what it accepts.
struct ServerOptions {
  std::string listen =
      "127.0.0.1:0";  ///< HOST:PORT (port 0 = any free port), [::1]:PORT, unix:PATH
  std::string token;  ///< shared secret every request must carry; required off loopback
  std::string
      tls_cert_file;         ///< PEM certificate chain; with tls_key_file, TLS instead of plaintext
  std::string tls_key_file;  ///< PEM private key
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;  ///< larger requests are refused
};

/// True when `listen` reaches only this machine: 127.0.0.0/8, localhost, [::1], unix sockets.
bool is_loopback(const std::string& listen);

/// Checks a request before it reaches the model: shape dimensions, byte count against the codec,
/// int8 parameters and the activation size cap. Returns "" when it is well formed, else one line
/// naming the field and the valid range. The model checks (SHA-256, split, shape) stay with the
/// CloudService.
std::string validate_request(const transport::InferRequest& request,
                             std::size_t max_activation_bytes);

/// Bytes a request takes on the wire inside HTTP/2 DATA frames: the protobuf message plus gRPC's
/// 5-byte length prefix (HTTP/2 frame and header bytes come on top; BENCHMARKS.md measures them).
std::size_t wire_request_bytes(const transport::InferRequest& request);

/// Parses a serialized protobuf request (what a server receives) into `out`; false with a reason
/// in `error` when the bytes are not a request. Used by the fuzz target and the fault tests.
bool parse_request(const std::string& bytes, transport::InferRequest& out, std::string& error);
/// Serializes a request as the client sends it.
std::string serialize_request(const transport::InferRequest& request);

/// A running gRPC server around one CloudService. Requests are handed to the service one at a
/// time (a CloudService need not be thread-safe). Destroying the server shuts it down.
class Server {
 public:
  /// Starts listening. Throws Error(kUsage) for bad options (a non-loopback address without a
  /// token, a certificate without a key), Error(kIo) when the address cannot be bound or a TLS
  /// file cannot be read.
  static std::unique_ptr<Server> start(std::shared_ptr<transport::CloudService> service,
                                       const ServerOptions& options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The port bound (the chosen one when the listen port was 0; 0 for a unix socket).
  int port() const noexcept;
  /// An address a client on this machine connects to: "127.0.0.1:PORT", "localhost:PORT", …
  std::string address() const;
  /// True when the server speaks TLS.
  bool tls() const noexcept;
  /// Requests answered so far, and how many of them were refused before reaching the model.
  std::uint64_t requests() const noexcept;
  std::uint64_t refused() const noexcept;
  /// Stops accepting calls, lets calls in flight finish for at most `grace`, then cancels them.
  /// Safe to call more than once and from another thread than wait().
  void shutdown(std::chrono::milliseconds grace = std::chrono::milliseconds(2000));
  /// Blocks until shutdown() has completed.
  void wait();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

/// How a client reaches a server.
struct ClientOptions {
  std::string target;              ///< HOST:PORT (or unix:PATH)
  std::string token;               ///< sent with every request whose own token is empty
  std::string tls_root_cert_file;  ///< PEM roots to verify the server with; "" = plaintext
  std::string tls_server_name;     ///< name checked against the certificate ("" = target's host)
  std::size_t max_message_bytes = kDefaultMaxMessageBytes;  ///< largest reply accepted
};

/// A gRPC CloudClient. Every call carries its deadline; every failure (no server, deadline,
/// refusal, a reply inconsistent with the request) is a CallResult, never an exception. Throws
/// Error only here, for bad options (Error(kIo) when the root certificate cannot be read).
std::unique_ptr<transport::CloudClient> make_client(const ClientOptions& options);

/// A server and a client to it on a free loopback port in this process, for an edge that has no
/// separate cloud ("embedded"): plaintext, no token (loopback only).
struct Embedded {
  std::unique_ptr<Server> server;
  std::unique_ptr<transport::CloudClient> client;
};
/// Starts an embedded server around `service` on 127.0.0.1 and connects a client to it.
Embedded start_embedded(std::shared_ptr<transport::CloudService> service,
                        std::size_t max_message_bytes = kDefaultMaxMessageBytes);

/// Installs gRPC as this process's network transport (transport::set_network_transport), so that
/// the live edge reaches `live.cloud: "HOST:PORT"` through make_client() and runs
/// `live.cloud: "embedded"` as an embedded loopback server (start_embedded()). The isplitee CLI
/// calls it at startup; a program of yours that links isplitee::grpc calls it once.
void install_transport();

}  // namespace isplitee::rpc
