#pragma once
// Conversions between the transport structs and their protobuf messages (private to
// isplitee::grpc).

#include "cloud.pb.h"
#include "isplitee/transport/protocol.hpp"

namespace isplitee::rpc::detail {

/// Fills `out` from `in` (the token given is used when the request's own is empty).
void to_proto(const transport::InferRequest& in, const std::string& token, v1::InferRequest& out);
/// Fills `out` from `in`; "" or one line saying why the message is not a valid request (an
/// unknown codec value).
std::string from_proto(const v1::InferRequest& in, transport::InferRequest& out);

}  // namespace isplitee::rpc::detail
