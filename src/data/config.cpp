// Dataset dispatch and reproducible train/val/test splits.
#include "isplitee/data/config.hpp"

#include <algorithm>
#include <filesystem>
#include <sstream>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/common/rng.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/data/readers.hpp"

namespace fs = std::filesystem;

namespace isplitee::data {
namespace {

bool has_official_test(const std::string& name) { return name != "caltech256" && name != "folder"; }

BadImagePolicy bad_policy(const DatasetConfig& cfg) {
  return cfg.on_bad_image == "skip" ? BadImagePolicy::kSkip : BadImagePolicy::kError;
}

std::string split_header(const DatasetConfig& cfg, std::size_t n) {
  std::ostringstream os;
  os << "# isplitee split: dataset=" << cfg.name << " samples=" << n
     << " val_fraction=" << format_number(cfg.val_fraction)
     << " test_fraction=" << format_number(cfg.test_fraction) << " split_seed=" << cfg.split_seed
     << " max_per_split=" << cfg.max_per_split;
  return os.str();
}

// Reads an index file written by write_index; checks that it was made with the same settings.
std::vector<std::size_t> read_index(const fs::path& path, const std::string& header,
                                    std::size_t n) {
  const std::string text = read_text_file(path);
  std::istringstream in(text);
  std::string first;
  std::getline(in, first);
  ISPLITEE_CHECK_CODE(first == header, ErrorCode::kData, path.string(),
                      ": split index was made with other settings (line 1 is '", first,
                      "', expected '", header, "'); delete it or use another data.index_dir");
  std::vector<std::size_t> idx;
  std::size_t line_no = 1;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.empty()) continue;
    std::size_t pos = 0;
    unsigned long long v = 0;
    try {
      v = std::stoull(line, &pos);
    } catch (const std::exception&) {
      pos = 0;
    }
    ISPLITEE_CHECK_CODE(pos == line.size() && v < n, ErrorCode::kData, path.string(), ": line ",
                        line_no, ": '", line, "' is not an index in 0..", n - 1);
    idx.push_back(static_cast<std::size_t>(v));
  }
  return idx;
}

}  // namespace

std::shared_ptr<Dataset> open_dataset(const DatasetConfig& cfg, bool train) {
  const fs::path root = cfg.root.empty() ? fs::path(default_root(cfg.name)) : fs::path(cfg.root);
  if (cfg.name == "fashion-mnist") return read_idx_dataset(root, train, true);
  if (cfg.name == "mnist") return read_idx_dataset(root, train, false);
  if (cfg.name == "cifar10") return read_cifar10(root, train);
  if (cfg.name == "cifar100") return read_cifar100(root, train);
  if (cfg.name == "caltech256") return read_caltech256(root, bad_policy(cfg));
  if (cfg.name == "folder") return read_image_folder(root, bad_policy(cfg));
  fail(ErrorCode::kUsage, "data.name: unknown dataset '", cfg.name,
       "' (valid: ", join(dataset_names(), ", "), ")");
}

std::vector<std::size_t> split_indices(std::size_t n, const std::string& split, double val_fraction,
                                       double test_fraction, bool official_test,
                                       std::uint64_t seed) {
  ISPLITEE_CHECK(split == "train" || split == "val" || split == "test", "split '", split,
                 "' is not one of train, val, test");
  std::vector<std::size_t> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = i;
  if (official_test && split == "test") return all;
  Rng rng(seed, {0x73706c6974ULL});  // "split"
  rng.shuffle(all.begin(), all.end());
  std::size_t begin = 0;
  if (!official_test) {
    const auto n_test = static_cast<std::size_t>(static_cast<double>(n) * test_fraction);
    if (split == "test") return {all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n_test)};
    begin = n_test;
  }
  const auto n_val = static_cast<std::size_t>(static_cast<double>(n - begin) * val_fraction);
  if (split == "val")
    return {all.begin() + static_cast<std::ptrdiff_t>(begin),
            all.begin() + static_cast<std::ptrdiff_t>(begin + n_val)};
  return {all.begin() + static_cast<std::ptrdiff_t>(begin + n_val), all.end()};
}

std::shared_ptr<Dataset> open_split(const DatasetConfig& cfg, const std::string& split) {
  ISPLITEE_CHECK(split == "train" || split == "val" || split == "test", "split '", split,
                 "' is not one of train, val, test");
  const bool official = has_official_test(cfg.name);
  const bool from_train = !(official && split == "test");
  std::shared_ptr<const Dataset> base = open_dataset(cfg, from_train);
  const std::size_t n = base->size();
  std::vector<std::size_t> idx;
  fs::path index_path;
  const std::string header = split_header(cfg, n);
  if (!cfg.index_dir.empty()) {
    index_path = fs::path(cfg.index_dir) /
                 (cfg.name + "-seed" + std::to_string(cfg.split_seed) + "-" + split + ".idx");
    if (fs::exists(index_path)) idx = read_index(index_path, header, n);
  }
  if (idx.empty()) {
    idx = split_indices(n, split, cfg.val_fraction, cfg.test_fraction, official, cfg.split_seed);
    if (cfg.max_per_split > 0 && idx.size() > static_cast<std::size_t>(cfg.max_per_split))
      idx.resize(static_cast<std::size_t>(cfg.max_per_split));
    if (!index_path.empty()) {
      std::ostringstream os;
      os << header << "\n";
      for (auto i : idx) os << i << "\n";
      write_text_atomic(index_path, os.str());
    }
  }
  ISPLITEE_CHECK_CODE(!idx.empty(), ErrorCode::kData, cfg.name, ": split '", split, "' is empty (",
                      n, " samples, val_fraction ", cfg.val_fraction, ", test_fraction ",
                      cfg.test_fraction, ")");
  return std::make_shared<Subset>(base, std::move(idx), cfg.name + "/" + split);
}

}  // namespace isplitee::data
