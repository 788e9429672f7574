// Replays fuzz inputs through a harness without libFuzzer: `fuzz_replay_<target> PATH…` runs every
// file of each directory (sorted) and each file given. This is how CI checks the seed corpora and
// the regression inputs with any compiler, sanitized or not (FUZZING.md).

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::filesystem::path> inputs_of(const std::filesystem::path& p) {
  std::vector<std::filesystem::path> out;
  if (std::filesystem::is_directory(p)) {
    for (const auto& e : std::filesystem::recursive_directory_iterator(p))
      if (e.is_regular_file() && e.path().filename().string().front() != '.')
        out.push_back(e.path());
    std::sort(out.begin(), out.end());
  } else if (std::filesystem::is_regular_file(p)) {
    out.push_back(p);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t replayed = 0;
  for (int a = 1; a < argc; ++a) {
    const auto files = inputs_of(argv[a]);
    if (files.empty()) std::printf("%s: no inputs (skipped)\n", argv[a]);
    for (const auto& f : files) {
      std::ifstream in(f, std::ios::binary);
      const std::string bytes((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
      if (!in.good() && !in.eof()) {
        std::fprintf(stderr, "cannot read %s\n", f.string().c_str());
        return 1;
      }
      std::printf("replaying %s (%zu bytes)\n", f.string().c_str(), bytes.size());
      std::fflush(stdout);  // a crash below then names its input
      LLVMFuzzerTestOneInput(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
      ++replayed;
    }
  }
  // A replay that ran nothing proves nothing.
  if (replayed == 0) {
    std::fprintf(stderr, "no inputs replayed\n");
    return 1;
  }
  std::printf("%zu inputs replayed without a finding\n", replayed);
  return 0;
}
