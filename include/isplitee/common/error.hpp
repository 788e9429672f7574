#pragma once
/// \file The one exception type of isplitee and the check macro that names bad values.

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace isplitee {

/// What went wrong, mapped by the CLI to distinct exit codes.
enum class ErrorCode : int {
  kUsage = 2,     ///< bad command line or configuration
  kData = 3,      ///< malformed or inconsistent input data (dataset, trace, checkpoint)
  kIo = 4,        ///< a file or directory could not be read or written
  kInternal = 1,  ///< a broken invariant inside isplitee
};

namespace detail {
/// `message` with control characters escaped (\n, \r, \t, \xNN): messages quote bad input, and
/// an error must stay one line whatever that input holds.
inline std::string one_line(const std::string& message) {
  std::string out;
  out.reserve(message.size());
  for (const char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c != 0x7f) {
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else {
      const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}
}  // namespace detail

/// The exception thrown by every isplitee module. `what()` is one line meant for a user.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message)
      : std::runtime_error(detail::one_line(message)), code_(code) {}
  /// The category of the failure (decides the CLI exit code).
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

namespace detail {
template <typename... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << std::forward<Args>(args));
  return os.str();
}
}  // namespace detail

/// Throws Error(code, message built from args).
template <typename... Args>
[[noreturn]] void fail(ErrorCode code, Args&&... args) {
  throw Error(code, detail::concat(std::forward<Args>(args)...));
}

}  // namespace isplitee

/// Throws isplitee::Error(kUsage) with the concatenated message unless `cond` holds.
/// The message should name the bad value and the valid range.
#define ISPLITEE_CHECK(cond, ...)                                              \
  do {                                                                         \
    if (!(cond)) ::isplitee::fail(::isplitee::ErrorCode::kUsage, __VA_ARGS__); \
  } while (0)

/// As ISPLITEE_CHECK, with an explicit error code.
#define ISPLITEE_CHECK_CODE(cond, code, ...)          \
  do {                                                \
    if (!(cond)) ::isplitee::fail(code, __VA_ARGS__); \
  } while (0)

/// Checks an internal invariant; failing it is a bug in isplitee (exit code 1).
#define ISPLITEE_ASSERT(cond, ...)                                                        \
  do {                                                                                    \
    if (!(cond))                                                                          \
      ::isplitee::fail(::isplitee::ErrorCode::kInternal, "internal error: ", #cond, " (", \
                       __FILE__, ":", __LINE__, ") ", ##__VA_ARGS__);                     \
  } while (0)
