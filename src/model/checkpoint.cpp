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

nlohmann::json metadata_of(const MultiExitNetImpl& net, const ModelConfig& cfg,
                           const nlohmann::json& extra, const data::Preprocess* preprocess) {
  nlohmann::json meta = {{"format", "isplitee-checkpoint"},
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
  if (preprocess) meta["preprocess"] = data::to_json(*preprocess);
  return meta;
}

// The stored preprocessing, validated against the model; the documented fallback when absent.
void read_preprocess(LoadedCheckpoint& out, const std::string& file) {
  const auto& meta = out.metadata;
  if (!meta.contains("preprocess")) {
    out.preprocess = data::Preprocess{};
    out.preprocess.channels = static_cast<int>(out.config.in_channels);
    out.preprocess_stored = false;
    return;
  }
  try {
    out.preprocess =
        data::parse_preprocess(config::Node(meta["preprocess"], file, "metadata.preprocess"));
  } catch (const Error& e) {
    fail(ErrorCode::kData, e.what());
  }
  const auto& p = out.preprocess;
  if (p.channels != 0 && p.channels != out.config.in_channels)
    fail(ErrorCode::kData, file, ": checkpoint metadata 'preprocess.channels' is ", p.channels,
         " but the model takes ", out.config.in_channels, "-channel input");
  if (p.crop != 0 && p.crop != out.config.input_size)
    fail(ErrorCode::kData, file, ": checkpoint metadata 'preprocess.crop' is ", p.crop,
         " but the model's input_size is ", out.config.input_size);
  out.preprocess_stored = true;
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
  if (!meta.contains(key)) fail(ErrorCode::kData, file, ": checkpoint metadata lacks '", key, "'");
  if (meta[key] != nlohmann::json(actual))
    fail(ErrorCode::kData, file, ": checkpoint metadata '", key, "' is ", meta[key].dump(),
         " but its model config builds ", nlohmann::json(actual).dump());
}

}  // namespace

void save_checkpoint(const std::filesystem::path& path, MultiExitNetImpl& net,
                     const ModelConfig& cfg, const nlohmann::json& extra_json,
                     const data::Preprocess* preprocess) {
  ISPLITEE_CHECK(cfg.arch == net.config().arch && cfg.num_classes == net.config().num_classes,
                 "save_checkpoint: the config (", cfg.arch, ", ", cfg.num_classes,
                 " classes) does not describe the network (", net.config().arch, ", ",
                 net.config().num_classes, " classes)");
  torch::serialize::OutputArchive ar;
  net.save(ar);
  ar.write(kMetadataKey, c10::IValue(metadata_of(net, cfg, extra_json, preprocess).dump()));
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

ModelConfig parse_checkpoint_metadata(const std::string& text, const std::string& file,
                                      nlohmann::json& metadata) {
  try {
    metadata = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kData, file, ": malformed checkpoint metadata: ", e.what());
  }
  const auto& meta = metadata;
  // Compared as JSON values: a field of another type is a mismatch, not a type error.
  if (!meta.is_object() || !meta.contains("format") || meta["format"] != "isplitee-checkpoint")
    fail(ErrorCode::kData, file, ": metadata 'format' is not \"isplitee-checkpoint\"");
  if (!meta.contains("format_version") || meta["format_version"] != kCheckpointFormatVersion)
    fail(ErrorCode::kData, file, ": metadata 'format_version' is ",
         meta.contains("format_version") ? meta["format_version"].dump() : "missing",
         ", this isplitee reads version ", kCheckpointFormatVersion);
  if (!meta.contains("model") || !meta["model"].is_object())
    fail(ErrorCode::kData, file, ": checkpoint metadata lacks the 'model' config");
  ModelConfig cfg;
  try {
    cfg = parse_model_config(config::Node(meta["model"], file, "metadata.model"));
  } catch (const Error& e) {
    fail(ErrorCode::kData, e.what());
  }
  cfg.pretrained.clear();  // the weights come from the checkpoint, not a torchvision export
  expect_field(meta, "arch", cfg.arch, file);
  expect_field(meta, "head", cfg.head, file);
  expect_field(meta, "num_classes", cfg.num_classes, file);
  expect_field(meta, "input_size", cfg.input_size, file);
  expect_field(meta, "in_channels", cfg.in_channels, file);
  return cfg;
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
    fail(ErrorCode::kData, file,
         ": no isplitee metadata (not written by isplitee save_checkpoint?)");
  LoadedCheckpoint out;
  out.config = parse_checkpoint_metadata(mv.toStringRef(), file, out.metadata);
  const auto& meta = out.metadata;
  out.net = MultiExitNet(out.config);
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
  read_preprocess(out, file);
  out.net->eval();
  return out;
}

LoadedCheckpoint load_checkpoint(const std::filesystem::path& path, const ModelConfig& expected) {
  LoadedCheckpoint ck = load_checkpoint(path);
  auto have = to_json(ck.config), want = to_json(expected);
  // Which weights a model started from and its training-only dropout do not change what it
  // computes.
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
