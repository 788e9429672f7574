#include <mpi.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "isplitee/common/error.hpp"
#include "isplitee/common/log.hpp"
#include "isplitee/mpi/mpi.hpp"

namespace isplitee::mpi {
namespace {

/// Waits for a non-blocking operation by polling: a blocking MPI call spins at 100% CPU, which
/// would take a core from rank 0 while the others wait for it (training, merging traces).
void wait(MPI_Request& req) {
  int done = 0;
  auto pause = std::chrono::microseconds(50);
  while (true) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::milliseconds(5)) pause *= 2;
  }
}

void broadcast(std::string& s, int root) {
  std::uint64_t n = s.size();
  MPI_Request req;
  MPI_Ibcast(&n, 1, MPI_UINT64_T, root, MPI_COMM_WORLD, &req);
  wait(req);
  s.resize(n);
  if (n == 0) return;
  ISPLITEE_CHECK_CODE(n <= static_cast<std::uint64_t>(INT32_MAX), ErrorCode::kInternal,
                      "mpi: a broadcast of ", n, " bytes (more than 2 GiB)");
  MPI_Ibcast(s.data(), static_cast<int>(n), MPI_CHAR, root, MPI_COMM_WORLD, &req);
  wait(req);
}

/// Every rank's bytes on rank 0 (in rank order); elsewhere empty.
std::vector<std::string> gather(const std::string& mine, int rank, int size) {
  const std::uint64_t n = mine.size();
  std::vector<std::uint64_t> sizes(static_cast<std::size_t>(size));
  MPI_Request req;
  MPI_Igather(&n, 1, MPI_UINT64_T, sizes.data(), 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &req);
  wait(req);
  std::vector<int> counts(sizes.size()), displs(sizes.size());
  std::uint64_t total = 0;
  for (std::size_t r = 0; r < sizes.size(); ++r) {
    counts[r] = static_cast<int>(sizes[r]);
    displs[r] = static_cast<int>(total);
    total += sizes[r];
  }
  ISPLITEE_CHECK_CODE(total <= static_cast<std::uint64_t>(INT32_MAX), ErrorCode::kInternal,
                      "mpi: results of ", total, " bytes to gather (more than 2 GiB)");
  std::string all(rank == 0 ? total : 0, '\0');
  MPI_Igatherv(mine.data(), static_cast<int>(n), MPI_CHAR, all.data(), counts.data(), displs.data(),
               MPI_CHAR, 0, MPI_COMM_WORLD, &req);
  wait(req);
  std::vector<std::string> out;
  if (rank == 0)
    for (std::size_t r = 0; r < sizes.size(); ++r)
      out.push_back(all.substr(static_cast<std::size_t>(displs[r]), sizes[r]));
  return out;
}

// Length-prefixed framing of (index, bytes) records.
void put(std::string& out, std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), 8); }
void put(std::string& out, const std::string& s) {
  put(out, static_cast<std::uint64_t>(s.size()));
  out += s;
}
std::uint64_t get_u64(const std::string& in, std::size_t& at) {
  ISPLITEE_CHECK_CODE(at + 8 <= in.size(), ErrorCode::kInternal, "mpi: truncated message");
  std::uint64_t v;
  std::memcpy(&v, in.data() + at, 8);
  at += 8;
  return v;
}
std::string get_str(const std::string& in, std::size_t& at) {
  const auto n = get_u64(in, at);
  ISPLITEE_CHECK_CODE(at + n <= in.size(), ErrorCode::kInternal, "mpi: truncated message");
  std::string s = in.substr(at, n);
  at += n;
  return s;
}

/// One rank's outcome of run_items: its results and its first failure.
struct Outcome {
  std::vector<std::pair<std::uint64_t, std::string>> results;
  int failed_code = 0;  ///< 0: no failure
  std::string failure;  ///< "<item>: <message>"

  std::string encode() const {
    std::string out;
    put(out, static_cast<std::uint64_t>(failed_code));
    put(out, failure);
    put(out, static_cast<std::uint64_t>(results.size()));
    for (const auto& [i, s] : results) put(out, i), put(out, s);
    return out;
  }
  static Outcome decode(const std::string& in) {
    Outcome o;
    std::size_t at = 0;
    o.failed_code = static_cast<int>(get_u64(in, at));
    o.failure = get_str(in, at);
    const auto n = get_u64(in, at);
    for (std::uint64_t k = 0; k < n; ++k) {
      const auto i = get_u64(in, at);
      o.results.emplace_back(i, get_str(in, at));
    }
    return o;
  }
};

// The line a fatal signal prints: which rank died on which work item. A fixed buffer, written by
// the handler with write(2) only (async-signal-safe); empty between items.
char g_item_line[1024];
volatile std::sig_atomic_t g_item_len = 0;

void set_item_line(const std::string& line) {
  g_item_len = 0;  // never half-updated when a signal comes in between
  const std::size_t n = std::min(line.size(), sizeof g_item_line);
  std::memcpy(g_item_line, line.data(), n);
  g_item_len = static_cast<std::sig_atomic_t>(n);
}

extern "C" void on_fatal_signal(int sig) {
  if (g_item_len > 0) {
    char digits[8];
    int n = 0;
    for (int v = sig; v > 0 && n < 7; v /= 10) digits[n++] = static_cast<char>('0' + v % 10);
    static const char kHead[] = "isplitee: error: ", kTail[] = ": killed by signal ";
    (void)!::write(2, kHead, sizeof kHead - 1);
    (void)!::write(2, g_item_line, static_cast<std::size_t>(g_item_len));
    (void)!::write(2, kTail, sizeof kTail - 1);
    while (n > 0) (void)!::write(2, &digits[--n], 1);
    (void)!::write(2, "\n", 1);
  }
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

int code_of(const std::exception& e) {
  const auto* err = dynamic_cast<const Error*>(&e);
  return static_cast<int>(err ? err->code() : ErrorCode::kInternal);
}

class MpiWorkGroup final : public WorkGroup {
 public:
  MpiWorkGroup() {
    int r = 0, s = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    MPI_Comm_size(MPI_COMM_WORLD, &s);
    rank_ = r, size_ = s;
    if (const char* f = std::getenv("ISPLITEE_MPI_FAIL_RANK"))
      fail_first_ = std::to_string(rank_) == f;
    if (const char* f = std::getenv("ISPLITEE_MPI_CRASH_RANK"))
      crash_first_ = std::to_string(rank_) == f;
    for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) std::signal(sig, on_fatal_signal);
  }
  std::size_t rank() const override { return static_cast<std::size_t>(rank_); }
  std::size_t size() const override { return static_cast<std::size_t>(size_); }

  std::vector<std::string> run_items(const std::vector<std::string>& names,
                                     const std::function<std::string(std::size_t)>& fn) override {
    Outcome mine;
    for (std::size_t i = rank(); i < names.size(); i += size()) {
      try {
        logger()->debug("rank {}: {}", rank_, names[i]);
        set_item_line("rank " + std::to_string(rank_) + ": " + names[i]);
        if (crash_first_) std::raise(SIGSEGV);
        if (fail_first_) {
          fail_first_ = false;
          fail(ErrorCode::kInternal, "failed on purpose (ISPLITEE_MPI_FAIL_RANK)");
        }
        mine.results.emplace_back(i, fn(i));
      } catch (const std::exception& e) {
        mine.failed_code = code_of(e);
        mine.failure = names[i] + ": " + e.what();
        break;
      }
    }
    set_item_line("");
    const auto all = gather(mine.encode(), rank_, size_);
    std::vector<std::string> out(names.size());
    std::string verdict;  // "<code> rank R: <item>: <message>" or "" (rank 0 decides)
    if (rank_ == 0) {
      for (std::size_t r = 0; r < all.size(); ++r) {
        auto o = Outcome::decode(all[r]);
        if (o.failed_code != 0 && verdict.empty())
          verdict = std::to_string(o.failed_code) + " rank " + std::to_string(r) + ": " + o.failure;
        for (auto& [i, s] : o.results) out[i] = std::move(s);
      }
    } else {
      for (auto& [i, s] : mine.results) out[i] = std::move(s);
    }
    throw_if_failed(verdict);
    return out;
  }

  std::string on_root(const std::string& what, const std::function<std::string()>& fn) override {
    std::string result, verdict;
    if (rank_ == 0) {
      set_item_line("rank 0: " + what);
      try {
        result = fn();
      } catch (const std::exception& e) {
        verdict = std::to_string(code_of(e)) + " rank 0: " + what + ": " + e.what();
      }
      set_item_line("");
    }
    throw_if_failed(verdict);
    broadcast(result, 0);
    return result;
  }

 private:
  /// Broadcasts rank 0's verdict; every rank throws it when it names a failure.
  void throw_if_failed(std::string& verdict) {
    broadcast(verdict, 0);
    if (verdict.empty()) return;
    const auto space = verdict.find(' ');
    throw GroupError(static_cast<ErrorCode>(std::stoi(verdict.substr(0, space))),
                     verdict.substr(space + 1));
  }

  int rank_ = 0, size_ = 1;
  bool fail_first_ = false, crash_first_ = false;
};

}  // namespace

bool launched_by_mpi() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(v) != nullptr) return true;
  return false;
}

struct Session::Impl {
  MpiWorkGroup group;
};

Session::Session(int* argc, char*** argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) MPI_Init(argc, argv);
  impl_ = std::make_unique<Impl>();
}

Session::~Session() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

WorkGroup& Session::group() { return impl_->group; }

void Session::abort(int code) {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);
}

}  // namespace isplitee::mpi
