// PLACEHOLDER: replaced by the module owner. Registers 'isplitee trace'.
#include "commands.hpp"
#include "isplitee/common/error.hpp"

namespace isplitee::app {
Action add_trace_command(CLI::App& app, const GlobalOptions& g) {
  app.add_subcommand("trace", "(in construction)");
  return [] { fail(ErrorCode::kInternal, "isplitee trace: in construction"); };
}
}  // namespace isplitee::app
