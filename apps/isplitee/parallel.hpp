#pragma once
// The processes one invocation runs on: this process alone, or every rank of an MPI job when the
// CLI was built with isplitee::mpi and started by mpirun/srun (`mpirun -np 4 isplitee run …`).
// No MPI header here: commands see the WorkGroup interface only.

#include <string>

#include "isplitee/common/work_group.hpp"

namespace isplitee::app {

/// For the life of main(): MPI_Init when built with MPI and launched by an MPI launcher
/// (isplitee::mpi::launched_by_mpi), MPI_Finalize at the end; nothing otherwise.
class ParallelScope {
 public:
  ParallelScope(int* argc, char*** argv);
  ~ParallelScope();
  ParallelScope(const ParallelScope&) = delete;
  ParallelScope& operator=(const ParallelScope&) = delete;
};

/// The group of this invocation (local_work_group() outside an MPI job).
WorkGroup& work_group();

/// Reports a failure the way main() does and returns the exit code: one line "isplitee: error: …"
/// on stderr. In an MPI job, an error every rank agreed on (`agreed`: a GroupError) is printed by
/// rank 0 only and every rank exits with its code; any other error is printed as "rank R: …" and
/// stops the whole job (MPI_Abort), since the other ranks may be waiting for this one.
int report_failure(const std::string& line, int code, bool agreed);

}  // namespace isplitee::app
