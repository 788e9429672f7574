#include "isplitee/config/node.hpp"

#include <cmath>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/text.hpp"

namespace isplitee::config {
namespace {

const nlohmann::json& null_json() {
  static const nlohmann::json kNull;
  return kNull;
}
const nlohmann::json& empty_object() {
  static const nlohmann::json kEmpty = nlohmann::json::object();
  return kEmpty;
}

std::string range_text(double lo, double hi) {
  return "[" + (std::isinf(lo) ? std::string("-inf") : format_number(lo)) + ", " +
         (std::isinf(hi) ? std::string("inf") : format_number(hi)) + "]";
}

// Converts a byte offset into "line L, column C" (1-based).
std::string line_column(const std::string& text, std::size_t byte) {
  std::size_t line = 1, col = 1;
  for (std::size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return "line " + std::to_string(line) + ", column " + std::to_string(col);
}

// Text that did not come through the JSON parser (--set, --policy) must be UTF-8: every later
// dump() of it (messages, config.resolved.json, report.json) would throw otherwise.
void check_utf8(const nlohmann::json& j, const std::string& what) {
  try {
    (void)j.dump();
  } catch (const nlohmann::json::type_error&) {
    fail(ErrorCode::kUsage, what, ": not valid UTF-8 text");
  }
}

}  // namespace

std::string type_name(const nlohmann::json& j) {
  if (j.is_number_integer() || j.is_number_unsigned()) return "integer";
  return j.type_name();
}

// ---- Document --------------------------------------------------------------------------------

Document Document::load(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    fail(ErrorCode::kUsage, path.string(), ": config file not found");
  if (std::filesystem::is_directory(path, ec))
    fail(ErrorCode::kUsage, path.string(), ": is a directory, not a config file");
  return parse(read_text_file(path), path.string());
}

Document Document::parse(const std::string& text, const std::string& source_name) {
  Document d;
  d.source_ = source_name;
  try {
    d.json_ = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/true,
                                    /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    std::string what = e.what();
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line 3, column 5: …"
    const auto colon = what.find(": ", what.find("parse error"));
    std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    fail(ErrorCode::kUsage, source_name, ": malformed JSON at ",
         line_column(text, e.byte > 0 ? e.byte - 1 : 0), ": ", detail);
  } catch (const nlohmann::json::exception& e) {  // e.g. a number beyond double's range
    fail(ErrorCode::kUsage, source_name, ": malformed JSON: ", e.what());
  }
  if (!d.json_.is_object())
    fail(ErrorCode::kUsage, source_name, ": the top level must be a JSON object, got ",
         type_name(d.json_));
  return d;
}

Document Document::from_json(nlohmann::json j, const std::string& source_name) {
  Document d;
  d.json_ = std::move(j);
  d.source_ = source_name;
  check_utf8(d.json_, source_name);
  if (!d.json_.is_object())
    fail(ErrorCode::kUsage, source_name, ": the top level must be a JSON object");
  return d;
}

void Document::apply_override(const std::string& assignment, const std::string& origin) {
  check_utf8(nlohmann::json(assignment), "--set " + assignment);
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    fail(ErrorCode::kUsage, "--set ", assignment, ": expected KEY.PATH=VALUE");
  const std::string key = assignment.substr(0, eq);
  const std::string text = assignment.substr(eq + 1);
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception&) {  // also a number beyond double's range
    value = text;  // bare words are strings: --set policy.name=i-splitee
  }
  const auto parts = split(key, '.');
  nlohmann::json* cur = &json_;
  std::string node_path;  // the same path as Node spells it: "policies[0].beta"
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.empty()) fail(ErrorCode::kUsage, "--set ", assignment, ": empty path component");
    const bool last = i + 1 == parts.size();
    if (cur->is_array()) {
      std::size_t idx = 0;
      try {
        idx = std::stoul(p);
      } catch (...) {
        fail(ErrorCode::kUsage, "--set ", assignment, ": '", p, "' indexes an array; use a number");
      }
      if (idx >= cur->size())
        fail(ErrorCode::kUsage, "--set ", assignment, ": index ", idx, " out of range [0, ",
             cur->size(), ")");
      cur = &(*cur)[idx];
      node_path += "[" + std::to_string(idx) + "]";
    } else {
      if (cur->is_null()) *cur = nlohmann::json::object();
      if (!cur->is_object())
        fail(ErrorCode::kUsage, "--set ", assignment, ": '",
             join({parts.begin(), parts.begin() + i}, "."), "' is a ", type_name(*cur),
             ", not an object");
      cur = &(*cur)[p];
      node_path += (node_path.empty() ? "" : ".") + p;
    }
    if (last) *cur = value;
  }
  overrides_.emplace_back(node_path, origin.empty() ? "--set " + assignment : origin);
}

const std::string& Document::origin(const std::string& path) const {
  for (auto it = overrides_.rbegin(); it != overrides_.rend(); ++it) {
    const std::string& p = it->first;
    if (path.compare(0, p.size(), p) == 0 &&
        (path.size() == p.size() || path[p.size()] == '.' || path[p.size()] == '['))
      return it->second;
  }
  return source_;
}

void Document::apply_overrides(const std::vector<std::string>& assignments) {
  for (const auto& a : assignments) apply_override(a);
}

// ---- Node ------------------------------------------------------------------------------------

Node::Node(const Document& doc) : Node(doc.json(), doc, "") {}

Node::Node(const nlohmann::json& value, std::string source, std::string path)
    : value_(&value), source_(std::move(source)), path_(std::move(path)) {
  if (!value_->is_object())
    ::isplitee::fail(ErrorCode::kUsage, source_, ": ", path_.empty() ? "(top level)" : path_,
                     ": expected an object, got ", type_name(*value_));
}

Node::Node(const nlohmann::json& value, const Document& doc, std::string path)
    : value_(&value), source_(doc.source()), path_(std::move(path)), doc_(&doc) {
  if (!value_->is_object())
    ::isplitee::fail(ErrorCode::kUsage, origin_of(path_), ": ",
                     path_.empty() ? "(top level)" : path_, ": expected an object, got ",
                     type_name(*value_));
}

Node Node::child(const nlohmann::json& value, std::string path) const {
  return doc_ ? Node(value, *doc_, std::move(path)) : Node(value, source_, std::move(path));
}

const std::string& Node::origin_of(const std::string& path) const {
  return doc_ ? doc_->origin(path) : source_;
}

std::string Node::path_of(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

void Node::fail(const std::string& key, const std::string& message) const {
  const std::string path = key.empty() ? path_ : path_of(key);
  ::isplitee::fail(ErrorCode::kUsage, origin_of(path), ": ", path, ": ", message);
}

const nlohmann::json* Node::find(const std::string& key) const {
  known_.insert(key);
  auto it = value_->find(key);
  if (it == value_->end() || it->is_null()) return nullptr;
  return &*it;
}

bool Node::has(const std::string& key) const { return find(key) != nullptr; }

double Node::number(const std::string& key, double def, double lo, double hi) const {
  const auto* j = find(key);
  if (!j) return def;
  if (!j->is_number()) fail(key, "expected a number, got " + type_name(*j) + " " + j->dump());
  const double v = j->get<double>();
  if (!(v >= lo && v <= hi))
    fail(key, "value " + format_number(v) + " is out of range " + range_text(lo, hi));
  return v;
}

double Node::number_required(const std::string& key, double lo, double hi) const {
  if (!has(key)) fail(key, "missing required key (a number in " + range_text(lo, hi) + ")");
  return number(key, 0.0, lo, hi);
}

std::int64_t Node::integer(const std::string& key, std::int64_t def, std::int64_t lo,
                           std::int64_t hi) const {
  const auto* j = find(key);
  if (!j) return def;
  std::int64_t v = 0;
  if (j->is_number_integer() || j->is_number_unsigned()) {
    v = j->get<std::int64_t>();
  } else if (j->is_number_float() && std::floor(j->get<double>()) == j->get<double>() &&
             std::fabs(j->get<double>()) < 9e15) {
    v = static_cast<std::int64_t>(j->get<double>());
  } else {
    fail(key, "expected an integer, got " + type_name(*j) + " " + j->dump());
  }
  if (v < lo || v > hi)
    fail(key, "value " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
  return v;
}

std::int64_t Node::integer_required(const std::string& key, std::int64_t lo,
                                    std::int64_t hi) const {
  if (!has(key))
    fail(key, "missing required key (an integer in [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "])");
  return integer(key, 0, lo, hi);
}

bool Node::boolean(const std::string& key, bool def) const {
  const auto* j = find(key);
  if (!j) return def;
  if (!j->is_boolean()) fail(key, "expected true or false, got " + type_name(*j) + " " + j->dump());
  return j->get<bool>();
}

std::string Node::string(const std::string& key, const std::string& def) const {
  const auto* j = find(key);
  if (!j) return def;
  if (!j->is_string()) fail(key, "expected a string, got " + type_name(*j) + " " + j->dump());
  return j->get<std::string>();
}

std::string Node::string_required(const std::string& key) const {
  if (!has(key)) fail(key, "missing required key (a string)");
  return string(key, "");
}

std::string Node::choice(const std::string& key, const std::string& def,
                         const std::vector<std::string>& allowed) const {
  const std::string v = string(key, def);
  for (const auto& a : allowed)
    if (a == v) return v;
  std::string msg = "unknown value '" + v + "' (valid: " + join(allowed, ", ") + ")";
  const std::string near = nearest_word(v, allowed);
  if (!near.empty()) msg += "; did you mean '" + near + "'?";
  fail(key, msg);
}

std::vector<double> Node::numbers(const std::string& key, const std::vector<double>& def, double lo,
                                  double hi) const {
  const auto* j = find(key);
  if (!j) return def;
  if (j->is_number()) return {number(key, 0.0, lo, hi)};
  if (!j->is_array()) fail(key, "expected a list of numbers, got " + type_name(*j));
  std::vector<double> out;
  for (std::size_t i = 0; i < j->size(); ++i) {
    const auto& e = (*j)[i];
    const std::string k = key + "[" + std::to_string(i) + "]";
    if (!e.is_number()) fail(k, "expected a number, got " + type_name(e) + " " + e.dump());
    const double v = e.get<double>();
    if (!(v >= lo && v <= hi))
      fail(k, "value " + format_number(v) + " is out of range " + range_text(lo, hi));
    out.push_back(v);
  }
  return out;
}

std::vector<std::int64_t> Node::integers(const std::string& key,
                                         const std::vector<std::int64_t>& def, std::int64_t lo,
                                         std::int64_t hi) const {
  const auto* j = find(key);
  if (!j) return def;
  if (!j->is_array()) {
    if (j->is_number()) return {integer(key, 0, lo, hi)};
    fail(key, "expected a list of integers, got " + type_name(*j));
  }
  std::vector<std::int64_t> out;
  for (std::size_t i = 0; i < j->size(); ++i) {
    const auto& e = (*j)[i];
    const std::string k = key + "[" + std::to_string(i) + "]";
    if (!(e.is_number_integer() || e.is_number_unsigned()))
      fail(k, "expected an integer, got " + type_name(e) + " " + e.dump());
    const auto v = e.get<std::int64_t>();
    if (v < lo || v > hi)
      fail(k, "value " + std::to_string(v) + " is out of range [" + std::to_string(lo) + ", " +
                  std::to_string(hi) + "]");
    out.push_back(v);
  }
  return out;
}

std::vector<std::string> Node::strings(const std::string& key,
                                       const std::vector<std::string>& def) const {
  const auto* j = find(key);
  if (!j) return def;
  if (j->is_string()) return {j->get<std::string>()};
  if (!j->is_array()) fail(key, "expected a list of strings, got " + type_name(*j));
  std::vector<std::string> out;
  for (std::size_t i = 0; i < j->size(); ++i) {
    const auto& e = (*j)[i];
    if (!e.is_string())
      fail(key + "[" + std::to_string(i) + "]", "expected a string, got " + type_name(e));
    out.push_back(e.get<std::string>());
  }
  return out;
}

Node Node::object(const std::string& key) const {
  const auto* j = find(key);
  if (!j) return child(empty_object(), path_of(key));
  if (!j->is_object()) fail(key, "expected an object, got " + type_name(*j));
  return child(*j, path_of(key));
}

std::vector<Node> Node::objects(const std::string& key) const {
  const auto* j = find(key);
  std::vector<Node> out;
  if (!j) return out;
  if (!j->is_array()) fail(key, "expected a list of objects, got " + type_name(*j));
  for (std::size_t i = 0; i < j->size(); ++i) {
    const std::string k = path_of(key) + "[" + std::to_string(i) + "]";
    if (!(*j)[i].is_object())
      ::isplitee::fail(ErrorCode::kUsage, origin_of(k), ": ", k, ": expected an object, got ",
                       type_name((*j)[i]));
    out.push_back(child((*j)[i], k));
  }
  return out;
}

const nlohmann::json& Node::raw(const std::string& key) const {
  const auto* j = find(key);
  return j ? *j : null_json();
}

void Node::finish() const {
  std::vector<std::string> known(known_.begin(), known_.end());
  for (auto it = value_->begin(); it != value_->end(); ++it) {
    if (known_.count(it.key())) continue;
    std::string msg = "unknown key";
    const std::string near = nearest_word(it.key(), known);
    if (!near.empty())
      msg += "; did you mean '" + near + "'?";
    else if (!known.empty())
      msg += " (valid keys: " + join(known, ", ") + ")";
    fail(it.key(), msg);
  }
}

}  // namespace isplitee::config
