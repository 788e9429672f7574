// PLACEHOLDER: replaced by the module owner. Registers 'isplitee replay'.
#include "commands.hpp"
#include "isplitee/common/error.hpp"

namespace isplitee::app {
Action add_replay_command(CLI::App& app, const GlobalOptions& g) {
  app.add_subcommand("replay", "(in construction)");
  return [] { fail(ErrorCode::kInternal, "isplitee replay: in construction"); };
}
}  // namespace isplitee::app
