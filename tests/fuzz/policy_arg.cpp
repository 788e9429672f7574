// Fuzz target `policy_arg`: the `--policy NAME[:key=value,…]` argument of `isplitee replay`.
// Invariants: an accepted spec re-parses from its JSON form to the same spec, and instantiates
// for K = 1..7 arms or is refused with a usage error (e.g. `fixed:arm=9` on 7 exits).

#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/policy/policy.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  const std::string text(reinterpret_cast<const char*>(data), size);
  policy::PolicySpec spec;
  if (!fuzz::accepts([&] { spec = policy::parse_policy_argument(text); })) return 0;
  const auto j = policy::to_json(spec);
  fuzz::accepts([&] {
    const auto doc = config::Document::from_json(j, "round trip");
    const auto again = policy::parse_policy_spec(config::Node(doc));
    ISPLITEE_FUZZ_CHECK_MSG(policy::to_json(again) == j, j.dump());
  });
  for (std::size_t k = 1; k <= 7; k += 3)
    fuzz::accepts([&] { ISPLITEE_FUZZ_CHECK(policy::make_policy(spec, k, 1) != nullptr); });
  return 0;
}
