#pragma once
/// \file Live split computing (`experiment.mode: "live"`, docs/method.md "Live protocol"): the
/// edge runs the multi-exit network lazily on images drawn from a dataset split under a seeded
/// distortion (the same pixels `isplitee trace` saw), answers a sample at its split when the exit
/// rule accepts it and otherwise sends the split activation, encoded, to a cloud that finishes the
/// network. No LibTorch in this header: the network sits behind SplitModel.

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "isplitee/data/dataset_config.hpp"
#include "isplitee/distort/spec.hpp"
#include "isplitee/live/live_config.hpp"
#include "isplitee/sim/environment.hpp"
#include "isplitee/trace/trace.hpp"
#include "isplitee/transport/protocol.hpp"

namespace isplitee::live {

class SplitModel;  // the network, in eval mode (src/live/split_model.hpp)

/// Loads `checkpoint` for inference (eval mode; BatchNorm folded when `fold_batchnorm`, as the
/// traces are computed). Throws Error(kIo/kData) naming the file.
std::shared_ptr<SplitModel> load_split_model(const std::filesystem::path& checkpoint,
                                             bool fold_batchnorm);
/// Number of exits K of a loaded model.
std::size_t num_exits(const SplitModel& m);
/// Hex SHA-256 of the checkpoint file the model was loaded from.
const std::string& model_sha256(const SplitModel& m);

/// Limits a cloud enforces on each request.
struct CloudLimits {
  std::size_t max_batch = 4096;                    ///< samples per request
  std::size_t max_bytes = std::size_t{256} << 20;  ///< encoded tensor bytes per request
};

/// The cloud side of the protocol backed by `model`: checks the model SHA-256, the split range
/// (0 = the preprocessed input of a cloud-only request, 1..K−1 = after that exit), the shape
/// (N × the activation at the split), the codec's byte count and the limits, then runs stages
/// split+1..K and exit K and returns its logits. Never throws. A non-empty `token` must match the
/// request's.
std::shared_ptr<transport::CloudService> make_cloud_service(std::shared_ptr<SplitModel> model,
                                                            CloudLimits limits = {},
                                                            std::string token = "");

/// One source of samples: a dataset split (its first `max_samples` when > 0) under a distortion.
struct LiveSource {
  std::string name;  ///< the trace name it stands for (distort::label of the spec)
  distort::DistortionSpec distortion;
};

/// Everything a live provider needs.
struct LiveSetup {
  std::filesystem::path checkpoint;
  bool fold_batchnorm = true;  ///< as the traces (trace.fold_batchnorm)
  data::DatasetConfig data;
  std::string split = "test";
  std::int64_t max_samples = 0;  ///< 0 = the whole split
  std::vector<LiveSource> sources;
  std::uint64_t seed = 0;  ///< distortion seed: image i gets Rng(seed, {sample_id})
  LiveConfig live;
  /// Per-exit temperatures for calibrated exit rules (empty: the rule must not calibrate).
  trace::CalibrationInfo calibration;
  /// Depths, MACs and activation bytes per exit (from the model's profile when empty).
  std::vector<trace::ExitInfo> exits;
  /// Per source, per exit accuracy (%) when known (from the traces of the same run), else empty.
  std::vector<std::vector<double>> exit_accuracy;
};

/// The live environments of an experiment: one network on the edge and one cloud client, so one
/// environment acts at a time (max_parallel() = 1). `client` replaces the one of `setup.live.cloud`
/// (tests inject failing clients); "embedded" runs the cloud in this process.
class LiveProvider final : public sim::EnvironmentProvider {
 public:
  explicit LiveProvider(LiveSetup setup, std::shared_ptr<transport::CloudClient> client = nullptr);
  ~LiveProvider() override;
  std::string mode() const override { return "live"; }
  std::size_t num_exits() const override;
  const std::vector<std::string>& names() const override { return names_; }
  const std::vector<std::size_t>& sizes() const override { return sizes_; }
  std::vector<double> depth_blocks() const override;
  std::vector<double> depth_macs() const override;
  std::vector<double> activation_bytes() const override;
  std::vector<std::vector<double>> exit_accuracy() const override;
  std::size_t max_parallel() const override { return 1; }
  cost::MeasuredUnits measured_units() const override;
  std::unique_ptr<sim::Environment> open(const std::vector<std::uint32_t>& samples,
                                         const cost::ExitRule& rule) const override;
  /// The cloud client's description ("in-process", …) for reports.
  std::string cloud_description() const;
  /// Median edge CPU time (ms) of the whole network at batch 1 as the edge runs it (every stage,
  /// exit head and exit score), measured at construction on the first samples: the unit of
  /// measured edge cost.
  double full_network_ms() const noexcept { return full_ms_; }
  /// Samples each edge stage has processed so far (K counters, summed over environments): with
  /// batch compaction, stage k sees only the samples still undecided after exit k−1.
  std::vector<std::uint64_t> stage_rows() const;
  /// Cloud calls that failed so far, by status ("unavailable", "deadline", …), in samples.
  std::vector<std::pair<std::string, std::uint64_t>> cloud_failures() const;

  struct State;  ///< datasets, distortions, model, client (src/live/live.cpp)

 private:
  std::shared_ptr<State> state_;
  std::vector<std::string> names_;
  std::vector<std::size_t> sizes_;
  double full_ms_ = 0;
};

}  // namespace isplitee::live
