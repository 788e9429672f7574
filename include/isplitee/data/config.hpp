#pragma once
/// \file Opening datasets and the split logic (train/val/test). The "data" config section itself
/// is in dataset_config.hpp (no image code).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "isplitee/data/dataset.hpp"
#include "isplitee/data/dataset_config.hpp"

namespace isplitee::data {

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
