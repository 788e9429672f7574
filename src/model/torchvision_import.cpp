// Loads files written by scripts/export_torchvision.py (a torch.save'd dict
// {"isplitee": JSON metadata, "state": {isplitee name: tensor}}) into a MultiExitNet.

#include <fstream>
#include <iterator>
#include <map>

#include <torch/serialize.h>

#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/model/multi_exit_net.hpp"

namespace isplitee::model {
namespace {

std::string list_text(const std::vector<std::string>& v) {
  constexpr std::size_t kShow = 8;
  std::vector<std::string> head(v.begin(),
                                v.begin() + static_cast<std::ptrdiff_t>(std::min(v.size(), kShow)));
  std::string s = join(head, ", ");
  if (v.size() > kShow) s += ", … (" + std::to_string(v.size()) + " in all)";
  return s;
}

std::string shape_str(c10::IntArrayRef s) {
  std::string out = "[";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? "," : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace

void load_torchvision_weights(MultiExitNetImpl& net, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorCode::kIo, path, ": cannot read torchvision export (model.pretrained)");
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  c10::IValue root;
  try {
    root = torch::pickle_load(bytes);
  } catch (const c10::Error& e) {
    fail(ErrorCode::kData, path,
         ": not a torch.save file (write it with scripts/export_torchvision.py): ",
         e.what_without_backtrace());
  }
  if (!root.isGenericDict())
    fail(ErrorCode::kData, path, ": expected the dict written by scripts/export_torchvision.py");
  const auto dict = root.toGenericDict();
  if (!dict.contains("isplitee") || !dict.contains("state") || !dict.at("isplitee").isString() ||
      !dict.at("state").isGenericDict())
    fail(ErrorCode::kData, path,
         ": lacks 'isplitee' metadata or 'state' (write it with "
         "scripts/export_torchvision.py)");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(dict.at("isplitee").toStringRef());
  } catch (const nlohmann::json::exception& e) {
    fail(ErrorCode::kData, path, ": malformed metadata: ", e.what());
  }
  const auto& cfg = net.config();
  const std::string arch = meta.value("arch", "");
  if (arch != cfg.arch)
    fail(ErrorCode::kData, path, ": exported arch '", arch, "' does not match model.arch '",
         cfg.arch, "'");
  if (cfg.arch == "mobilenet_v2" && meta.value("width_mult", 1.0) != cfg.width_mult)
    fail(ErrorCode::kData, path, ": exported width_mult ", meta.value("width_mult", 1.0),
         " does not match model.width_mult ", cfg.width_mult);

  std::map<std::string, torch::Tensor> file;
  for (const auto& kv : dict.at("state").toGenericDict()) {
    if (!kv.key().isString() || !kv.value().isTensor())
      fail(ErrorCode::kData, path, ": 'state' must map names to tensors");
    file[kv.key().toStringRef()] = kv.value().toTensor();
  }

  std::map<std::string, torch::Tensor> own;
  for (const auto& p : net.named_parameters()) own[p.key()] = p.value();
  for (const auto& b : net.named_buffers()) own[b.key()] = b.value();

  std::vector<std::string> missing, unexpected, mismatched, skipped_head;
  for (const auto& [name, t] : own) {
    if (name.rfind("exits.", 0) == 0) continue;  // exit heads are isplitee's own
    auto it = file.find(name);
    if (it == file.end()) {
      missing.push_back(name);
    } else if (it->second.sizes() != t.sizes()) {
      if (name.rfind("classifier.", 0) == 0)
        skipped_head.push_back(name);  // another class count: the usual fine-tuning start
      else
        mismatched.push_back(name + " " + shape_str(it->second.sizes()) + " vs model " +
                             shape_str(t.sizes()));
    }
  }
  for (const auto& [name, t] : file)
    if (!own.count(name)) unexpected.push_back(name);
  if (!missing.empty() || !unexpected.empty() || !mismatched.empty()) {
    std::string msg;
    if (!missing.empty()) msg += " missing: " + list_text(missing) + ";";
    if (!unexpected.empty()) msg += " unexpected: " + list_text(unexpected) + ";";
    if (!mismatched.empty()) msg += " shape mismatch: " + list_text(mismatched) + ";";
    fail(ErrorCode::kData, path, ": does not fit ", cfg.arch, " (in_channels ", cfg.in_channels,
         ", small_input ", cfg.small_input ? "true" : "false", "):", msg);
  }
  torch::NoGradGuard ng;
  for (auto& [name, t] : own) {
    if (name.rfind("exits.", 0) == 0) continue;
    const auto& src = file.at(name);
    if (src.sizes() != t.sizes()) continue;
    t.copy_(src.to(t.dtype()));
  }
  if (!skipped_head.empty())
    logger()->warn(
        "{}: final classifier has another class count ({} in the file, {} in the model): "
        "kept its random init",
        path, meta.value("num_classes", 0), cfg.num_classes);
  logger()->info("loaded {} ({}) into {}", path, meta.value("source", "?"), cfg.arch);
}

}  // namespace isplitee::model
