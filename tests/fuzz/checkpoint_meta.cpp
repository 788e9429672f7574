// Fuzz target `checkpoint_meta`: the metadata JSON string stored in an isplitee checkpoint, checked
// by model::parse_checkpoint_metadata() before load_checkpoint() builds a network (no LibTorch
// archive needed). Invariant: an accepted model config re-parses from its JSON form to itself.

#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/model/checkpoint_metadata.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace isplitee;
  const std::string text(reinterpret_cast<const char*>(data), size);
  nlohmann::json meta;
  model::ModelConfig cfg;
  if (!fuzz::accepts([&] { cfg = model::parse_checkpoint_metadata(text, "fuzz.pt", meta); }))
    return 0;
  ISPLITEE_FUZZ_CHECK(meta.is_object());
  const auto j = model::to_json(cfg);
  fuzz::accepts([&] {
    const auto doc = config::Document::from_json(j, "round trip");
    ISPLITEE_FUZZ_CHECK_MSG(model::to_json(model::parse_model_config(config::Node(doc))) == j,
                            j.dump());
  });
  return 0;
}
