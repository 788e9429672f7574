#include "isplitee/live/live_config.hpp"

namespace isplitee::live {

LiveConfig parse_live_config(const config::Node& node) {
  LiveConfig c;
  c.cloud = node.string("cloud", c.cloud);
  if (c.cloud != "embedded") {
    const auto colon = c.cloud.rfind(':');
    const bool ok = colon != std::string::npos && colon > 0 && colon + 1 < c.cloud.size() &&
                    c.cloud.find_first_not_of("0123456789", colon + 1) == std::string::npos;
    if (!ok) node.fail("cloud", "must be \"embedded\" or HOST:PORT (e.g. 127.0.0.1:50051)");
  }
  c.codec = transport::parse_codec(node.choice("codec", "fp32", {"fp32", "fp16", "int8"}));
  c.batch = static_cast<std::size_t>(node.integer("batch", 1, 1, 4096));
  c.deadline_ms = node.integer("deadline_ms", c.deadline_ms, 1, 600000);
  c.network = node.string("network", c.network);
  if (c.network.empty()) node.fail("network", "must be a link trace CSV path or \"none\"");
  c.token_file = node.string("token_file", c.token_file);
  c.tls_root_cert = node.string("tls_root_cert", c.tls_root_cert);
  if (c.cloud == "embedded" && !(c.token_file.empty() && c.tls_root_cert.empty()))
    node.fail(c.token_file.empty() ? "tls_root_cert" : "token_file",
              "applies to a remote cloud only (cloud is \"embedded\")");
  node.finish();
  return c;
}

nlohmann::json to_json(const LiveConfig& c) {
  return {{"cloud", c.cloud},
          {"codec", transport::to_string(c.codec)},
          {"batch", c.batch},
          {"deadline_ms", c.deadline_ms},
          {"network", c.network},
          {"token_file", c.token_file},
          {"tls_root_cert", c.tls_root_cert}};
}

}  // namespace isplitee::live
