#pragma once
/// \file Readers for the real on-disk dataset formats. Each throws Error(kData) naming the file
/// (and byte offset where it applies) for malformed input, and Error(kIo) when a file cannot be
/// read.

#include <filesystem>
#include <memory>
#include <string>

#include "isplitee/data/dataset.hpp"

namespace isplitee::data {

/// What to do with an unreadable image in a folder dataset.
enum class BadImagePolicy {
  kError,  ///< throw Error(kData) naming the file
  kSkip,   ///< skip it and log one warning with the count of skipped files
};

/// CIFAR-10 binary batches in `dir` (data_batch_1..5.bin for train, test_batch.bin for test):
/// records of 1 label byte + 3072 bytes (R plane, G plane, B plane, 32×32 each).
/// Sample ids: train 0..49999, test 50000..59999 (file order).
std::shared_ptr<Dataset> read_cifar10(const std::filesystem::path& dir, bool train);

/// CIFAR-100 binary (`train.bin`, `test.bin`): records of coarse label, fine label, 3072 bytes.
/// Labels are the 100 fine classes; ids: train 0..49999, test 50000..59999.
std::shared_ptr<Dataset> read_cifar100(const std::filesystem::path& dir, bool train);

/// MNIST / Fashion-MNIST IDX files (gzip or plain, magic 2051 images / 2049 labels) under `dir`
/// (train-images-idx3-ubyte[.gz] etc.). `fashion` selects Fashion-MNIST class names.
/// Sample ids: train 0..59999, test 60000..69999.
std::shared_ptr<Dataset> read_idx_dataset(const std::filesystem::path& dir, bool train,
                                          bool fashion);

/// Caltech-256: `dir`/256_ObjectCategories/NNN.name/*.jpg (or `dir` itself holding the NNN.name
/// folders), 257 classes including 257.clutter. Images are decoded lazily on image(i); listing
/// validates only names. Sample ids: position in the sorted file list.
std::shared_ptr<Dataset> read_caltech256(const std::filesystem::path& dir, BadImagePolicy on_bad);

/// A generic image folder: one sub-folder per class (sorted by name), image files inside
/// (.jpg .jpeg .png .bmp .ppm .pgm .tif .tiff .webp). Non-image files and corrupt images (bad
/// signature, JPEG without end marker) follow `on_bad`, checked cheaply when the dataset is opened;
/// an image that still fails to decode later throws Error(kData) naming the file.
std::shared_ptr<Dataset> read_image_folder(const std::filesystem::path& dir, BadImagePolicy on_bad,
                                           bool grayscale = false);

/// Decompresses a gzip file (or returns a plain file's bytes unchanged when it has no gzip magic).
std::string read_maybe_gzip(const std::filesystem::path& path);

}  // namespace isplitee::data
