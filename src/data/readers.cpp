// Readers for the real dataset formats (CIFAR binary, IDX, Caltech-256 folders, image folders).
#include "isplitee/data/readers.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <mutex>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"

namespace fs = std::filesystem;

namespace isplitee::data {
namespace {

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  ISPLITEE_CHECK_CODE(in.good(), ErrorCode::kIo, path.string(), ": cannot open for reading");
  std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ISPLITEE_CHECK_CODE(!in.bad(), ErrorCode::kIo, path.string(), ": read error");
  return s;
}

std::string gunzip(const std::string& in, const fs::path& path) {
  z_stream s{};
  ISPLITEE_CHECK_CODE(inflateInit2(&s, 16 + MAX_WBITS) == Z_OK, ErrorCode::kInternal,
                      "zlib inflateInit2 failed");
  std::string out;
  out.reserve(in.size() * 4);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  char buf[1 << 16];
  int ret = Z_OK;
  while (true) {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof(buf);
    ret = inflate(&s, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - s.avail_out);
    if (ret == Z_STREAM_END) {
      if (s.avail_in == 0) break;
      inflateReset(&s);  // concatenated gzip members
      continue;
    }
    if (ret != Z_OK) break;
    if (s.avail_in == 0 && s.avail_out != 0) break;
  }
  const auto consumed = static_cast<std::size_t>(s.total_in);
  inflateEnd(&s);
  ISPLITEE_CHECK_CODE(ret == Z_STREAM_END, ErrorCode::kData, path.string(),
                      ": corrupt or truncated gzip data near compressed byte offset ", consumed,
                      " (", out.size(), " bytes decompressed)");
  return out;
}

// ---------------------------------------------------------------- in-memory uint8 datasets

/// Images held in memory as planar (CIFAR) or row-major gray (IDX) bytes.
class MemoryDataset final : public Dataset {
 public:
  MemoryDataset(std::string name, std::vector<std::string> classes, int rows, int cols,
                int channels, bool planar, std::string pixels, std::vector<std::int64_t> labels,
                std::int64_t id_offset)
      : name_(std::move(name)),
        classes_(std::move(classes)),
        rows_(rows),
        cols_(cols),
        channels_(channels),
        planar_(planar),
        pixels_(std::move(pixels)),
        labels_(std::move(labels)),
        id_offset_(id_offset) {}

  std::size_t size() const override { return labels_.size(); }
  cv::Mat image(std::size_t i) const override {
    ISPLITEE_CHECK(i < size(), name_, ": index ", i, " outside 0..", size() - 1);
    const std::size_t n = static_cast<std::size_t>(rows_) * cols_;
    const auto* p = reinterpret_cast<const std::uint8_t*>(pixels_.data()) + i * n * channels_;
    if (channels_ == 1) return cv::Mat(rows_, cols_, CV_8UC1, const_cast<std::uint8_t*>(p)).clone();
    cv::Mat out(rows_, cols_, CV_8UC3);
    for (std::size_t k = 0; k < n; ++k)
      for (int c = 0; c < 3; ++c) out.data[k * 3 + c] = planar_ ? p[c * n + k] : p[k * 3 + c];
    return out;
  }
  std::int64_t label(std::size_t i) const override { return labels_.at(i); }
  std::int64_t sample_id(std::size_t i) const override {
    return id_offset_ + static_cast<std::int64_t>(i);
  }
  const std::vector<std::string>& class_names() const override { return classes_; }
  int channels() const override { return channels_; }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  std::vector<std::string> classes_;
  int rows_, cols_, channels_;
  bool planar_;
  std::string pixels_;
  std::vector<std::int64_t> labels_;
  std::int64_t id_offset_;
};

const std::vector<std::string> kCifar10Classes{"airplane", "automobile", "bird",  "cat",  "deer",
                                               "dog",      "frog",       "horse", "ship", "truck"};
const std::vector<std::string> kFashionClasses{"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                               "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                               "Bag",         "Ankle boot"};
const std::vector<std::string> kCifar100Classes{
    "apple",       "aquarium_fish", "baby",      "bear",       "beaver",       "bed",
    "bee",         "beetle",        "bicycle",   "bottle",     "bowl",         "boy",
    "bridge",      "bus",           "butterfly", "camel",      "can",          "castle",
    "caterpillar", "cattle",        "chair",     "chimpanzee", "clock",        "cloud",
    "cockroach",   "couch",         "crab",      "crocodile",  "cup",          "dinosaur",
    "dolphin",     "elephant",      "flatfish",  "forest",     "fox",          "girl",
    "hamster",     "house",         "kangaroo",  "keyboard",   "lamp",         "lawn_mower",
    "leopard",     "lion",          "lizard",    "lobster",    "man",          "maple_tree",
    "motorcycle",  "mountain",      "mouse",     "mushroom",   "oak_tree",     "orange",
    "orchid",      "otter",         "palm_tree", "pear",       "pickup_truck", "pine_tree",
    "plain",       "plate",         "poppy",     "porcupine",  "possum",       "rabbit",
    "raccoon",     "ray",           "road",      "rocket",     "rose",         "sea",
    "seal",        "shark",         "shrew",     "skunk",      "skyscraper",   "snail",
    "snake",       "spider",        "squirrel",  "streetcar",  "sunflower",    "sweet_pepper",
    "table",       "tank",          "telephone", "television", "tiger",        "tractor",
    "train",       "trout",         "tulip",     "turtle",     "wardrobe",     "whale",
    "willow_tree", "wolf",          "woman",     "worm"};

std::vector<std::string> read_names_file(const fs::path& p, const std::vector<std::string>& def) {
  if (!fs::exists(p)) return def;
  std::vector<std::string> names;
  std::istringstream in(read_bytes(p));
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  return names.size() == def.size() ? names : def;
}

// Reads CIFAR records (label bytes + 3072 pixel bytes) from `files` into one dataset.
std::shared_ptr<Dataset> read_cifar_files(const std::string& name,
                                          const std::vector<fs::path>& files, int label_bytes,
                                          int label_index, int num_classes,
                                          std::vector<std::string> classes,
                                          std::int64_t id_offset) {
  const std::size_t rec = static_cast<std::size_t>(label_bytes) + 3072;
  std::string pixels;
  std::vector<std::int64_t> labels;
  for (const auto& f : files) {
    const std::string bytes = read_bytes(f);
    ISPLITEE_CHECK_CODE(!bytes.empty(), ErrorCode::kData, f.string(), ": empty file");
    if (bytes.size() % rec != 0) {
      const std::size_t full = bytes.size() / rec;
      fail(ErrorCode::kData, f.string(), ": truncated CIFAR file: ", bytes.size(),
           " bytes is not a multiple of the ", rec, "-byte record; record ", full,
           " starting at byte offset ", full * rec, " is incomplete");
    }
    const std::size_t n = bytes.size() / rec;
    pixels.reserve(pixels.size() + n * 3072);
    for (std::size_t r = 0; r < n; ++r) {
      const auto lab =
          static_cast<std::uint8_t>(bytes[r * rec + static_cast<std::size_t>(label_index)]);
      ISPLITEE_CHECK_CODE(lab < num_classes, ErrorCode::kData, f.string(), ": record ", r,
                          " (byte offset ", r * rec + static_cast<std::size_t>(label_index),
                          ") has label ", int(lab), ", valid 0..", num_classes - 1);
      labels.push_back(lab);
      pixels.append(bytes, r * rec + static_cast<std::size_t>(label_bytes), 3072);
    }
  }
  return std::make_shared<MemoryDataset>(name, std::move(classes), 32, 32, 3, /*planar=*/true,
                                         std::move(pixels), std::move(labels), id_offset);
}

fs::path find_with_file(const fs::path& dir, const std::vector<std::string>& subdirs,
                        const std::string& file) {
  if (fs::exists(dir / file)) return dir;
  for (const auto& s : subdirs)
    if (fs::exists(dir / s / file)) return dir / s;
  return {};
}

std::uint32_t be32(const std::string& b, std::size_t off) {
  return (static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[off])) << 24) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[off + 1])) << 16) |
         (static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[off + 2])) << 8) |
         static_cast<std::uint32_t>(static_cast<std::uint8_t>(b[off + 3]));
}

// Parses an IDX file: returns dims, checks magic and total size; payload starts at the returned
// offset.
std::vector<std::uint32_t> parse_idx(const std::string& b, const fs::path& path,
                                     std::uint32_t magic, std::size_t& offset) {
  ISPLITEE_CHECK_CODE(b.size() >= 4, ErrorCode::kData, path.string(), ": ", b.size(),
                      " bytes, too short for an IDX header");
  const std::uint32_t m = be32(b, 0);
  ISPLITEE_CHECK_CODE(m == magic, ErrorCode::kData, path.string(), ": wrong IDX magic number ", m,
                      " at byte offset 0 (expected ", magic,
                      magic == 2051 ? " for an image file)" : " for a label file)");
  const std::size_t ndims = magic & 0xff;
  ISPLITEE_CHECK_CODE(b.size() >= 4 + 4 * ndims, ErrorCode::kData, path.string(),
                      ": truncated IDX header");
  std::vector<std::uint32_t> dims;
  std::size_t total = 1;
  for (std::size_t d = 0; d < ndims; ++d) {
    dims.push_back(be32(b, 4 + 4 * d));
    total *= dims.back();
  }
  offset = 4 + 4 * ndims;
  ISPLITEE_CHECK_CODE(b.size() == offset + total, ErrorCode::kData, path.string(),
                      ": header promises ", dims[0], " items (", offset + total,
                      " bytes) but the file has ", b.size(), " bytes; data ends at byte offset ",
                      b.size());
  return dims;
}

fs::path idx_file(const fs::path& dir, const std::string& stem) {
  for (const std::string& name :
       {stem + ".gz", stem, [&] {
          std::string s = stem;  // MNIST mirrors sometimes use "train-images.idx3-ubyte"
          const auto p = s.find("-idx");
          if (p != std::string::npos) s[p] = '.';
          return s;
        }()})
    if (fs::exists(dir / name)) return dir / name;
  return {};
}

bool ends_with_ci(std::string s, const std::string& suffix) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_image_name(const fs::path& p) {
  for (const char* e : {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff", ".webp"})
    if (ends_with_ci(p.filename().string(), e)) return true;
  return false;
}

// Cheap validation at open time (no full decode): OpenCV recognises the signature; a JPEG also has
// an end-of-image marker near its end (a truncated download lacks it). Returns "" when fine.
std::string check_image_file(const fs::path& p) {
  if (!is_image_name(p)) return "not an image file (unknown extension)";
  std::error_code ec;
  const auto size = fs::file_size(p, ec);
  if (ec || size < 4) return "empty or unreadable file";
  if (!cv::haveImageReader(p.string())) return "not a decodable image (unknown signature)";
  if (ends_with_ci(p.filename().string(), ".jpg") || ends_with_ci(p.filename().string(), ".jpeg")) {
    std::ifstream in(p, std::ios::binary);
    const std::size_t tail = std::min<std::size_t>(size, 256);
    in.seekg(static_cast<std::streamoff>(size - tail));
    std::string t(tail, '\0');
    in.read(t.data(), static_cast<std::streamsize>(tail));
    if (t.find("\xFF\xD9") == std::string::npos) return "truncated JPEG (no end-of-image marker)";
  }
  return "";
}

/// Files decoded on demand (Caltech-256, image folders).
class FileDataset final : public Dataset {
 public:
  FileDataset(std::string name, std::vector<std::string> classes, std::vector<fs::path> files,
              std::vector<std::int64_t> labels, std::vector<std::int64_t> ids, bool gray)
      : name_(std::move(name)),
        classes_(std::move(classes)),
        files_(std::move(files)),
        labels_(std::move(labels)),
        ids_(std::move(ids)),
        gray_(gray) {}
  std::size_t size() const override { return files_.size(); }
  cv::Mat image(std::size_t i) const override {
    const fs::path& p = files_.at(i);
    cv::Mat m = cv::imread(p.string(), gray_ ? cv::IMREAD_GRAYSCALE : cv::IMREAD_COLOR);
    ISPLITEE_CHECK_CODE(!m.empty(), ErrorCode::kData, p.string(),
                        ": corrupt or unreadable image (sample ", i, " of ", name_, ")");
    if (!gray_) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
    return m;
  }
  std::int64_t label(std::size_t i) const override { return labels_.at(i); }
  std::int64_t sample_id(std::size_t i) const override { return ids_.at(i); }
  const std::vector<std::string>& class_names() const override { return classes_; }
  int channels() const override { return gray_ ? 1 : 3; }
  std::string name() const override { return name_; }

 private:
  std::string name_;
  std::vector<std::string> classes_;
  std::vector<fs::path> files_;
  std::vector<std::int64_t> labels_, ids_;
  bool gray_;
};

std::vector<fs::path> sorted_entries(const fs::path& dir, bool directories) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (directories ? e.is_directory() : !e.is_directory()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Lists class folders and their files; bad files throw or are skipped per policy.
std::shared_ptr<Dataset> read_class_folders(const std::string& name, const fs::path& dir,
                                            const std::vector<fs::path>& class_dirs,
                                            std::vector<std::string> classes, BadImagePolicy on_bad,
                                            bool gray) {
  std::vector<fs::path> files;
  std::vector<std::int64_t> labels, ids;
  std::int64_t id = 0;
  std::size_t skipped = 0;
  std::string first_bad;
  for (std::size_t c = 0; c < class_dirs.size(); ++c) {
    for (const auto& f : sorted_entries(class_dirs[c], /*directories=*/false)) {
      const std::int64_t this_id = id++;
      const std::string why = check_image_file(f);
      if (!why.empty()) {
        if (on_bad == BadImagePolicy::kError)
          fail(ErrorCode::kData, f.string(), ": ", why,
               " (set data.on_bad_image: skip to skip such files)");
        if (first_bad.empty()) first_bad = f.string() + " (" + why + ")";
        ++skipped;
        continue;
      }
      files.push_back(f);
      labels.push_back(static_cast<std::int64_t>(c));
      ids.push_back(this_id);
    }
  }
  if (skipped > 0)
    logger()->warn("{}: skipped {} bad file(s) under {} (first: {})", name, skipped, dir.string(),
                   first_bad);
  ISPLITEE_CHECK_CODE(!files.empty(), ErrorCode::kData, dir.string(), ": no readable images found");
  return std::make_shared<FileDataset>(name, std::move(classes), std::move(files),
                                       std::move(labels), std::move(ids), gray);
}

}  // namespace

std::string read_maybe_gzip(const fs::path& path) {
  std::string b = read_bytes(path);
  if (b.size() >= 2 && static_cast<std::uint8_t>(b[0]) == 0x1f &&
      static_cast<std::uint8_t>(b[1]) == 0x8b)
    return gunzip(b, path);
  return b;
}

std::shared_ptr<Dataset> read_cifar10(const fs::path& dir, bool train) {
  const fs::path base =
      find_with_file(dir, {"cifar-10-batches-bin"}, train ? "data_batch_1.bin" : "test_batch.bin");
  ISPLITEE_CHECK_CODE(!base.empty(), ErrorCode::kIo, "cifar10: no CIFAR-10 binary batches in '",
                      dir.string(),
                      "' (need data_batch_1..5.bin and test_batch.bin); download them with "
                      "scripts/download-cifar10.sh ",
                      dir.string(), " or set data.root");
  std::vector<fs::path> files;
  if (train) {
    for (int i = 1; i <= 5; ++i) {
      const fs::path f = base / ("data_batch_" + std::to_string(i) + ".bin");
      ISPLITEE_CHECK_CODE(fs::exists(f), ErrorCode::kIo, f.string(),
                          ": missing CIFAR-10 batch (need data_batch_1..5.bin; "
                          "run scripts/download-cifar10.sh)");
      files.push_back(f);
    }
  } else {
    files.push_back(base / "test_batch.bin");
  }
  auto classes = read_names_file(base / "batches.meta.txt", kCifar10Classes);
  return read_cifar_files(train ? "cifar10/train" : "cifar10/test", files, 1, 0, 10,
                          std::move(classes), train ? 0 : 50000);
}

std::shared_ptr<Dataset> read_cifar100(const fs::path& dir, bool train) {
  const std::string file = train ? "train.bin" : "test.bin";
  const fs::path base = find_with_file(dir, {"cifar-100-binary"}, file);
  ISPLITEE_CHECK_CODE(!base.empty(), ErrorCode::kIo, "cifar100: no CIFAR-100 binary files in '",
                      dir.string(),
                      "' (need train.bin and test.bin from cifar-100-binary.tar.gz, "
                      "https://www.cs.toronto.edu/~kriz/cifar.html) or set data.root");
  auto classes = read_names_file(base / "fine_label_names.txt", kCifar100Classes);
  return read_cifar_files(train ? "cifar100/train" : "cifar100/test", {base / file}, 2, 1, 100,
                          std::move(classes), train ? 0 : 50000);
}

std::shared_ptr<Dataset> read_idx_dataset(const fs::path& dir, bool train, bool fashion) {
  const std::string which = train ? "train" : "t10k";
  const std::string ds = fashion ? "fashion-mnist" : "mnist";
  const fs::path img = idx_file(dir, which + "-images-idx3-ubyte");
  const fs::path lab = idx_file(dir, which + "-labels-idx1-ubyte");
  ISPLITEE_CHECK_CODE(!img.empty() && !lab.empty(), ErrorCode::kIo, ds, ": no IDX files ", which,
                      "-images-idx3-ubyte[.gz] / ", which, "-labels-idx1-ubyte[.gz] in '",
                      dir.string(), "'; ",
                      fashion ? "install the Debian package dataset-fashion-mnist (files in "
                                "/usr/share/datasets/fashion-mnist) or set data.root"
                              : "download MNIST's four IDX files there or set data.root");
  const std::string ib = read_maybe_gzip(img), lb = read_maybe_gzip(lab);
  std::size_t ioff = 0, loff = 0;
  const auto idims = parse_idx(ib, img, 2051, ioff);
  const auto ldims = parse_idx(lb, lab, 2049, loff);
  ISPLITEE_CHECK_CODE(idims[0] == ldims[0], ErrorCode::kData, img.string(), ": ", idims[0],
                      " images but ", lab.string(), " has ", ldims[0], " labels");
  std::vector<std::int64_t> labels(ldims[0]);
  for (std::size_t i = 0; i < labels.size(); ++i) {
    const auto l = static_cast<std::uint8_t>(lb[loff + i]);
    ISPLITEE_CHECK_CODE(l < 10, ErrorCode::kData, lab.string(), ": label ", int(l),
                        " at byte offset ", loff + i, " is outside 0..9");
    labels[i] = l;
  }
  return std::make_shared<MemoryDataset>(ds + (train ? "/train" : "/test"), fashion ? kFashionClasses : [] {
    std::vector<std::string> d;
    for (int i = 0; i < 10; ++i) d.push_back(std::to_string(i));
    return d;
  }(), static_cast<int>(idims[1]), static_cast<int>(idims[2]), 1, false, ib.substr(ioff), std::move(labels),
                                         train ? 0 : 60000);
}

std::shared_ptr<Dataset> read_caltech256(const fs::path& dir, BadImagePolicy on_bad) {
  fs::path base = dir / "256_ObjectCategories";
  if (!fs::is_directory(base)) base = dir;
  ISPLITEE_CHECK_CODE(fs::is_directory(base), ErrorCode::kIo,
                      "caltech256: no 256_ObjectCategories folder in '", dir.string(),
                      "'; download it with scripts/download-caltech256.sh ", dir.string(),
                      " or set data.root");
  std::vector<fs::path> class_dirs;
  std::vector<std::string> classes;
  for (const auto& d : sorted_entries(base, /*directories=*/true)) {
    const std::string n = d.filename().string();
    // NNN.name, e.g. 001.ak47 … 257.clutter
    if (n.size() < 5 || n[3] != '.' || !std::isdigit(static_cast<unsigned char>(n[0])) ||
        !std::isdigit(static_cast<unsigned char>(n[1])) ||
        !std::isdigit(static_cast<unsigned char>(n[2]))) {
      fail(ErrorCode::kData, d.string(),
           ": not a Caltech-256 class folder (expected NNN.name, e.g. 001.ak47)");
    }
    class_dirs.push_back(d);
    classes.push_back(n.substr(4));
  }
  ISPLITEE_CHECK_CODE(!class_dirs.empty(), ErrorCode::kIo, "caltech256: '", base.string(),
                      "' has no NNN.name class folders; run scripts/download-caltech256.sh");
  if (class_dirs.size() != 257)
    logger()->warn("caltech256: {} has {} class folders (the full dataset has 257 incl. clutter)",
                   base.string(), class_dirs.size());
  return read_class_folders("caltech256", base, class_dirs, std::move(classes), on_bad, false);
}

std::shared_ptr<Dataset> read_image_folder(const fs::path& dir, BadImagePolicy on_bad,
                                           bool grayscale) {
  ISPLITEE_CHECK_CODE(fs::is_directory(dir), ErrorCode::kIo, "folder dataset: '", dir.string(),
                      "' is not a directory (expected one sub-folder of images per class)");
  std::vector<fs::path> class_dirs = sorted_entries(dir, /*directories=*/true);
  ISPLITEE_CHECK_CODE(!class_dirs.empty(), ErrorCode::kData, dir.string(),
                      ": no class sub-folders (expected one sub-folder of images per class)");
  std::vector<std::string> classes;
  for (const auto& d : class_dirs) classes.push_back(d.filename().string());
  return read_class_folders("folder:" + dir.filename().string(), dir, class_dirs,
                            std::move(classes), on_bad, grayscale);
}

}  // namespace isplitee::data
