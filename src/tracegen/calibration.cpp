#include "isplitee/tracegen/calibration.hpp"

#include <numeric>

#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/cost/calibration.hpp"
#include "isplitee/data/dataset.hpp"
#include "isplitee/data/loader.hpp"
#include "isplitee/tracegen/exit_stats.hpp"

namespace isplitee::tracegen {

trace::CalibrationInfo fit_calibration(const TraceRequest& req, model::MultiExitNetImpl& net,
                                       const torch::Device& device) {
  if (req.data.val_fraction <= 0) {
    logger()->warn(
        "trace: data.val_fraction is 0 (no validation split): traces are recorded "
        "without calibration");
    return {};
  }
  const auto val = data::open_split(req.data, "val");
  const std::size_t n = std::min(val->size(), kMaxCalibrationSamples);
  const auto k = static_cast<std::size_t>(net.num_exits());
  const auto classes = static_cast<std::size_t>(net.config().num_classes);
  std::vector<float> logits(n * k * classes);
  std::vector<std::int32_t> labels(n);
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  data::BatchLoader loader(val, order, static_cast<std::size_t>(req.trace.batch_size),
                           req.data.preprocess, {}, static_cast<int>(req.trace.workers));
  torch::InferenceMode guard;
  data::Batch b;
  std::size_t row = 0;
  while (loader.next(b)) {
    const auto outs = net.forward(b.images.to(device));
    const auto bn = static_cast<std::size_t>(b.images.size(0));
    for (std::size_t e = 0; e < k; ++e) {
      const auto z = outs[e].to(torch::kFloat32).cpu().contiguous();
      const float* pz = z.data_ptr<float>();
      for (std::size_t i = 0; i < bn; ++i)
        std::copy(pz + i * classes, pz + (i + 1) * classes,
                  logits.begin() + ((row + i) * k + e) * classes);
    }
    const auto y = b.labels.cpu().contiguous();
    for (std::size_t i = 0; i < bn; ++i)
      labels[row + i] = static_cast<std::int32_t>(y.data_ptr<std::int64_t>()[i]);
    row += bn;
  }
  ISPLITEE_ASSERT(row == n, "calibration loader returned ", row, " of ", n, " samples");
  const auto s = cost::calibrate_exits(logits.data(), labels.data(), n, k, classes);
  trace::CalibrationInfo info;
  info.temperature = s.temperature;
  info.ece_before = s.ece_before;
  info.ece_after = s.ece_after;
  info.split = "val";
  info.samples = n;
  return info;
}

void add_calibrated_rows(const std::vector<torch::Tensor>& logits,
                         const trace::CalibrationInfo& cal, std::size_t row, trace::Trace& t) {
  const std::size_t k = t.num_exits;
  ISPLITEE_ASSERT(logits.size() == k && cal.temperature.size() == k, "calibrated rows");
  for (std::size_t e = 0; e < k; ++e) {
    const auto s = exit_statistics(logits[e].to(torch::kFloat64) / cal.temperature[e]);
    const auto conf = s.conf.cpu().contiguous(), ent = s.entropy.cpu().contiguous(),
               mar = s.margin.cpu().contiguous();
    const auto bn = static_cast<std::size_t>(conf.size(0));
    for (std::size_t i = 0; i < bn; ++i) {
      const std::size_t at = (row + i) * k + e;
      t.conf_cal[at] = conf.data_ptr<float>()[i];
      t.entropy_cal[at] = ent.data_ptr<float>()[i];
      t.margin_cal[at] = mar.data_ptr<float>()[i];
    }
  }
}

}  // namespace isplitee::tracegen
