#pragma once
/// \file The "data" section of an experiment config and the split logic (train/val/test).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "isplitee/config/node.hpp"
#include "isplitee/data/dataset.hpp"

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

/// Opens the whole official split ("train" or "test") of a dataset, before val/test splitting.
/// For datasets without an official test split, "train" returns everything.
std::shared_ptr<Dataset> open_dataset(const DatasetConfig& cfg, bool train);

/// Opens "train", "val" or "test". Official test splits are used as-is; val is a seeded
/// val_fraction of the official train split; datasets without a test split (caltech256, folder)
/// first hold out test_fraction. When index_dir is set, `<index_dir>/<name>-<split>.idx` (one base
/// index per line) is written on first use and read back afterwards, so any run can be reproduced
/// exactly. A missing dataset gives one line naming what to download and the script that does it.
std::shared_ptr<Dataset> open_split(const DatasetConfig& cfg, const std::string& split);

/// The base-dataset positions of `split` for a dataset of `n` samples (deterministic in the seed).
std::vector<std::size_t> split_indices(std::size_t n, const std::string& split, double val_fraction,
                                       double test_fraction, bool has_official_test,
                                       std::uint64_t seed);

}  // namespace isplitee::data
