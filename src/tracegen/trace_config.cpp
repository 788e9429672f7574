#include "isplitee/tracegen/trace_config.hpp"

#include <set>

#include "isplitee/common/error.hpp"

namespace isplitee::tracegen {

TraceConfig parse_trace_config(const config::Node& n) {
  TraceConfig c;
  c.split = n.choice("split", c.split, {"train", "val", "test"});
  c.batch_size = n.integer("batch_size", c.batch_size, 1, 65536);
  c.max_samples = n.integer("max_samples", c.max_samples, 0, INT64_MAX);
  if (n.has("distortions")) {
    c.distortions.clear();
    for (const auto& d : n.objects("distortions"))
      c.distortions.push_back(distort::parse_distortion_spec(d));
    if (c.distortions.empty())
      n.fail("distortions", "empty list (give at least {\"name\": \"none\"})");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < c.distortions.size(); ++i) {
      const auto l = distort::label(c.distortions[i]);
      if (!seen.insert(l).second)
        n.fail("distortions[" + std::to_string(i) + "]",
               "duplicate distortion '" + l + "' (each trace name must be unique)");
    }
  }
  c.save_logits = n.boolean("save_logits", c.save_logits);
  c.fold_batchnorm = n.boolean("fold_batchnorm", c.fold_batchnorm);
  c.workers = n.integer("workers", c.workers, 0, 256);
  n.finish();
  return c;
}

nlohmann::json to_json(const TraceConfig& c) {
  nlohmann::json d = nlohmann::json::array();
  for (const auto& s : c.distortions) d.push_back(distort::to_json(s));
  return {
      {"split", c.split},    {"batch_size", c.batch_size},   {"max_samples", c.max_samples},
      {"distortions", d},    {"save_logits", c.save_logits}, {"fold_batchnorm", c.fold_batchnorm},
      {"workers", c.workers}};
}

std::vector<std::string> planned_trace_names(const TraceConfig& c) {
  std::vector<std::string> names;
  for (const auto& s : c.distortions) names.push_back(distort::label(s));
  return names;
}

}  // namespace isplitee::tracegen
