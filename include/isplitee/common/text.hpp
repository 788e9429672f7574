#pragma once
/// \file Small string helpers shared by config validation and reports.

#include <string>
#include <string_view>
#include <vector>

namespace isplitee {

/// Levenshtein distance between two strings.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` by edit distance, or "" when none is within max(2, |word|/3).
std::string nearest_word(std::string_view word, const std::vector<std::string>& candidates);

/// Splits `s` on `sep` (empty fields kept).
std::vector<std::string> split(std::string_view s, char sep);

/// Joins `parts` with `sep`.
std::string join(const std::vector<std::string>& parts, std::string_view sep);

/// Formats a double compactly (%.6g), for messages.
std::string format_number(double v);

}  // namespace isplitee
