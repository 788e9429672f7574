#include "isplitee/model/checkpoint.hpp"

#include <array>
#include <cstdio>
#include <fstream>
#include <map>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/config/node.hpp"

namespace isplitee::model {
namespace {

constexpr const char* kMetadataKey = "isplitee_metadata";

// ---- SHA-256 (FIPS 180-4) -------------------------------------------------------------------
class Sha256 {
 public:
  void update(const unsigned char* data, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
      buf_[fill_++] = data[i];
      if (fill_ == 64) {
        block(buf_.data());
        fill_ = 0;
      }
    }
    bits_ += static_cast<std::uint64_t>(n) * 8;
  }
  std::string hex() {
    const std::uint64_t bits = bits_;
    const unsigned char pad0 = 0x80, zero = 0;
    update(&pad0, 1);
    while (fill_ != 56) update(&zero, 1);
    unsigned char len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<unsigned char>(bits >> (56 - 8 * i));
    update(len, 8);
    std::string out;
    char b[9];
    for (auto v : h_) {
      std::snprintf(b, sizeof b, "%08x", v);
      out += b;
    }
    return out;
  }

 private:
  static std::uint32_t rotr(std::uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }
  void block(const unsigned char* p) {
    static constexpr std::uint32_t k[64] = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
    std::uint32_t w[64];
    for (int i = 0; i < 16; ++i)
      w[i] = (std::uint32_t{p[4 * i]} << 24) | (std::uint32_t{p[4 * i + 1]} << 16) |
             (std::uint32_t{p[4 * i + 2]} << 8) | std::uint32_t{p[4 * i + 3]};
    for (int i = 16; i < 64; ++i) {
      const std::uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const std::uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    std::uint32_t a = h_[0], b = h_[1], c = h_[2], d = h_[3], e = h_[4], f = h_[5], g = h_[6], h = h_[7];
    for (int i = 0; i < 64; ++i) {
      const std::uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const std::uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h_[0] += a; h_[1] += b; h_[2] += c; h_[3] += d; h_[4] += e; h_[5] += f; h_[6] += g; h_[7] += h;
  }
  std::array<std::uint32_t, 8> h_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<unsigned char, 64> buf_{};
  std::size_t fill_ = 0;
  std::uint64_t bits_ = 0;
};

nlohmann::json metadata_of(const MultiExitNetImpl& net, const ModelConfig& cfg, const nlohmann::json& extra) {
  return {{"format", "isplitee-checkpoint"},
          {"format_version", kCheckpointFormatVersion},
          {"arch", cfg.arch},
          {"exit_blocks", net.exit_blocks()},
          {"head", cfg.head},
          {"num_classes", cfg.num_classes},
          {"input_size", cfg.input_size},
          {"in_channels", cfg.in_channels},
          {"num_exits", net.num_exits()},
          {"model", to_json(cfg)},
          {"extra", extra}};
}

std::map<std::string, std::vector<int64_t>> shapes_of(const torch::nn::Module& m) {
  std::map<std::string, std::vector<int64_t>> s;
  for (const auto& p : m.named_parameters()) s[p.key()] = p.value().sizes().vec();
  for (const auto& b : m.named_buffers()) s[b.key()] = b.value().sizes().vec();
  return s;
}

template <typename T>
void expect_field(const nlohmann::json& meta, const std::string& key, const T& actual,
                  const std::string& file) {
  if (!meta.contains(key))
    fail(ErrorCode::kData, file, ": checkpoint metadata lacks '", key, "'");
  if (meta[key] != nlohmann::json(actual))
    fail(ErrorCode::kData, file, ": checkpoint metadata '", key, "' is ", meta[key].dump(),
         " but its model config builds ", nlohmann::json(actual).dump());
}

}  // namespace

std::string sha256_hex(const std::string& bytes) {
  Sha256 s;
  s.update(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return s.hex();
}

std::string sha256_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::kIo, path.string(), ": cannot read file for SHA-256");
  Sha256 s;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    s.update(reinterpret_cast<const unsigned char*>(buf.data()), static_cast<std::size_t>(in.gcount()));
  }
  if (in.bad()) fail(ErrorCode::kIo, path.string(), ": read error while hashing");
  return s.hex();
}

void save_checkpoint(const std::filesystem::path& path, MultiExitNetImpl& net, const ModelConfig& cfg,
                     const nlohmann::json& extra_json) {
  ISPLITEE_CHECK(cfg.arch == net.config().arch && cfg.num_classes == net.config().num_classes,
                 "save_checkpoint: the config (", cfg.arch, ", ", cfg.num_classes,
                 " classes) does not describe the network (", net.config().arch, ", ",
                 net.config().num_classes, " classes)");
  torch::serialize::OutputArchive ar;
  net.save(ar);
  ar.write(kMetadataKey, c10::IValue(metadata_of(net, cfg, extra_json).dump()));
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  const auto tmp = temporary_sibling(path);
  try {
    ar.save_to(tmp.string());
  } catch (const c10::Error& e) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    fail(ErrorCode::kIo, path.string(), ": cannot write checkpoint: ", e.what_without_backtrace());
  }
  commit_file(tmp, path);
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& path) {
  const std::string file = path.string();
  if (!std::filesystem::is_regular_file(path)) fail(ErrorCode::kIo, file, ": checkpoint not found");
  torch::serialize::InputArchive ar;
  try {
    ar.load_from(file);
  } catch (const c10::Error& e) {
    fail(ErrorCode::kData, file, ": not a LibTorch archive (", e.what_without_backtrace(), ")");
  }
  c10::IValue mv;
  if (!ar.try_read(kMetadataKey, mv) || !mv.isString())
    fail(ErrorCode::kData, file, ": no isplitee metadata (not written by isplitee save_checkpoint?)");
  LoadedCheckpoint out;
  try {
    out.metadata = nlohmann::json::parse(mv.toStringRef());
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kData, file, ": malformed checkpoint metadata: ", e.what());
  }
  const auto& meta = out.metadata;
  if (!meta.is_object() || meta.value("format", "") != "isplitee-checkpoint")
    fail(ErrorCode::kData, file, ": metadata 'format' is not \"isplitee-checkpoint\"");
  if (meta.value("format_version", -1) != kCheckpointFormatVersion)
    fail(ErrorCode::kData, file, ": metadata 'format_version' is ", meta.value("format_version", -1),
         ", this isplitee reads version ", kCheckpointFormatVersion);
  if (!meta.contains("model") || !meta["model"].is_object())
    fail(ErrorCode::kData, file, ": checkpoint metadata lacks the 'model' config");
  try {
    out.config = parse_model_config(config::Node(meta["model"], file, "metadata.model"));
  } catch (const Error& e) {
    fail(ErrorCode::kData, e.what());
  }
  out.config.pretrained.clear();  // the weights come from the checkpoint, not a torchvision export
  out.net = MultiExitNet(out.config);
  expect_field(meta, "arch", out.config.arch, file);
  expect_field(meta, "head", out.config.head, file);
  expect_field(meta, "num_classes", out.config.num_classes, file);
  expect_field(meta, "input_size", out.config.input_size, file);
  expect_field(meta, "in_channels", out.config.in_channels, file);
  expect_field(meta, "exit_blocks", out.net->exit_blocks(), file);
  expect_field(meta, "num_exits", out.net->num_exits(), file);
  const auto expected_shapes = shapes_of(*out.net);
  try {
    out.net->load(ar);
  } catch (const c10::Error& e) {
    fail(ErrorCode::kData, file, ": parameters do not fit ", out.config.arch, ": ",
         e.what_without_backtrace());
  }
  for (const auto& [name, shape] : shapes_of(*out.net)) {
    const auto& want = expected_shapes.at(name);
    if (shape != want)
      fail(ErrorCode::kData, file, ": tensor '", name, "' has shape ", c10::IntArrayRef(shape),
           ", the model needs ", c10::IntArrayRef(want));
  }
  out.extra = meta.value("extra", nlohmann::json::object());
  out.net->eval();
  return out;
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& path, const ModelConfig& expected) {
  LoadedCheckpoint ck = load_checkpoint(path);
  auto have = to_json(ck.config), want = to_json(expected);
  // Which weights a model started from and its training-only dropout do not change what it computes.
  for (const char* k : {"pretrained", "dropout"}) {
    have.erase(k);
    want.erase(k);
  }
  for (const auto& [key, v] : want.items())
    if (have[key] != v)
      fail(ErrorCode::kData, path.string(), ": checkpoint model.", key, " is ", have[key].dump(),
           " but the config asks for ", v.dump());
  return ck;
}

}  // namespace isplitee::model
