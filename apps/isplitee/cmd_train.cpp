// PLACEHOLDER: replaced by the module owner. Registers 'isplitee train'.
#include "commands.hpp"
#include "isplitee/common/error.hpp"

namespace isplitee::app {
Action add_train_command(CLI::App& app, const GlobalOptions& g) {
  app.add_subcommand("train", "(in construction)");
  return [] { fail(ErrorCode::kInternal, "isplitee train: in construction"); };
}
}  // namespace isplitee::app
