#pragma once
/// \file How a run's work is spread over processes: one process (LocalWorkGroup, the default) or
/// every rank of an MPI job (isplitee::mpi, `mpirun -np N isplitee run`). No MPI type appears
/// here: the pipeline asks a WorkGroup to run items and gather their results, and does not know
/// what carries them (docs/architecture.md, "Scale-out").

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "isplitee/common/error.hpp"

namespace isplitee {

/// An error every process of a group throws together (agreed on by all of them): the CLI prints
/// it once, on rank 0, and every process exits with its code.
class GroupError : public Error {
 public:
  GroupError(ErrorCode code, const std::string& message) : Error(code, message) {}
};

/// The processes a run is spread over. Every member calls the collective functions in the same
/// order with the same arguments (items and names must agree across ranks).
class WorkGroup {
 public:
  virtual ~WorkGroup() = default;
  /// This process: 0 … size() - 1. Rank 0 plans, merges and writes the run directory.
  virtual std::size_t rank() const = 0;
  virtual std::size_t size() const = 0;

  /// Collective. Runs fn(i) for the items this process owns (i % size() == rank(), item 0 on
  /// rank 0) and returns, on rank 0, every item's result in item order (elsewhere: only its own
  /// items' results, the others empty). When an item throws, every process throws one GroupError
  /// "rank R: <names[i]>: <message>" with the failure's code (the lowest failing rank's first
  /// failure); a process stops at its first failing item.
  virtual std::vector<std::string> run_items(const std::vector<std::string>& names,
                                             const std::function<std::string(std::size_t)>& fn) = 0;

  /// Collective. Runs fn on rank 0 only and returns its result on every process; a failure is
  /// thrown on every process as GroupError "rank 0: <what>: <message>" (one process: rethrown
  /// unchanged).
  virtual std::string on_root(const std::string& what, const std::function<std::string()>& fn) = 0;
};

/// One process: runs every item here, in order; errors propagate unchanged.
class LocalWorkGroup final : public WorkGroup {
 public:
  std::size_t rank() const override { return 0; }
  std::size_t size() const override { return 1; }
  std::vector<std::string> run_items(const std::vector<std::string>& names,
                                     const std::function<std::string(std::size_t)>& fn) override;
  std::string on_root(const std::string& what, const std::function<std::string()>& fn) override;
};

/// The shared single-process group.
WorkGroup& local_work_group();

}  // namespace isplitee
