#pragma once
/// \file The "live" section of an experiment config (`experiment.mode: "live"`): where the cloud
/// is, how activations travel and how long the edge waits for an answer. Pure parsing (no
/// LibTorch): a build without vision parses and resolves it too.

#include <cstddef>
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"
#include "isplitee/transport/protocol.hpp"

namespace isplitee::live {

/// The "live" section.
struct LiveConfig {
  std::string cloud = "embedded";  ///< "embedded" (a cloud in this process) or "HOST:PORT"
  transport::Codec codec = transport::Codec::kFp32;  ///< how activations travel
  std::size_t batch = 1;            ///< samples the edge decides and runs together (1..4096)
  std::int64_t deadline_ms = 1000;  ///< the edge waits at most this long for the cloud
  std::string network = "none";     ///< link trace CSV for network emulation, or "none"
  /// Shared secret of a remote cloud: a file holding it ("" = $ISPLITEE_TOKEN, or none).
  std::string token_file;
  /// PEM root certificate(s) to verify a remote cloud's TLS certificate ("" = plaintext).
  std::string tls_root_cert;
};

/// Parses the "live" section (keys cloud, codec, batch, deadline_ms, network, token_file,
/// tls_root_cert) and calls finish(). Files are checked when a live run starts, not here.
LiveConfig parse_live_config(const config::Node& node);
/// Every field with defaults filled; re-parses to the same values.
nlohmann::json to_json(const LiveConfig& c);

}  // namespace isplitee::live
