#pragma once
/// \file Per-sample statistics of one exit's logits, as recorded in a trace (docs/method.md).
/// They live in the model module (model/exit_outputs.hpp), next to the one call
/// "images → per-exit outputs" that the trace pass and the live edge share; these names remain
/// for existing callers.

#include "isplitee/model/exit_outputs.hpp"

namespace isplitee::tracegen {

using model::exit_statistics;
using model::ExitStats;

}  // namespace isplitee::tracegen
