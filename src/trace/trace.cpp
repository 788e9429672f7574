#include "isplitee/trace/trace.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/trace/npy.hpp"

namespace isplitee::trace {
namespace fs = std::filesystem;
namespace {

/// Names the place of a bad value: "<file>: row R" where file depends on the column.
using Where = std::function<std::string(const char* column, std::size_t row)>;

void validate_calibration(const Trace& t, const std::string& source, const Where& where);

void validate_impl(const Trace& t, const std::string& source, const Where& where) {
  const std::size_t n = t.num_samples, k = t.num_exits;
  ISPLITEE_CHECK_CODE(k >= 1, ErrorCode::kData, source,
                      ": a trace needs at least one exit (K = 0)");
  ISPLITEE_CHECK_CODE(t.conf.size() == n * k, ErrorCode::kData, where("conf", 0), ": conf has ",
                      t.conf.size(), " values, expected N×K = ", n, "×", k);
  ISPLITEE_CHECK_CODE(t.pred.size() == n * k, ErrorCode::kData, where("pred", 0), ": pred has ",
                      t.pred.size(), " values, expected N×K = ", n, "×", k);
  ISPLITEE_CHECK_CODE(t.label.size() == n, ErrorCode::kData, where("label", 0), ": label has ",
                      t.label.size(), " values, expected N = ", n, " (labels are required)");
  ISPLITEE_CHECK_CODE(t.entropy.empty() || t.entropy.size() == n * k, ErrorCode::kData,
                      where("entropy", 0), ": entropy has ", t.entropy.size(),
                      " values, expected 0 or N×K = ", n * k);
  ISPLITEE_CHECK_CODE(t.margin.empty() || t.margin.size() == n * k, ErrorCode::kData,
                      where("margin", 0), ": margin has ", t.margin.size(),
                      " values, expected 0 or N×K = ", n * k);
  ISPLITEE_CHECK_CODE(t.logits.empty() || (n * k > 0 && t.logits.size() % (n * k) == 0),
                      ErrorCode::kData, where("logits", 0), ": logits has ", t.logits.size(),
                      " values, expected N×K×C");
  const auto& m = t.manifest;
  ISPLITEE_CHECK_CODE(m.format_version >= 1 && m.format_version <= kTraceFormatVersion,
                      ErrorCode::kData, source, ": format_version ", m.format_version,
                      " is not supported (expected 1 to ", kTraceFormatVersion, ")");
  validate_calibration(t, source, where);
  ISPLITEE_CHECK_CODE(m.exits.size() == k, ErrorCode::kData, source, ": manifest lists ",
                      m.exits.size(), " exits but the columns have K = ", k);
  ISPLITEE_CHECK_CODE(m.sample_ids.empty() || m.sample_ids.size() == n, ErrorCode::kData, source,
                      ": manifest has ", m.sample_ids.size(),
                      " sample_ids but the columns have N = ", n, " rows");
  const auto classes = m.num_classes;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t e = 0; e < k; ++e) {
      const float c = t.conf[i * k + e];
      if (!(c >= 0.0f && c <= 1.0f))
        fail(ErrorCode::kData, where("conf", i), ", exit ", e + 1, ": confidence ",
             format_number(c), " is not in [0, 1]");
      const auto pr = t.pred[i * k + e];
      if (pr < 0 || (classes > 0 && pr >= classes))
        fail(ErrorCode::kData, where("pred", i), ", exit ", e + 1, ": prediction ", pr,
             " is not in [0, ", classes > 0 ? std::to_string(classes - 1) : std::string("inf"),
             "]");
      if (!t.entropy.empty() &&
          !(t.entropy[i * k + e] >= 0.0f && std::isfinite(t.entropy[i * k + e])))
        fail(ErrorCode::kData, where("entropy", i), ", exit ", e + 1, ": entropy ",
             format_number(t.entropy[i * k + e]), " is not a finite value >= 0");
      if (!t.margin.empty() && !(t.margin[i * k + e] >= 0.0f && t.margin[i * k + e] <= 1.0f))
        fail(ErrorCode::kData, where("margin", i), ", exit ", e + 1, ": margin ",
             format_number(t.margin[i * k + e]), " is not in [0, 1]");
    }
    const auto y = t.label[i];
    if (y < 0 || (classes > 0 && y >= classes))
      fail(ErrorCode::kData, where("label", i), ": label ", y, " is not in [0, ",
           classes > 0 ? std::to_string(classes - 1) : std::string("inf"), "]");
  }
}

/// The calibrated columns and the manifest's calibration agree and hold sane values.
void validate_calibration(const Trace& t, const std::string& source, const Where& where) {
  const std::size_t n = t.num_samples, k = t.num_exits;
  const auto& c = t.manifest.calibration;
  const bool cols = !t.conf_cal.empty() || !t.entropy_cal.empty() || !t.margin_cal.empty();
  if (c.empty()) {
    ISPLITEE_CHECK_CODE(!cols, ErrorCode::kData, source,
                        ": calibrated columns are present but the manifest has no calibration");
    return;
  }
  ISPLITEE_CHECK_CODE(
      c.temperature.size() == k && c.ece_before.size() == k && c.ece_after.size() == k,
      ErrorCode::kData, source, ": calibration lists ", c.temperature.size(),
      " temperatures, expected one per exit (K = ", k, ")");
  for (std::size_t e = 0; e < k; ++e)
    ISPLITEE_CHECK_CODE(std::isfinite(c.temperature[e]) && c.temperature[e] > 0, ErrorCode::kData,
                        source, ": calibration.temperature[", e, "] = ", c.temperature[e],
                        " must be > 0");
  const std::pair<const char*, const std::vector<float>*> columns[] = {
      {"conf_cal", &t.conf_cal}, {"entropy_cal", &t.entropy_cal}, {"margin_cal", &t.margin_cal}};
  for (const auto& [name, col] : columns) {
    ISPLITEE_CHECK_CODE(col->size() == n * k, ErrorCode::kData, where(name, 0), ": ", name, " has ",
                        col->size(), " values, expected N×K = ", n, "×", k);
    for (std::size_t i = 0; i < n * k; ++i) {
      const float v = (*col)[i];
      const bool ok = std::string(name) == "entropy_cal" ? (v >= 0.0f && std::isfinite(v))
                                                         : (v >= 0.0f && v <= 1.0f);
      if (!ok)
        fail(ErrorCode::kData, where(name, i / k), ", exit ", i % k + 1, ": ", name, " ",
             format_number(v), " is out of range");
    }
  }
}

std::vector<std::size_t> expect_shape(const fs::path& file, const std::vector<std::size_t>& got,
                                      std::size_t dims) {
  if (got.size() != dims) {
    std::vector<std::string> parts;
    for (auto d : got) parts.push_back(std::to_string(d));
    fail(ErrorCode::kData, file.string(), ": expected a ", dims, "-D array, got shape (",
         join(parts, ", "), ")");
  }
  return got;
}

Trace read_directory(const fs::path& dir) {
  const fs::path mpath = dir / "manifest.json";
  ISPLITEE_CHECK_CODE(fs::exists(mpath), ErrorCode::kIo, dir.string(),
                      ": not a trace directory (no manifest.json)");
  nlohmann::json mj;
  try {
    mj = nlohmann::json::parse(read_text_file(mpath));
  } catch (const nlohmann::json::exception& e) {  // parse errors and out-of-range numbers
    fail(ErrorCode::kData, mpath.string(), ": malformed JSON (", e.what(), ")");
  }
  Trace t;
  t.manifest = manifest_from_json(mj, mpath.string());
  std::vector<std::size_t> shape;
  t.conf = read_npy_f32(dir / "conf.npy", shape);
  expect_shape(dir / "conf.npy", shape, 2);
  t.num_samples = shape[0];
  t.num_exits = shape[1];
  const auto check_nk = [&](const char* name) {
    if (shape.size() != 2 || shape[0] != t.num_samples || shape[1] != t.num_exits)
      fail(ErrorCode::kData, (dir / name).string(), ": shape does not match conf.npy (",
           t.num_samples, "×", t.num_exits, ")");
  };
  t.pred = read_npy_i32(dir / "pred.npy", shape);
  check_nk("pred.npy");
  t.label = read_npy_i32(dir / "label.npy", shape);
  if (shape.size() != 1 || shape[0] != t.num_samples)
    fail(ErrorCode::kData, (dir / "label.npy").string(), ": expected shape (", t.num_samples, ",)");
  if (fs::exists(dir / "entropy.npy")) {
    t.entropy = read_npy_f32(dir / "entropy.npy", shape);
    check_nk("entropy.npy");
  }
  if (fs::exists(dir / "margin.npy")) {
    t.margin = read_npy_f32(dir / "margin.npy", shape);
    check_nk("margin.npy");
  }
  if (fs::exists(dir / "logits.npy")) {
    t.logits = read_npy_f32(dir / "logits.npy", shape);
    if (shape.size() != 3 || shape[0] != t.num_samples || shape[1] != t.num_exits)
      fail(ErrorCode::kData, (dir / "logits.npy").string(), ": expected shape (", t.num_samples,
           ", ", t.num_exits, ", C)");
  }
  for (auto [name, col] : {std::pair<const char*, std::vector<float>*>{"conf_cal", &t.conf_cal},
                           {"entropy_cal", &t.entropy_cal},
                           {"margin_cal", &t.margin_cal}}) {
    const auto file = dir / (std::string(name) + ".npy");
    if (!fs::exists(file)) continue;
    *col = read_npy_f32(file, shape);
    check_nk((std::string(name) + ".npy").c_str());
  }
  validate_impl(t, mpath.string(), [&](const char* column, std::size_t row) {
    return (dir / (std::string(column) + ".npy")).string() + ": row " + std::to_string(row);
  });
  return t;
}

bool parse_float(const std::string& s, float& out) {
  if (s.empty()) return false;
  char* end = nullptr;
  out = std::strtof(s.c_str(), &end);
  while (end && (*end == ' ' || *end == '\r')) ++end;
  return end && *end == '\0';
}

bool parse_int(const std::string& s, std::int32_t& out) {
  float f;
  if (!parse_float(s, f)) return false;
  if (!(std::floor(f) == f) || std::fabs(f) > 2e9f)
    return false;  // "3" and pandas' "3.0" both accepted
  out = static_cast<std::int32_t>(f);
  return true;
}

Trace read_csv(const fs::path& file, const std::vector<double>& depths) {
  const std::string name = file.string();
  std::ifstream in(file);
  ISPLITEE_CHECK_CODE(in.good(), ErrorCode::kIo, name, ": cannot open");
  std::string line;
  ISPLITEE_CHECK_CODE(static_cast<bool>(std::getline(in, line)), ErrorCode::kData, name,
                      ": empty file (no header)");
  if (!line.empty() && line.back() == '\r') line.pop_back();
  const auto header = split(line, ',');
  std::size_t k = 0;
  while (k < header.size() && header[k] == "conf_" + std::to_string(k + 1)) ++k;
  ISPLITEE_CHECK_CODE(k >= 1, ErrorCode::kData, name,
                      ": line 1: header must be conf_1..conf_K,pred_1..pred_K,label; got '", line,
                      "'");
  for (std::size_t e = 0; e < k; ++e)
    ISPLITEE_CHECK_CODE(k + e < header.size() && header[k + e] == "pred_" + std::to_string(e + 1),
                        ErrorCode::kData, name, ": line 1: column ", k + e + 1, " must be 'pred_",
                        e + 1, "' (header conf_1..conf_K,pred_1..pred_K,label with K = ", k, ")");
  ISPLITEE_CHECK_CODE(header.size() == 2 * k + 1 && header[2 * k] == "label", ErrorCode::kData,
                      name, ": line 1: expected 'label' as the last column ", 2 * k + 1,
                      " (K = ", k, "), got ", header.size(), " columns");
  Trace t;
  t.num_exits = k;
  std::size_t row = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    const auto f = split(line, ',');
    const std::size_t lineno = row + 2;
    ISPLITEE_CHECK_CODE(f.size() == 2 * k + 1, ErrorCode::kData, name, ": line ", lineno, ": ",
                        f.size(), " fields, expected ", 2 * k + 1, " (K = ", k, ")");
    for (std::size_t e = 0; e < k; ++e) {
      float c;
      ISPLITEE_CHECK_CODE(parse_float(f[e], c), ErrorCode::kData, name, ": line ", lineno,
                          ": conf_", e + 1, " '", f[e], "' is not a number");
      t.conf.push_back(c);
    }
    for (std::size_t e = 0; e < k; ++e) {
      std::int32_t p;
      ISPLITEE_CHECK_CODE(parse_int(f[k + e], p), ErrorCode::kData, name, ": line ", lineno,
                          ": pred_", e + 1, " '", f[k + e], "' is not an integer");
      t.pred.push_back(p);
    }
    std::int32_t y;
    ISPLITEE_CHECK_CODE(parse_int(f[2 * k], y), ErrorCode::kData, name, ": line ", lineno,
                        ": label '", f[2 * k], "' is missing or not an integer");
    t.label.push_back(y);
    ++row;
  }
  t.num_samples = row;
  ISPLITEE_CHECK_CODE(row > 0, ErrorCode::kData, name, ": no data rows");
  ISPLITEE_CHECK_CODE(depths.empty() || depths.size() == k, ErrorCode::kUsage, name, ": ",
                      depths.size(), " depths given but the CSV has K = ", k, " exits");
  t.manifest.dataset = "csv:" + file.filename().string();
  t.manifest.arch = "unknown";
  for (std::size_t e = 0; e < k; ++e) {
    ExitInfo x;
    x.depth_blocks = depths.empty() ? static_cast<double>(e + 1) : depths[e];
    t.manifest.exits.push_back(x);
  }
  validate_impl(t, name, [&](const char*, std::size_t r) {
    return name + ": line " + std::to_string(r + 2);
  });
  return t;
}

std::string fmt_float(float v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(v));
  return buf;
}

}  // namespace

void validate(const Trace& t, const std::string& source) {
  validate_impl(t, source, [&](const char* column, std::size_t row) {
    return source + ": " + column + " row " + std::to_string(row);
  });
}

nlohmann::json manifest_to_json(const Manifest& m) {
  nlohmann::json exits = nlohmann::json::array();
  for (const auto& e : m.exits)
    exits.push_back({{"depth_blocks", e.depth_blocks},
                     {"macs_millions", e.macs_millions},
                     {"activation_bytes", e.activation_bytes},
                     {"activation_shape", e.activation_shape}});
  nlohmann::json j = {{"format_version", m.format_version},
                      {"arch", m.arch},
                      {"num_classes", m.num_classes},
                      {"exits", exits},
                      {"checkpoint_sha256", m.checkpoint_sha256},
                      {"dataset", m.dataset},
                      {"split", m.split},
                      {"sample_ids", m.sample_ids},
                      {"distortion", m.distortion},
                      {"seed", m.seed},
                      {"tool_version", m.tool_version},
                      {"extra", m.extra}};
  if (!m.calibration.empty())
    j["calibration"] = {{"temperature", m.calibration.temperature},
                        {"ece_before", m.calibration.ece_before},
                        {"ece_after", m.calibration.ece_after},
                        {"split", m.calibration.split},
                        {"samples", m.calibration.samples}};
  return j;
}

Manifest manifest_from_json(const nlohmann::json& j, const std::string& source) {
  const config::Node node(j, source, "");
  Manifest m;
  m.format_version = static_cast<int>(node.integer_required("format_version", 0, 1000000));
  ISPLITEE_CHECK_CODE(m.format_version >= 1 && m.format_version <= kTraceFormatVersion,
                      ErrorCode::kData, source, ": format_version ", m.format_version,
                      " is not supported (expected 1 to ", kTraceFormatVersion, ")");
  m.arch = node.string("arch", "");
  m.num_classes = node.integer("num_classes", 0, 0, 1000000000);
  for (const auto& e : node.objects("exits")) {
    ExitInfo x;
    x.depth_blocks = e.number("depth_blocks", 0.0, 0.0, 1e12);
    x.macs_millions = e.number("macs_millions", 0.0, 0.0, 1e15);
    x.activation_bytes =
        e.integer("activation_bytes", 0, 0, std::numeric_limits<std::int64_t>::max());
    x.activation_shape =
        e.integers("activation_shape", {}, 0, std::numeric_limits<std::int64_t>::max());
    e.finish();
    m.exits.push_back(std::move(x));
  }
  ISPLITEE_CHECK_CODE(!m.exits.empty(), ErrorCode::kData, source, ": manifest lists no exits");
  m.checkpoint_sha256 = node.string("checkpoint_sha256", "");
  m.dataset = node.string("dataset", "");
  m.split = node.string("split", "");
  m.sample_ids = node.integers("sample_ids", {}, std::numeric_limits<std::int64_t>::min(),
                               std::numeric_limits<std::int64_t>::max());
  if (node.has("distortion")) m.distortion = node.raw("distortion");
  if (node.has("seed")) {
    const auto& s = node.raw("seed");
    ISPLITEE_CHECK_CODE(
        s.is_number_unsigned() || (s.is_number_integer() && s.get<std::int64_t>() >= 0),
        ErrorCode::kData, source, ": seed must be a non-negative integer");
    m.seed = s.get<std::uint64_t>();
  }
  m.tool_version = node.string("tool_version", "");
  if (node.has("extra")) m.extra = node.raw("extra");
  if (node.has("calibration")) {
    const auto c = node.object("calibration");
    m.calibration.temperature = c.numbers("temperature", {}, 0.0, 1e6);
    m.calibration.ece_before = c.numbers("ece_before", {}, 0.0, 1.0);
    m.calibration.ece_after = c.numbers("ece_after", {}, 0.0, 1.0);
    m.calibration.split = c.string("split", "");
    m.calibration.samples = static_cast<std::size_t>(c.integer("samples", 0, 0, 1000000000000));
    c.finish();
  }
  node.finish();
  return m;
}

Trace read_trace(const fs::path& path, const std::vector<double>& csv_depths) {
  ISPLITEE_CHECK_CODE(fs::exists(path), ErrorCode::kIo, path.string(),
                      ": no such trace directory or CSV file");
  if (fs::is_directory(path)) {
    ISPLITEE_CHECK(csv_depths.empty(), path.string(),
                   ": depths come from manifest.json; --depths is only for CSV");
    return read_directory(path);
  }
  return read_csv(path, csv_depths);
}

void write_trace(const fs::path& dir, const Trace& t) {
  validate(t, dir.string());
  fs::create_directories(dir);
  const std::size_t n = t.num_samples, k = t.num_exits;
  write_npy(dir / "conf.npy", t.conf, {n, k});
  write_npy(dir / "pred.npy", t.pred, {n, k});
  write_npy(dir / "label.npy", t.label, {n});
  if (!t.entropy.empty()) write_npy(dir / "entropy.npy", t.entropy, {n, k});
  if (!t.margin.empty()) write_npy(dir / "margin.npy", t.margin, {n, k});
  if (!t.logits.empty()) write_npy(dir / "logits.npy", t.logits, {n, k, t.logits.size() / (n * k)});
  if (!t.conf_cal.empty()) write_npy(dir / "conf_cal.npy", t.conf_cal, {n, k});
  if (!t.entropy_cal.empty()) write_npy(dir / "entropy_cal.npy", t.entropy_cal, {n, k});
  if (!t.margin_cal.empty()) write_npy(dir / "margin_cal.npy", t.margin_cal, {n, k});
  write_file_atomic(dir / "trace.csv", [&](std::ostream& os) {
    for (std::size_t e = 0; e < k; ++e) os << "conf_" << e + 1 << ',';
    for (std::size_t e = 0; e < k; ++e) os << "pred_" << e + 1 << ',';
    os << "label\n";
    for (std::size_t i = 0; i < n; ++i) {
      for (std::size_t e = 0; e < k; ++e) os << fmt_float(t.conf[i * k + e]) << ',';
      for (std::size_t e = 0; e < k; ++e) os << t.pred[i * k + e] << ',';
      os << t.label[i] << '\n';
    }
  });
  // The manifest goes last: a directory with a manifest is complete.
  write_text_atomic(dir / "manifest.json", manifest_to_json(t.manifest).dump(2) + "\n");
}

std::vector<double> exit_accuracy(const Trace& t) {
  std::vector<double> acc(t.num_exits, 0.0);
  if (t.num_samples == 0) return acc;
  for (std::size_t i = 0; i < t.num_samples; ++i)
    for (std::size_t k = 0; k < t.num_exits; ++k)
      if (t.pred_at(i, k) == t.label[i]) acc[k] += 1;
  for (auto& a : acc) a = 100.0 * a / static_cast<double>(t.num_samples);
  return acc;
}

}  // namespace isplitee::trace
