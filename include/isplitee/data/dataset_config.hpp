#pragma once
/// \file The "data" section of an experiment config: which dataset, where, how split and
/// preprocessed. No image code, so configs parse in a build without vision.

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"

namespace isplitee::data {

/// Image preprocessing before the network: resize, center crop, channel conversion, normalization.
struct Preprocess {
  int resize = 0;                 ///< resize so the shorter side is this (0 = keep)
  int crop = 0;                   ///< center crop to crop×crop after resizing (0 = no crop)
  int channels = 0;               ///< 1 or 3 converts gray↔RGB; 0 keeps the dataset's channels
  std::vector<double> mean{0.0};  ///< per-channel mean on [0,1] (one value broadcasts)
  std::vector<double> std{1.0};   ///< per-channel std on [0,1] (one value broadcasts)
};

/// The dataset section: which data, where, how split, how preprocessed.
struct DatasetConfig {
  std::string name =
      "fashion-mnist";         ///< fashion-mnist | mnist | cifar10 | cifar100 | caltech256 | folder
  std::string root;            ///< data directory ("" = the dataset's default location)
  double val_fraction = 0.1;   ///< fraction of the train split held out for validation
  double test_fraction = 0.1;  ///< test fraction for datasets without an official test split
  std::uint64_t split_seed = 0;        ///< seed of the split permutation
  std::string index_dir;               ///< where split index files are written/read ("" = nowhere)
  std::string on_bad_image = "error";  ///< error | skip
  std::int64_t max_per_split = 0;      ///< keep only the first N samples of each split (0 = all)
  Preprocess preprocess;               ///< preprocessing for to_tensor
};

/// Parses the "data" section (strict: unknown keys are errors; calls finish()).
DatasetConfig parse_dataset_config(const config::Node& node);
/// Every field with defaults filled; re-parses to the same values.
nlohmann::json to_json(const DatasetConfig& cfg);
/// Parses a "preprocess" object (strict).
Preprocess parse_preprocess(const config::Node& node);
/// Every field of a Preprocess.
nlohmann::json to_json(const Preprocess& p);

/// The dataset names this build can read.
const std::vector<std::string>& dataset_names();
/// The default root of `name` (Fashion-MNIST: /usr/share/datasets/fashion-mnist from Debian's
/// dataset-fashion-mnist package; others: data/<name>).
std::string default_root(const std::string& name);

}  // namespace isplitee::data
