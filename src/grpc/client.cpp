// The gRPC client: one channel, a deadline on every call, every failure mapped to a Status.
#include <grpcpp/grpcpp.h>

#include <fstream>
#include <sstream>

#include "cloud.grpc.pb.h"
#include "isplitee/common/error.hpp"
#include "isplitee/grpc/rpc.hpp"
#include "wire.hpp"

namespace isplitee::rpc {
namespace {

using transport::CallResult;
using transport::Status;

Status status_of(::grpc::StatusCode code) {
  switch (code) {
    case ::grpc::StatusCode::OK:
      return Status::kOk;
    case ::grpc::StatusCode::UNAVAILABLE:
      return Status::kUnavailable;
    case ::grpc::StatusCode::DEADLINE_EXCEEDED:
      return Status::kDeadline;
    case ::grpc::StatusCode::INVALID_ARGUMENT:
    case ::grpc::StatusCode::FAILED_PRECONDITION:
    case ::grpc::StatusCode::PERMISSION_DENIED:
    case ::grpc::StatusCode::UNAUTHENTICATED:
    case ::grpc::StatusCode::RESOURCE_EXHAUSTED:  // over the server's message cap
    case ::grpc::StatusCode::OUT_OF_RANGE:
      return Status::kRejected;
    default:
      return Status::kInternal;
  }
}

class GrpcClient final : public transport::CloudClient {
 public:
  GrpcClient(const ClientOptions& o, std::shared_ptr<::grpc::Channel> channel)
      : target_(o.target),
        token_(o.token),
        tls_(!o.tls_root_cert_file.empty()),
        stub_(v1::Cloud::NewStub(std::move(channel))) {}

  CallResult infer(const transport::InferRequest& request,
                   std::chrono::milliseconds deadline) override {
    CallResult out;
    try {
      v1::InferRequest m;
      detail::to_proto(request, token_, m);
      ::grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::max(deadline, std::chrono::milliseconds(0)));
      v1::InferReply r;
      const ::grpc::Status st = stub_->Infer(&ctx, m, &r);
      if (!st.ok()) {
        out.status = status_of(st.error_code());
        out.message =
            describe() + ": " + transport::to_string(out.status) + ": " + st.error_message();
        return out;
      }
      return check_reply(request, r);
    } catch (const std::exception& e) {
      out.status = Status::kInternal;
      out.message = describe() + ": " + e.what();
    } catch (...) {
      out.status = Status::kInternal;
      out.message = describe() + ": unknown error";
    }
    return out;
  }

  std::string describe() const override { return (tls_ ? "grpcs://" : "grpc://") + target_; }

 private:
  /// A reply that does not answer the request (another id, a row count that differs from the
  /// batch) is the server's fault: kInternal, never a silently wrong prediction.
  CallResult check_reply(const transport::InferRequest& request, const v1::InferReply& r) const {
    CallResult out;
    const std::int64_t rows = request.activation.shape.empty() ? 0 : request.activation.shape[0];
    const auto n = static_cast<std::int64_t>(r.logits_size());
    if (r.request_id() != request.request_id || r.num_classes() <= 0 ||
        n != rows * r.num_classes()) {
      out.status = Status::kInternal;
      out.message = describe() + ": reply for request " + std::to_string(r.request_id()) + " has " +
                    std::to_string(n) + " logits of " + std::to_string(r.num_classes()) +
                    " classes (expected request " + std::to_string(request.request_id) + ", " +
                    std::to_string(rows) + " rows)";
      return out;
    }
    out.status = Status::kOk;
    out.reply.request_id = r.request_id();
    out.reply.num_classes = r.num_classes();
    out.reply.logits.assign(r.logits().begin(), r.logits().end());
    out.reply.cloud_ms = r.cloud_ms();
    return out;
  }

  std::string target_, token_;
  bool tls_;
  std::unique_ptr<v1::Cloud::Stub> stub_;
};

}  // namespace

std::unique_ptr<transport::CloudClient> make_client(const ClientOptions& o) {
  ISPLITEE_CHECK(!o.target.empty(), "cloud client: no server address (HOST:PORT)");
  std::shared_ptr<::grpc::ChannelCredentials> creds = ::grpc::InsecureChannelCredentials();
  ::grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(
      static_cast<int>(std::min<std::size_t>(o.max_message_bytes, INT32_MAX)));
  args.SetMaxSendMessageSize(-1);  // the server enforces its own cap and says so
  if (!o.tls_root_cert_file.empty()) {
    std::ifstream in(o.tls_root_cert_file, std::ios::binary);
    ISPLITEE_CHECK_CODE(in, ErrorCode::kIo, "cannot read the TLS root certificate '",
                        o.tls_root_cert_file, "'");
    std::ostringstream os;
    os << in.rdbuf();
    ::grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = os.str();
    creds = ::grpc::SslCredentials(ssl);
    if (!o.tls_server_name.empty()) args.SetSslTargetNameOverride(o.tls_server_name);
  }
  return std::make_unique<GrpcClient>(o, ::grpc::CreateCustomChannel(o.target, creds, args));
}

Embedded start_embedded(std::shared_ptr<transport::CloudService> service,
                        std::size_t max_message_bytes) {
  ServerOptions so;
  so.listen = "127.0.0.1:0";
  so.max_message_bytes = max_message_bytes;
  Embedded e;
  e.server = Server::start(std::move(service), so);
  ClientOptions co;
  co.target = e.server->address();
  co.max_message_bytes = max_message_bytes;
  e.client = make_client(co);
  return e;
}

namespace {

/// The edge's client of an embedded server: it owns the server, which stops with it.
class EmbeddedClient final : public transport::CloudClient {
 public:
  explicit EmbeddedClient(Embedded e) : e_(std::move(e)) {}
  transport::CallResult infer(const transport::InferRequest& request,
                              std::chrono::milliseconds deadline) override {
    return e_.client->infer(request, deadline);
  }
  std::string describe() const override { return "embedded " + e_.client->describe(); }

 private:
  Embedded e_;
};

}  // namespace

void install_transport() {
  transport::NetworkTransport t;
  t.name = "gRPC";
  t.connect = [](const transport::RemoteCloud& r) {
    ClientOptions o;
    o.target = r.address;
    o.token = r.token;
    o.tls_root_cert_file = r.tls_root_cert_file;
    return make_client(o);
  };
  t.embed = [](std::shared_ptr<transport::CloudService> service)
      -> std::unique_ptr<transport::CloudClient> {
    return std::make_unique<EmbeddedClient>(start_embedded(std::move(service)));
  };
  transport::set_network_transport(std::move(t));
}

}  // namespace isplitee::rpc
