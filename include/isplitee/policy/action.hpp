#pragma once
/// \file What a policy decides for one sample: split the network after an exit, send the raw
/// input to the cloud, or run the edge cascade (exit at the first confident exit, never offload).
/// A plain value type: no magic arm numbers.

#include <cstdint>
#include <string>

namespace isplitee::policy {

/// A split arm, 0-based in code: arm i runs exits 1..i+1 on the edge; arm K-1 is the whole network
/// on the edge. Reports, CSV files and the CLI number arms 1..K (Action::exit_number()).
using Arm = std::uint32_t;

/// The decision for one sample.
class Action {
 public:
  /// The three kinds of decision.
  enum class Kind : std::uint8_t {
    kSplit,    ///< run exits 1..arm+1 on the edge; exit there or offload the activation
    kCloud,    ///< send the raw input; the cloud runs the whole network (`cloud-only`)
    kCascade,  ///< exit at the first exit whose score passes α, else the last; never offload
  };

  /// Split at arm 0 (the shallowest split).
  constexpr Action() noexcept : Action(Kind::kSplit, 0) {}
  /// Split after exit arm+1 (0-based arm).
  static constexpr Action split(Arm arm) noexcept { return Action(Kind::kSplit, arm); }
  /// Raw input to the cloud.
  static constexpr Action cloud() noexcept { return Action(Kind::kCloud, 0); }
  /// Edge-only cascade.
  static constexpr Action cascade() noexcept { return Action(Kind::kCascade, 0); }

  /// The kind.
  constexpr Kind kind() const noexcept { return kind_; }
  /// Whether this is a split arm.
  constexpr bool is_split() const noexcept { return kind_ == Kind::kSplit; }
  /// The 0-based split arm (meaningful for kSplit only).
  constexpr Arm arm() const noexcept { return arm_; }
  /// The 1-based exit the split follows (as the CLI, reports and CSV files write it).
  constexpr Arm exit_number() const noexcept { return arm_ + 1; }
  /// "3" (1-based split), "cloud" or "cascade", as steps.csv writes it.
  std::string to_string() const {
    return kind_ == Kind::kCloud     ? "cloud"
           : kind_ == Kind::kCascade ? "cascade"
                                     : std::to_string(exit_number());
  }

  constexpr bool operator==(const Action& o) const noexcept {
    return kind_ == o.kind_ && (kind_ != Kind::kSplit || arm_ == o.arm_);
  }
  constexpr bool operator!=(const Action& o) const noexcept { return !(*this == o); }

 private:
  constexpr Action(Kind k, Arm a) noexcept : kind_(k), arm_(a) {}
  Kind kind_;
  Arm arm_;
};

}  // namespace isplitee::policy
