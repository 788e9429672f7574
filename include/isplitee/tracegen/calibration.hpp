#pragma once
/// \file Temperature scaling of a checkpoint's exits for its traces: T_k fitted by NLL on the
/// validation split (pristine images), and the calibrated columns of a trace computed from the
/// exits' logits divided by T_k (docs/method.md, "Exit rules and calibration").

#include <cstddef>
#include <vector>

#include <torch/torch.h>

#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/trace/trace.hpp"
#include "isplitee/tracegen/generate.hpp"

namespace isplitee::tracegen {

/// At most this many validation samples are used to fit the temperatures (their logits are held in
/// memory: samples × K × classes floats).
inline constexpr std::size_t kMaxCalibrationSamples = 10000;

/// Fits one temperature per exit of `net` (eval mode, on `device`) on the validation split of
/// `req.data` — the first kMaxCalibrationSamples of it, without distortion — and measures the ECE
/// before and after. Returns an empty CalibrationInfo when the dataset has no validation split.
trace::CalibrationInfo fit_calibration(const TraceRequest& req, model::MultiExitNetImpl& net,
                                       const torch::Device& device);

/// Fills rows [row, row + batch) of t.conf_cal, t.entropy_cal and t.margin_cal (already sized
/// N×K) from the logits of every exit for that batch, divided by the temperatures of `cal`.
void add_calibrated_rows(const std::vector<torch::Tensor>& logits,
                         const trace::CalibrationInfo& cal, std::size_t row, trace::Trace& t);

}  // namespace isplitee::tracegen
