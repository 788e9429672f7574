// ParallelScope and work_group(): MPI when built with isplitee::mpi (ISPLITEE_WITH_MPI) and
// launched by mpirun/srun; this process alone otherwise.
#include "parallel.hpp"

#include <cstdio>
#include <memory>

#if ISPLITEE_WITH_MPI
#include "isplitee/mpi/mpi.hpp"
#endif

namespace isplitee::app {
namespace {
#if ISPLITEE_WITH_MPI
std::unique_ptr<mpi::Session>& session() {
  static std::unique_ptr<mpi::Session> s;
  return s;
}
#endif
}  // namespace

ParallelScope::ParallelScope([[maybe_unused]] int* argc, [[maybe_unused]] char*** argv) {
#if ISPLITEE_WITH_MPI
  if (mpi::launched_by_mpi()) session() = std::make_unique<mpi::Session>(argc, argv);
#endif
}

ParallelScope::~ParallelScope() {
#if ISPLITEE_WITH_MPI
  session().reset();  // MPI_Finalize
#endif
}

WorkGroup& work_group() {
#if ISPLITEE_WITH_MPI
  if (session()) return session()->group();
#endif
  return local_work_group();
}

int report_failure(const std::string& line, int code, bool agreed) {
  const auto& g = work_group();
  if (g.size() == 1 || (agreed && g.rank() == 0)) {
    std::fprintf(stderr, "isplitee: error: %s\n", line.c_str());
    return code;
  }
  if (agreed) return code;  // rank 0 prints it
  std::fprintf(stderr, "isplitee: error: rank %zu: %s\n", g.rank(), line.c_str());
  std::fflush(stderr);
#if ISPLITEE_WITH_MPI
  if (session()) session()->abort(code);
#endif
  return code;
}

}  // namespace isplitee::app
