#pragma once
/// \file The confidence trace: what every exit of a multi-exit network said about every sample
/// (docs/architecture.md, "Files a run reads and writes"). Produced by `isplitee trace`
/// (isplitee::vision), replayed by the simulator.

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace isplitee::trace {

/// Current trace directory format version (manifest.json "format_version"). Version 2 added the
/// optional calibration (temperatures and calibrated columns); version 1 directories still read.
inline constexpr int kTraceFormatVersion = 2;

/// What the model profile says about one exit (the split point after it).
struct ExitInfo {
  double depth_blocks = 0;            ///< l_k in backbone blocks (docs/method.md §1)
  double macs_millions = 0;           ///< cumulative MACs of the edge part up to this exit, in M
  std::int64_t activation_bytes = 0;  ///< float32 bytes of the activation sent when split here
  std::vector<std::int64_t> activation_shape;  ///< C×H×W at the split (empty when unknown)
};

/// Temperature scaling fitted on the validation split of the trace's model (one value per exit);
/// empty when the trace was recorded without it.
struct CalibrationInfo {
  std::vector<double> temperature;  ///< T_k > 0
  std::vector<double> ece_before;   ///< validation ECE of max-prob at T = 1
  std::vector<double> ece_after;    ///< validation ECE at T_k
  std::string split;                ///< where T was fitted ("val")
  std::size_t samples = 0;          ///< how many samples it was fitted on
  bool empty() const noexcept { return temperature.empty(); }
};

/// manifest.json of a trace directory.
struct Manifest {
  int format_version = kTraceFormatVersion;
  std::string arch;  ///< e.g. "mobilenet_v2"
  std::int64_t num_classes = 0;
  std::vector<ExitInfo> exits;  ///< one per exit, K entries
  std::string checkpoint_sha256;
  std::string dataset;                                   ///< dataset name/config summary
  std::string split;                                     ///< "test", "val", …
  std::vector<std::int64_t> sample_ids;                  ///< stable dataset ids, one per row
  nlohmann::json distortion = nlohmann::json::object();  ///< name, severity, parameters
  std::uint64_t seed = 0;
  std::string tool_version;
  nlohmann::json extra = nlohmann::json::object();  ///< anything else (timings, cache key …)
  CalibrationInfo calibration;
};

/// A trace held in memory, row-major: element (i, k) of an N×K column is at i*K + k.
/// Exit k is 0-based here; exit K-1 is the network's final classifier.
struct Trace {
  Manifest manifest;
  std::size_t num_samples = 0;
  std::size_t num_exits = 0;
  std::vector<float> conf;         ///< N×K max softmax probability, in [0, 1]
  std::vector<std::int32_t> pred;  ///< N×K argmax class
  std::vector<float> entropy;      ///< N×K softmax entropy (nats); may be empty for CSV imports
  std::vector<float> margin;       ///< N×K top-1 minus top-2 probability; may be empty
  std::vector<std::int32_t>
      label;                  ///< N ground-truth labels (scoring only, never seen by policies)
  std::vector<float> logits;  ///< optional N×K×C
  /// With calibration: max-prob, entropy and margin of softmax(z/T_k) (N×K each); else empty.
  std::vector<float> conf_cal, entropy_cal, margin_cal;

  float conf_at(std::size_t i, std::size_t k) const { return conf[i * num_exits + k]; }
  std::int32_t pred_at(std::size_t i, std::size_t k) const { return pred[i * num_exits + k]; }
};

/// Per-exit accuracy (percent) of a trace against its labels: K values (0 for an empty trace).
std::vector<double> exit_accuracy(const Trace& t);

/// Checks shapes, ranges (confidence in [0,1], no NaN, labels ≥ 0, consistent K) and the manifest;
/// throws Error(kData) naming `source` and the first bad row/exit.
void validate(const Trace& t, const std::string& source);

/// Reads a trace directory (manifest.json + .npy columns) or a CSV file
/// (`conf_1..conf_K,pred_1..pred_K,label`). A CSV without manifest gets depth l_k = k unless
/// `csv_depths` (K values) is given. Validates before returning.
Trace read_trace(const std::filesystem::path& path, const std::vector<double>& csv_depths = {});

/// Writes a trace directory atomically file by file (manifest.json, conf.npy, pred.npy,
/// entropy.npy, margin.npy, label.npy, logits.npy when present, trace.csv). Validates first.
void write_trace(const std::filesystem::path& dir, const Trace& t);

/// Manifest <-> JSON.
nlohmann::json manifest_to_json(const Manifest& m);
Manifest manifest_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace isplitee::trace
