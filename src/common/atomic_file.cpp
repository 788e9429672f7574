#include "isplitee/common/atomic_file.hpp"

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>

#include "isplitee/common/error.hpp"

namespace isplitee {
namespace fs = std::filesystem;

namespace {
std::atomic<unsigned long> g_tmp_counter{0};

void fsync_path(const fs::path& p) {
  const int fd = ::open(p.c_str(), O_RDONLY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}
}  // namespace

fs::path temporary_sibling(const fs::path& path) {
  std::ostringstream name;
  name << '.' << path.filename().string() << ".tmp." << ::getpid() << '.' << g_tmp_counter++;
  return path.parent_path() / name.str();
}

void check_output_file(const fs::path& path) {
  std::error_code ec;
  if (path.empty()) fail(ErrorCode::kIo, "cannot write an output file with an empty name");
  if (fs::is_directory(path, ec))
    fail(ErrorCode::kIo, "cannot write ", path.string(), ": is a directory");
  const fs::path parent = path.has_parent_path() ? path.parent_path() : fs::path(".");
  if (!fs::exists(parent, ec))
    fail(ErrorCode::kIo, "cannot write ", path.string(), ": directory ", parent.string(),
         " does not exist");
  if (!fs::is_directory(parent, ec))
    fail(ErrorCode::kIo, "cannot write ", path.string(), ": ", parent.string(),
         " is not a directory");
  if (::access(parent.c_str(), W_OK) != 0)
    fail(ErrorCode::kIo, "cannot write ", path.string(), ": directory ", parent.string(), ": ",
         std::strerror(errno));
}

void commit_file(const fs::path& tmp, const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    fs::remove(tmp, ec);
    fail(ErrorCode::kIo, "cannot write ", path.string(), ": is a directory");
  }
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    fail(ErrorCode::kIo, "cannot write ", path.string(), ": rename failed: ", ec.message());
  }
}

void write_file_atomic(const fs::path& path, const std::function<void(std::ostream&)>& writer,
                       bool binary) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    fail(ErrorCode::kIo, "cannot write ", path.string(), ": is a directory");
  if (path.has_parent_path()) {
    fs::create_directories(path.parent_path(), ec);
    if (ec)
      fail(ErrorCode::kIo, "cannot create directory ", path.parent_path().string(), ": ",
           ec.message());
  }
  const fs::path tmp = temporary_sibling(path);
  try {
    {
      std::ofstream out(tmp, binary ? std::ios::out | std::ios::binary | std::ios::trunc
                                    : std::ios::out | std::ios::trunc);
      if (!out) fail(ErrorCode::kIo, "cannot write ", path.string(), ": ", std::strerror(errno));
      writer(out);
      out.flush();
      if (!out) fail(ErrorCode::kIo, "cannot write ", path.string(), ": write failed");
    }
    fsync_path(tmp);
    commit_file(tmp, path);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
}

void write_text_atomic(const fs::path& path, std::string_view contents) {
  write_file_atomic(path, [&](std::ostream& os) { os.write(contents.data(), contents.size()); });
}

std::string read_text_file(const fs::path& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec))
    fail(ErrorCode::kIo, "cannot read ", path.string(), ": is a directory");
  std::ifstream in(path, std::ios::in | std::ios::binary);
  if (!in) fail(ErrorCode::kIo, "cannot read ", path.string(), ": ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void prepare_output_dir(const fs::path& dir, bool force) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec))
      fail(ErrorCode::kIo, "output path ", dir.string(), " exists and is not a directory");
    if (!fs::is_empty(dir, ec) && !force)
      fail(ErrorCode::kIo, "output directory ", dir.string(),
           " already exists and is not empty (use --force to overwrite)");
    return;
  }
  fs::create_directories(dir, ec);
  if (ec) fail(ErrorCode::kIo, "cannot create directory ", dir.string(), ": ", ec.message());
}

}  // namespace isplitee
