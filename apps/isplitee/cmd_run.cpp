// PLACEHOLDER: replaced by the module owner. Registers 'isplitee run'.
#include "commands.hpp"
#include "isplitee/common/error.hpp"

namespace isplitee::app {
Action add_run_command(CLI::App& app, const GlobalOptions& g) {
  app.add_subcommand("run", "(in construction)");
  return [] { fail(ErrorCode::kInternal, "isplitee run: in construction"); };
}
}  // namespace isplitee::app
