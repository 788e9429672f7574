#pragma once
// Private to the policy module: the built-in entries, added to the process-wide registry once.

#include "isplitee/policy/policy.hpp"

namespace isplitee::policy {

/// Adds every built-in policy to `r` (defined next to the policy classes in policies.cpp).
void add_builtin_policies(PolicyRegistry& r);

}  // namespace isplitee::policy
