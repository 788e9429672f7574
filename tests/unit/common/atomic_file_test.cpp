// Output paths are checked before any work, and a writer never leaves a temporary file behind.
#include "isplitee/common/atomic_file.hpp"

#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"
#include "support/temp_dir.hpp"

namespace isplitee {
namespace {

namespace fs = std::filesystem;

std::string io_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(ErrorCode::kIo)) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no isplitee::Error thrown";
  return "";
}

TEST(OutputFile, CheckSaysWhatIsWrong) {
  testing::TempDir dir("output_file");
  const auto d = dir.path().string();
  EXPECT_EQ(io_error_of([&] { check_output_file(dir.path()); }),
            "cannot write " + d + ": is a directory");
  EXPECT_EQ(io_error_of([&] { check_output_file(dir.path() / "a" / "b.csv"); }),
            "cannot write " + d + "/a/b.csv: directory " + d + "/a does not exist");
  dir.write("file", "x");
  EXPECT_EQ(io_error_of([&] { check_output_file(dir.path() / "file" / "b.csv"); }),
            "cannot write " + d + "/file/b.csv: " + d + "/file is not a directory");
  EXPECT_NO_THROW(check_output_file(dir.path() / "b.csv"));
  EXPECT_NO_THROW(check_output_file(dir.path() / "file"));  // overwriting a file is fine
  EXPECT_NO_THROW(check_output_file("relative.csv"));       // the current directory
  EXPECT_FALSE(fs::exists(dir.path() / "a"));               // the check creates nothing
}

TEST(OutputFile, WritersRefuseADirectoryAndLeaveNoTemporary) {
  testing::TempDir dir("atomic_dir");
  fs::create_directories(dir.path() / "out");
  EXPECT_EQ(io_error_of([&] { write_text_atomic(dir.path() / "out", "x"); }),
            "cannot write " + (dir.path() / "out").string() + ": is a directory");
  const auto tmp = temporary_sibling(dir.path() / "out");
  write_text_atomic(tmp, "x");
  EXPECT_EQ(io_error_of([&] { commit_file(tmp, dir.path() / "out"); }),
            "cannot write " + (dir.path() / "out").string() + ": is a directory");
  std::size_t entries = 0;
  for (const auto& e : fs::directory_iterator(dir.path())) entries += e.path() != tmp;
  EXPECT_EQ(entries, 1u);  // only out/
  EXPECT_FALSE(fs::exists(tmp));
  EXPECT_TRUE(fs::is_empty(dir.path() / "out"));
  EXPECT_EQ(io_error_of([&] { read_text_file(dir.path() / "out"); }),
            "cannot read " + (dir.path() / "out").string() + ": is a directory");
}

}  // namespace
}  // namespace isplitee
