// PLACEHOLDER: replaced by the module owner. Registers 'isplitee report'.
#include "commands.hpp"
#include "isplitee/common/error.hpp"

namespace isplitee::app {
Action add_report_command(CLI::App& app, const GlobalOptions& g) {
  app.add_subcommand("report", "(in construction)");
  return [] { fail(ErrorCode::kInternal, "isplitee report: in construction"); };
}
}  // namespace isplitee::app
