#include "isplitee/trace/npy.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>
#include <string>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"

namespace isplitee::trace {
namespace {

static_assert(sizeof(float) == 4, "float32 expected");

bool host_little_endian() {
  const std::uint16_t x = 1;
  unsigned char c;
  std::memcpy(&c, &x, 1);
  return c == 1;
}

template <typename T>
void write_impl(const std::filesystem::path& path, const std::vector<T>& data,
                const std::vector<std::size_t>& shape, const char* descr) {
  std::size_t n = 1;
  for (auto d : shape) n *= d;
  ISPLITEE_ASSERT(n == data.size(), path.string(), ": shape does not match data size");
  ISPLITEE_ASSERT(host_little_endian(), "big-endian hosts are not supported");
  std::string shp = "(";
  for (std::size_t i = 0; i < shape.size(); ++i)
    shp += std::to_string(shape[i]) + (shape.size() == 1 ? "," : i + 1 < shape.size() ? ", " : "");
  shp += ")";
  std::string header =
      std::string("{'descr': '") + descr + "', 'fortran_order': False, 'shape': " + shp + ", }";
  // Pad with spaces so that magic(6) + version(2) + len(2) + header + '\n' is a multiple of 64.
  const std::size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  write_file_atomic(
      path,
      [&](std::ostream& os) {
        os.write("\x93NUMPY", 6);
        const char ver[2] = {1, 0};
        os.write(ver, 2);
        const auto len = static_cast<std::uint16_t>(header.size());
        const char lb[2] = {static_cast<char>(len & 0xFF), static_cast<char>(len >> 8)};
        os.write(lb, 2);
        os.write(header.data(), static_cast<std::streamsize>(header.size()));
        os.write(reinterpret_cast<const char*>(data.data()),
                 static_cast<std::streamsize>(data.size() * sizeof(T)));
      },
      /*binary=*/true);
}

struct Raw {
  std::string descr;
  std::vector<std::size_t> shape;
  std::string bytes;
};

std::string field(const std::string& header, const std::string& key, const std::string& file) {
  const auto pos = header.find("'" + key + "'");
  ISPLITEE_CHECK_CODE(pos != std::string::npos, ErrorCode::kData, file, ": NPY header lacks '", key,
                      "'");
  auto colon = header.find(':', pos);
  ISPLITEE_CHECK_CODE(colon != std::string::npos, ErrorCode::kData, file, ": malformed NPY header");
  return header.substr(colon + 1);
}

Raw read_raw(const std::filesystem::path& path) {
  const std::string file = path.string();
  std::ifstream in(path, std::ios::binary);
  ISPLITEE_CHECK_CODE(in.good(), ErrorCode::kIo, file, ": cannot open");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ISPLITEE_CHECK_CODE(all.size() >= 10 && all.compare(0, 6, "\x93NUMPY") == 0, ErrorCode::kData,
                      file, ": not an NPY file (bad magic or truncated header)");
  const int major = static_cast<unsigned char>(all[6]);
  const int minor = static_cast<unsigned char>(all[7]);
  ISPLITEE_CHECK_CODE((major == 1 || major == 2) && minor == 0, ErrorCode::kData, file,
                      ": unsupported NPY version ", major, ".", minor, " (supported: 1.0, 2.0)");
  std::size_t hlen = 0, off = 0;
  if (major == 1) {
    hlen = static_cast<unsigned char>(all[8]) |
           (static_cast<std::size_t>(static_cast<unsigned char>(all[9])) << 8);
    off = 10;
  } else {
    ISPLITEE_CHECK_CODE(all.size() >= 12, ErrorCode::kData, file, ": truncated NPY header");
    for (int i = 0; i < 4; ++i)
      hlen |= static_cast<std::size_t>(static_cast<unsigned char>(all[8 + i])) << (8 * i);
    off = 12;
  }
  ISPLITEE_CHECK_CODE(all.size() >= off + hlen, ErrorCode::kData, file, ": truncated NPY header (",
                      hlen, " bytes announced, ", all.size() - off, " present)");
  const std::string header = all.substr(off, hlen);
  Raw r;
  {
    auto d = field(header, "descr", file);
    const auto q1 = d.find('\'');
    const auto q2 = d.find('\'', q1 + 1);
    ISPLITEE_CHECK_CODE(q1 != std::string::npos && q2 != std::string::npos, ErrorCode::kData, file,
                        ": malformed 'descr' in NPY header");
    r.descr = d.substr(q1 + 1, q2 - q1 - 1);
  }
  {
    auto f = field(header, "fortran_order", file);
    const auto s = f.find_first_not_of(' ');
    ISPLITEE_CHECK_CODE(s != std::string::npos && f.compare(s, 5, "False") == 0, ErrorCode::kData,
                        file, ": Fortran-order arrays are not supported (save with C order)");
  }
  {
    auto s = field(header, "shape", file);
    const auto a = s.find('('), b = s.find(')');
    ISPLITEE_CHECK_CODE(a != std::string::npos && b != std::string::npos && b > a, ErrorCode::kData,
                        file, ": malformed 'shape' in NPY header");
    std::stringstream ss(s.substr(a + 1, b - a - 1));
    std::string item;
    while (std::getline(ss, item, ',')) {
      const auto t = item.find_first_not_of(' ');
      if (t == std::string::npos) continue;
      try {
        r.shape.push_back(static_cast<std::size_t>(std::stoull(item.substr(t))));
      } catch (const std::exception&) {
        fail(ErrorCode::kData, file, ": malformed 'shape' entry '", item, "' in NPY header");
      }
    }
  }
  r.bytes = all.substr(off + hlen);
  return r;
}

std::size_t item_size(const std::string& descr) {
  return descr.size() == 3 ? static_cast<std::size_t>(descr[2] - '0') : 0;
}

template <typename Out>
std::vector<Out> convert(const Raw& r, const std::filesystem::path& path, bool floating) {
  const std::string file = path.string();
  const bool ok =
      floating ? (r.descr == "<f4" || r.descr == "<f8") : (r.descr == "<i4" || r.descr == "<i8");
  ISPLITEE_CHECK_CODE(ok, ErrorCode::kData, file, ": dtype '", r.descr,
                      "' not supported (expected ", floating ? "'<f4' float32" : "'<i4' int32",
                      ")");
  const std::size_t isz = item_size(r.descr);
  // Overflow-checked element count; the size check below then bounds every allocation by the
  // bytes present.
  const bool empty = std::find(r.shape.begin(), r.shape.end(), 0) != r.shape.end();
  std::size_t n = empty ? 0 : 1;
  for (auto d : r.shape) {
    if (empty) break;
    ISPLITEE_CHECK_CODE(n <= std::numeric_limits<std::size_t>::max() / isz / d, ErrorCode::kData,
                        file, ": the shape in the NPY header is too large");
    n *= d;
  }
  ISPLITEE_CHECK_CODE(r.bytes.size() >= n * isz, ErrorCode::kData, file,
                      ": truncated data: expected ", n * isz, " bytes for ", n, " elements, found ",
                      r.bytes.size());
  std::vector<Out> out(n);
  const char* src = r.bytes.data();
  if (n == 0) return out;
  if (isz == sizeof(Out)) {
    std::memcpy(out.data(), src, n * isz);
  } else if (floating) {
    for (std::size_t i = 0; i < n; ++i) {
      double v;
      std::memcpy(&v, src + i * 8, 8);
      out[i] = static_cast<Out>(v);
    }
  } else {
    for (std::size_t i = 0; i < n; ++i) {
      std::int64_t v;
      std::memcpy(&v, src + i * 8, 8);
      ISPLITEE_CHECK_CODE(v >= std::numeric_limits<std::int32_t>::min() &&
                              v <= std::numeric_limits<std::int32_t>::max(),
                          ErrorCode::kData, file, ": element ", i, " = ", v, " does not fit int32");
      out[i] = static_cast<Out>(v);
    }
  }
  return out;
}

}  // namespace

void write_npy(const std::filesystem::path& path, const std::vector<float>& data,
               const std::vector<std::size_t>& shape) {
  write_impl(path, data, shape, "<f4");
}
void write_npy(const std::filesystem::path& path, const std::vector<std::int32_t>& data,
               const std::vector<std::size_t>& shape) {
  write_impl(path, data, shape, "<i4");
}

std::vector<float> read_npy_f32(const std::filesystem::path& path,
                                std::vector<std::size_t>& shape) {
  const Raw r = read_raw(path);
  shape = r.shape;
  return convert<float>(r, path, true);
}

std::vector<std::int32_t> read_npy_i32(const std::filesystem::path& path,
                                       std::vector<std::size_t>& shape) {
  const Raw r = read_raw(path);
  shape = r.shape;
  return convert<std::int32_t>(r, path, false);
}

}  // namespace isplitee::trace
