#include "isplitee/common/work_group.hpp"

namespace isplitee {

std::vector<std::string> LocalWorkGroup::run_items(
    const std::vector<std::string>& names, const std::function<std::string(std::size_t)>& fn) {
  std::vector<std::string> out;
  out.reserve(names.size());
  for (std::size_t i = 0; i < names.size(); ++i) out.push_back(fn(i));
  return out;
}

std::string LocalWorkGroup::on_root(const std::string&, const std::function<std::string()>& fn) {
  return fn();
}

WorkGroup& local_work_group() {
  static LocalWorkGroup group;
  return group;
}

}  // namespace isplitee
