#pragma once
/// \file isplitee::mpi: the WorkGroup of an MPI job (Open MPI from Debian: libopenmpi-dev). Built
/// only with ISPLITEE_WITH_MPI; isplitee::core never depends on it. No MPI header is included
/// here: consumers see the WorkGroup interface only.

#include <memory>

#include "isplitee/common/work_group.hpp"

namespace isplitee::mpi {

/// Whether this process was started by an MPI launcher: mpirun/mpiexec (OMPI_COMM_WORLD_SIZE) or
/// srun with PMI or PMIx (PMI_SIZE, PMI_RANK, PMIX_RANK). A plain `isplitee run` never
/// initialises MPI.
bool launched_by_mpi();

/// MPI_Init … MPI_Finalize for the life of the object, and the WorkGroup of MPI_COMM_WORLD.
/// Collectives wait by polling with short sleeps, so ranks that wait for rank 0 (training, merging
/// traces) leave the cores to it instead of spinning.
///
/// A rank killed by a fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT) first prints
/// "isplitee: error: rank R: <work item>: killed by signal N"; mpirun then stops the job.
///
/// Testing hooks: ISPLITEE_MPI_FAIL_RANK=R makes rank R fail its first work item of run_items;
/// ISPLITEE_MPI_CRASH_RANK=R makes it die of SIGSEGV there.
class Session {
 public:
  Session(int* argc, char*** argv);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  WorkGroup& group();
  /// Stops every rank of the job (MPI_Abort) with `code`: for a failure only this rank saw.
  [[noreturn]] void abort(int code);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace isplitee::mpi
