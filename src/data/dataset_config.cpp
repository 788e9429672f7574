// The "data" config section (no image code).
#include "isplitee/data/dataset_config.hpp"

#include <limits>

namespace isplitee::data {

const std::vector<std::string>& dataset_names() {
  static const std::vector<std::string> n{"fashion-mnist", "mnist",      "cifar10",
                                          "cifar100",      "caltech256", "folder"};
  return n;
}

std::string default_root(const std::string& name) {
  if (name == "fashion-mnist") return "/usr/share/datasets/fashion-mnist";
  return "data/" + name;
}

Preprocess parse_preprocess(const config::Node& node) {
  Preprocess p;
  p.resize = static_cast<int>(node.integer("resize", 0, 0, 8192));
  p.crop = static_cast<int>(node.integer("crop", 0, 0, 8192));
  p.channels = static_cast<int>(node.integer("channels", 0, 0, 3));
  if (p.channels == 2) node.fail("channels", "must be 0 (keep), 1 or 3 (got 2)");
  p.mean = node.numbers("mean", {0.0}, -10, 10);
  p.std = node.numbers("std", {1.0}, 1e-6, 1e6);
  if (p.mean.size() != 1 && p.mean.size() != 3) node.fail("mean", "needs 1 or 3 values");
  if (p.std.size() != 1 && p.std.size() != 3) node.fail("std", "needs 1 or 3 values");
  node.finish();
  return p;
}

nlohmann::json to_json(const Preprocess& p) {
  return nlohmann::json{{"resize", p.resize},
                        {"crop", p.crop},
                        {"channels", p.channels},
                        {"mean", p.mean},
                        {"std", p.std}};
}

DatasetConfig parse_dataset_config(const config::Node& node) {
  DatasetConfig c;
  c.name = node.choice("name", c.name, dataset_names());
  c.root = node.string("root", "");
  c.val_fraction = node.number("val_fraction", c.val_fraction, 0.0, 0.9);
  c.test_fraction = node.number("test_fraction", c.test_fraction, 0.0, 0.9);
  c.split_seed = static_cast<std::uint64_t>(
      node.integer("split_seed", 0, 0, std::numeric_limits<std::int64_t>::max()));
  c.index_dir = node.string("index_dir", "");
  c.on_bad_image = node.choice("on_bad_image", c.on_bad_image, {"error", "skip"});
  c.max_per_split = node.integer("max_per_split", 0, 0, std::numeric_limits<std::int64_t>::max());
  c.preprocess = parse_preprocess(node.object("preprocess"));
  if (c.name == "folder" && c.root.empty())
    node.fail("root", "is required for the 'folder' dataset");
  node.finish();
  return c;
}

nlohmann::json to_json(const DatasetConfig& c) {
  return nlohmann::json{{"name", c.name},
                        {"root", c.root},
                        {"val_fraction", c.val_fraction},
                        {"test_fraction", c.test_fraction},
                        {"split_seed", c.split_seed},
                        {"index_dir", c.index_dir},
                        {"on_bad_image", c.on_bad_image},
                        {"max_per_split", c.max_per_split},
                        {"preprocess", to_json(c.preprocess)}};
}

}  // namespace isplitee::data
