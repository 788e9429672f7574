#pragma once
/// \file Strict JSON configuration: every key is type- and range-checked, unknown keys are errors
/// that name the JSON path and the nearest valid key (docs/architecture.md, "Files a run reads and
/// writes").

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace isplitee::config {

/// A parsed configuration file (or an in-memory document) with `--set` overrides applied.
class Document {
 public:
  /// Parses `path`; malformed JSON throws Error(kUsage) naming the file, line and column.
  static Document load(const std::filesystem::path& path);
  /// Parses `text` as if it came from `source_name`.
  static Document parse(const std::string& text, const std::string& source_name);
  /// Wraps an existing JSON value.
  static Document from_json(nlohmann::json j, const std::string& source_name);

  /// Applies one override "a.b.c=value": value is parsed as JSON when it is valid JSON, else taken
  /// as a string. Intermediate objects are created; array elements are addressed by index.
  /// `origin` names it in messages about the value (default "--set a.b.c=value").
  void apply_override(const std::string& assignment, const std::string& origin = "");
  /// Applies each override in order.
  void apply_overrides(const std::vector<std::string>& assignments);

  /// The document's JSON.
  const nlohmann::json& json() const noexcept { return json_; }
  /// The file (or source name) for messages.
  const std::string& source() const noexcept { return source_; }
  /// Who set the value at `path` (a Node path such as "cost.alpha" or "policies[0].beta"): the
  /// last `--set` assignment that wrote it or a JSON value above it, else source(). Messages name
  /// it, so a misspelt `--set` key is blamed on the `--set`, not on the file.
  const std::string& origin(const std::string& path) const;

 private:
  nlohmann::json json_;
  std::string source_;
  std::vector<std::pair<std::string, std::string>> overrides_;  ///< (Node path, "--set a.b=v")
};

/// A view of one JSON object under validation. Every accessor records its key as known, so that
/// finish() can reject the keys nobody asked for. Messages read "FILE: PATH: …".
class Node {
 public:
  /// The root object of `doc` (which must outlive the node).
  explicit Node(const Document& doc);
  /// A node over `value` at `path` inside `source` (value must outlive the node).
  Node(const nlohmann::json& value, std::string source, std::string path);
  /// As above, inside `doc` (which must outlive the node): messages name the `--set` that wrote a
  /// bad value instead of the file.
  Node(const nlohmann::json& value, const Document& doc, std::string path);

  /// Whether `key` is present (and records it as known).
  bool has(const std::string& key) const;

  /// A number in [lo, hi]; `def` when absent.
  double number(const std::string& key, double def, double lo = -kInf, double hi = kInf) const;
  /// A required number in [lo, hi].
  double number_required(const std::string& key, double lo = -kInf, double hi = kInf) const;
  /// An integer in [lo, hi]; `def` when absent.
  std::int64_t integer(const std::string& key, std::int64_t def, std::int64_t lo,
                       std::int64_t hi) const;
  /// A required integer in [lo, hi].
  std::int64_t integer_required(const std::string& key, std::int64_t lo, std::int64_t hi) const;
  /// A boolean; `def` when absent.
  bool boolean(const std::string& key, bool def) const;
  /// A string; `def` when absent.
  std::string string(const std::string& key, const std::string& def) const;
  /// A required string.
  std::string string_required(const std::string& key) const;
  /// A string that must be one of `allowed`; `def` when absent.
  std::string choice(const std::string& key, const std::string& def,
                     const std::vector<std::string>& allowed) const;
  /// A list of numbers in [lo, hi]; `def` when absent.
  std::vector<double> numbers(const std::string& key, const std::vector<double>& def,
                              double lo = -kInf, double hi = kInf) const;
  /// A list of integers in [lo, hi]; `def` when absent.
  std::vector<std::int64_t> integers(const std::string& key, const std::vector<std::int64_t>& def,
                                     std::int64_t lo, std::int64_t hi) const;
  /// A list of strings; `def` when absent. A single string is accepted as a list of one.
  std::vector<std::string> strings(const std::string& key,
                                   const std::vector<std::string>& def) const;

  /// The object at `key`; an empty object when absent (so defaults apply).
  Node object(const std::string& key) const;
  /// The array of objects at `key`; empty when absent.
  std::vector<Node> objects(const std::string& key) const;
  /// The raw JSON at `key` (null when absent), for free-form parameter objects.
  const nlohmann::json& raw(const std::string& key) const;
  /// The raw JSON of this node.
  const nlohmann::json& json() const noexcept { return *value_; }

  /// Throws for the first key of this object that no accessor asked for, naming the nearest known
  /// key. Call after reading all keys of this node (children check themselves).
  void finish() const;

  /// Throws Error(kUsage) "FILE: PATH.key: message".
  [[noreturn]] void fail(const std::string& key, const std::string& message) const;
  /// "PATH.key" for messages.
  std::string path_of(const std::string& key) const;
  /// The source file name.
  const std::string& source() const noexcept { return source_; }
  /// This node's path ("" for the root).
  const std::string& path() const noexcept { return path_; }

  static constexpr double kInf = std::numeric_limits<double>::infinity();

 private:
  const nlohmann::json* find(const std::string& key) const;
  Node child(const nlohmann::json& value, std::string path) const;
  const std::string& origin_of(const std::string& path) const;
  const nlohmann::json* value_;
  std::string source_, path_;
  const Document* doc_ = nullptr;  ///< for origin(); null for nodes made without a Document
  mutable std::set<std::string> known_;
};

/// The JSON type name of `j` for messages ("string", "number", …).
std::string type_name(const nlohmann::json& j);

}  // namespace isplitee::config
