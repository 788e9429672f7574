#pragma once
/// \file Trace generation with a content-addressed cache: run a checkpoint over a dataset split
/// under each distortion and write one trace directory per distortion (docs/architecture.md, "Data
/// flow"; docs/method.md §1, §9).

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "isplitee/common/work_group.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/distort/distortion.hpp"
#include "isplitee/trace/trace.hpp"
#include "isplitee/tracegen/trace_config.hpp"

namespace isplitee::tracegen {

/// Bump when generation changes what a trace contains for the same inputs (invalidates the cache).
inline constexpr const char* kGeneratorVersion = "isplitee-tracegen-2";  // 2: calibration

/// Inputs of ensure_traces().
struct TraceRequest {
  std::filesystem::path checkpoint;  ///< an isplitee checkpoint (model::save_checkpoint)
  data::DatasetConfig data;
  TraceConfig trace;
  std::uint64_t seed = 0;           ///< distortion seed: image i gets Rng(seed, {sample_id})
  std::filesystem::path trace_dir;  ///< traces go to <trace_dir>/<name>-<key12>/
  std::string device = "cpu";
  bool force = false;  ///< recompute even when a matching trace exists
  bool progress = true;
};

/// One trace produced or reused by ensure_traces().
struct TraceArtifact {
  std::string name;  ///< distort::label(spec), e.g. "none", "gaussian_noise@3"
  std::filesystem::path directory;
  std::string cache_key;              ///< hex SHA-256 of everything that decides the trace
  bool reused = false;                ///< found in the cache, not recomputed
  std::vector<double> exit_accuracy;  ///< per exit, percent (from the trace's labels)
  double seconds = 0;                 ///< generation time (0 when reused)
  double images_per_s = 0;            ///< forward throughput over all exits (0 when reused)
};

/// The cache key of one trace: SHA-256 over the generator version, trace format version,
/// checkpoint SHA-256, dataset config, split, sample limit, distortion spec, seed, save_logits
/// and batch-norm folding.
std::string trace_cache_key(const std::string& checkpoint_sha256, const data::DatasetConfig& data,
                            const TraceConfig& cfg, const distort::DistortionSpec& spec,
                            std::uint64_t seed);

/// The directory name of a trace in the cache: the label made file-system safe, "-", the first 12
/// hex digits of the key.
std::string trace_directory_name(const std::string& label, const std::string& cache_key);

/// For every distortion of `req.trace`, returns the trace directory: reused when a directory with
/// the same cache key exists and validates (a corrupt one is an Error(kData) that suggests
/// --force), else computed and written atomically (whole directory renamed into place).
std::vector<TraceArtifact> ensure_traces(const TraceRequest& req);

/// ensure_traces() spread over the processes of `group` (mpirun; every rank calls it). Rank 0
/// looks every trace up in the cache; each trace to compute is cut into group.size() shards of
/// whole batches (trace.batch_size, so every batch is the one a single process computes), which
/// the ranks compute and write atomically under <trace_dir>/.shards-<trace
/// directory>/<begin>-<end>/; rank 0 then merges each trace's shards into the directory one process
/// writes (byte-identical) and removes them. A complete shard left by a failed run is reused
/// (`force` removes them first). Every rank gets the artifacts; seconds adds up the shards' work.
/// One process: ensure_traces(req).
std::vector<TraceArtifact> ensure_traces(const TraceRequest& req, WorkGroup& group);

/// The sample ranges [begin, end) of at most `shards` shards of n samples: whole batches of
/// `batch` each (the last may be short), as even as the batches allow, in order.
std::vector<std::pair<std::size_t, std::size_t>> shard_ranges(std::size_t n, std::size_t batch,
                                                              std::size_t shards);

/// Computes one trace in memory (no cache): the checkpoint's K exits on every sample of the split,
/// after the seeded distortion. The manifest holds no timings, so equal inputs give equal files.
trace::Trace generate_trace(const TraceRequest& req, const distort::DistortionSpec& spec,
                            double* seconds = nullptr);

}  // namespace isplitee::tracegen
