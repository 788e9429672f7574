// PLACEHOLDER: replaced by the module owner. Registers 'isplitee list'.
#include "commands.hpp"
#include "isplitee/common/error.hpp"

namespace isplitee::app {
Action add_list_command(CLI::App& app, const GlobalOptions& g) {
  app.add_subcommand("list", "(in construction)");
  return [] { fail(ErrorCode::kInternal, "isplitee list: in construction"); };
}
}  // namespace isplitee::app
