// PLACEHOLDER: replaced by the module owner. Registers 'isplitee distort'.
#include "commands.hpp"
#include "isplitee/common/error.hpp"

namespace isplitee::app {
Action add_distort_command(CLI::App& app, const GlobalOptions& g) {
  app.add_subcommand("distort", "(in construction)");
  return [] { fail(ErrorCode::kInternal, "isplitee distort: in construction"); };
}
}  // namespace isplitee::app
