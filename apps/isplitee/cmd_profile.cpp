// PLACEHOLDER: replaced by the module owner. Registers 'isplitee profile'.
#include "commands.hpp"
#include "isplitee/common/error.hpp"

namespace isplitee::app {
Action add_profile_command(CLI::App& app, const GlobalOptions& g) {
  app.add_subcommand("profile", "(in construction)");
  return [] { fail(ErrorCode::kInternal, "isplitee profile: in construction"); };
}
}  // namespace isplitee::app
