#pragma once
/// \file SHA-256 digests (OpenSSL's libcrypto) for checkpoint identity, trace cache keys and the
/// live protocol's model check.

#include <filesystem>
#include <string>
#include <string_view>

namespace isplitee {

/// Lower-case hex SHA-256 of a byte string.
std::string sha256_hex(std::string_view bytes);

/// Lower-case hex SHA-256 of a file's bytes; Error(kIo) naming the file when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace isplitee
