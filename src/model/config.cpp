#include "isplitee/model/config.hpp"

#include <algorithm>

#include "isplitee/common/error.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/model/backbones.hpp"

namespace isplitee::model {
namespace {

const std::vector<std::string> kHeads = {"bnpool", "pool", "conv"};

ExitPlacement parse_exits(const config::Node& parent) {
  ExitPlacement e;
  const auto& raw = parent.raw("exits");
  if (raw.is_null()) return e;
  if (raw.is_string()) {
    if (raw.get<std::string>() != "default")
      parent.fail("exits",
                  "expected \"default\" or an object with one of blocks, every, "
                  "mac_fractions; got \"" +
                      raw.get<std::string>() + "\"");
    return e;
  }
  if (!raw.is_object())
    parent.fail("exits",
                "expected \"default\" or an object with one of blocks, every, "
                "mac_fractions; got " +
                    config::type_name(raw));
  const config::Node n = parent.object("exits");
  const std::string mode = n.choice("mode", "", {"", "default", "blocks", "every", "macs"});
  const bool has_blocks = n.has("blocks"), has_every = n.has("every"),
             has_macs = n.has("mac_fractions");
  const int given = int(has_blocks) + int(has_every) + int(has_macs);
  if (given > 1)
    n.fail("", "give only one of blocks, every, mac_fractions (got " + std::to_string(given) + ")");
  e.blocks = n.integers("blocks", {}, 1, 100000);
  e.every = n.integer("every", 1, 1, 100000);
  e.mac_fractions = n.numbers("mac_fractions", {}, 0.0, 1.0);
  n.finish();
  e.mode = has_blocks ? "blocks" : has_every ? "every" : has_macs ? "macs" : "default";
  if (!mode.empty() && mode != e.mode)
    n.fail("mode",
           "\"" + mode + "\" disagrees with the keys given (they imply \"" + e.mode + "\")");
  if (has_blocks) {
    if (e.blocks.empty()) n.fail("blocks", "must list at least one block (1-based, increasing)");
    for (std::size_t i = 1; i < e.blocks.size(); ++i)
      if (e.blocks[i] <= e.blocks[i - 1])
        n.fail("blocks", "must be strictly increasing (entry " + std::to_string(i) + " is " +
                             std::to_string(e.blocks[i]) + " after " +
                             std::to_string(e.blocks[i - 1]) + ")");
  }
  if (has_macs) {
    if (e.mac_fractions.empty())
      n.fail("mac_fractions", "must list at least one fraction in (0, 1)");
    for (std::size_t i = 0; i < e.mac_fractions.size(); ++i) {
      const double f = e.mac_fractions[i];
      if (!(f > 0.0 && f < 1.0))
        n.fail("mac_fractions", "entry " + std::to_string(i) + " = " + std::to_string(f) +
                                    " must be in (0, 1) (the final exit is always added)");
      if (i > 0 && f <= e.mac_fractions[i - 1])
        n.fail("mac_fractions", "must be strictly increasing");
    }
  }
  return e;
}

}  // namespace

ModelConfig parse_model_config(const config::Node& n) {
  ModelConfig c;
  c.arch = n.choice("arch", c.arch, architecture_names());
  c.in_channels = n.integer("in_channels", c.in_channels, 1, 3);
  if (c.in_channels == 2) n.fail("in_channels", "must be 1 or 3, got 2");
  c.num_classes = n.integer("num_classes", c.num_classes, 2, 100000);
  c.input_size = n.integer("input_size", c.arch == "resnet_cifar" ? 32 : c.input_size, 8, 4096);
  c.width_mult = n.number("width_mult", c.width_mult, 0.05, 4.0);
  c.depth = n.integer("depth", c.depth, 8, 1202);
  if ((c.depth - 2) % 6 != 0)
    n.fail("depth", "resnet_cifar depth must be 6n+2 (8, 14, 20, 32, 44, 56, 110, …), got " +
                        std::to_string(c.depth));
  c.width = n.integer("width", c.width, 2, 1024);
  c.small_input = n.boolean("small_input", c.small_input);
  c.exits = parse_exits(n);
  c.head = n.choice("head", c.head, kHeads);
  c.dropout = n.number("dropout", c.arch == "mobilenet_v2" ? 0.2 : 0.0, 0.0, 0.95);
  c.pretrained = n.string("pretrained", "");
  n.finish();
  // A resnet needs at least a few pixels left after its total stride; catch absurd sizes early.
  const std::int64_t min_size = (c.arch == "resnet_cifar" || c.small_input) ? 8 : 32;
  if (c.input_size < min_size)
    n.fail("input_size", "must be ≥ " + std::to_string(min_size) + " for " + c.arch +
                             (c.small_input ? " with small_input" : "") + ", got " +
                             std::to_string(c.input_size));
  return c;
}

nlohmann::json to_json(const ModelConfig& c) {
  nlohmann::json exits = nlohmann::json::object();
  exits["mode"] = c.exits.mode;
  if (c.exits.mode == "blocks") exits["blocks"] = c.exits.blocks;
  if (c.exits.mode == "every") exits["every"] = c.exits.every;
  if (c.exits.mode == "macs") exits["mac_fractions"] = c.exits.mac_fractions;
  return {{"arch", c.arch},
          {"in_channels", c.in_channels},
          {"num_classes", c.num_classes},
          {"input_size", c.input_size},
          {"width_mult", c.width_mult},
          {"depth", c.depth},
          {"width", c.width},
          {"small_input", c.small_input},
          {"exits", exits},
          {"head", c.head},
          {"dropout", c.dropout},
          {"pretrained", c.pretrained}};
}

std::vector<std::string> architecture_names() {
  std::vector<std::string> names;
  for (const auto& b : builtin_backbones()) names.push_back(b.name);
  return names;
}
std::vector<std::string> head_names() { return kHeads; }

}  // namespace isplitee::model
