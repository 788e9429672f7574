// The gRPC server: a thin synchronous service (the shape of gRPC's route_guide example) that
// checks size and token, then hands the request to the CloudService.
#include <grpcpp/grpcpp.h>
#include <openssl/crypto.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>

#include "cloud.grpc.pb.h"
#include "isplitee/common/error.hpp"
#include "isplitee/grpc/rpc.hpp"
#include "wire.hpp"

namespace isplitee::rpc {
namespace {

std::string read_pem(const std::string& path, const char* what) {
  std::ifstream in(path, std::ios::binary);
  ISPLITEE_CHECK_CODE(in, ErrorCode::kIo, "cannot read the TLS ", what, " '", path, "'");
  std::ostringstream os;
  os << in.rdbuf();
  ISPLITEE_CHECK_CODE(os.str().find("-----BEGIN") != std::string::npos, ErrorCode::kData,
                      "the TLS ", what, " '", path, "' is not a PEM file");
  return os.str();
}

/// Host and port of "HOST:PORT" / "[V6]:PORT"; port "" when there is none.
std::pair<std::string, std::string> split_host_port(const std::string& addr) {
  std::string a = addr;
  for (const char* scheme : {"ipv4:", "ipv6:", "dns:"})
    if (a.rfind(scheme, 0) == 0) a = a.substr(std::char_traits<char>::length(scheme));
  const auto colon = a.rfind(':');
  if (colon == std::string::npos || a.find(']', colon) != std::string::npos) return {a, ""};
  return {a.substr(0, colon), a.substr(colon + 1)};
}

/// Compares tokens in time independent of where they differ.
bool token_matches(const std::string& expected, const std::string& given) {
  return expected.size() == given.size() &&
         CRYPTO_memcmp(expected.data(), given.data(), expected.size()) == 0;
}

::grpc::StatusCode code_of(transport::Status s) {
  switch (s) {
    case transport::Status::kRejected:
      return ::grpc::StatusCode::FAILED_PRECONDITION;
    case transport::Status::kDeadline:
      return ::grpc::StatusCode::DEADLINE_EXCEEDED;
    case transport::Status::kUnavailable:
      return ::grpc::StatusCode::UNAVAILABLE;
    default:
      return ::grpc::StatusCode::INTERNAL;
  }
}

class CloudImpl final : public v1::Cloud::Service {
 public:
  CloudImpl(std::shared_ptr<transport::CloudService> service, std::string token,
            std::size_t max_bytes)
      : service_(std::move(service)), token_(std::move(token)), max_bytes_(max_bytes) {}

  ::grpc::Status Infer(::grpc::ServerContext*, const v1::InferRequest* in,
                       v1::InferReply* out) override {
    ++requests_;
    try {
      transport::InferRequest req;
      std::string why = detail::from_proto(*in, req);
      if (why.empty()) why = validate_request(req, max_bytes_);
      if (!why.empty()) return refuse(::grpc::StatusCode::INVALID_ARGUMENT, why);
      if (!token_.empty() && !token_matches(token_, req.token))
        return refuse(::grpc::StatusCode::PERMISSION_DENIED, req.token.empty()
                                                                 ? "the request carries no token"
                                                                 : "the request's token is wrong");
      transport::CallResult res;
      {
        std::lock_guard<std::mutex> lock(mu_);
        res = service_->handle(req);
      }
      if (res.status != transport::Status::kOk) return {code_of(res.status), res.message};
      const auto& r = res.reply;
      if (r.num_classes <= 0 || r.logits.size() % static_cast<std::size_t>(r.num_classes) != 0)
        return {::grpc::StatusCode::INTERNAL, "the model's reply has " +
                                                  std::to_string(r.logits.size()) + " logits for " +
                                                  std::to_string(r.num_classes) + " classes"};
      out->set_request_id(req.request_id);
      out->set_num_classes(r.num_classes);
      out->mutable_logits()->Assign(r.logits.begin(), r.logits.end());
      out->set_cloud_ms(r.cloud_ms);
      return ::grpc::Status::OK;
    } catch (const std::exception& e) {
      return {::grpc::StatusCode::INTERNAL, e.what()};
    } catch (...) {
      return {::grpc::StatusCode::INTERNAL, "unknown error in the cloud service"};
    }
  }

  std::uint64_t requests() const noexcept { return requests_; }
  std::uint64_t refused() const noexcept { return refused_; }

 private:
  ::grpc::Status refuse(::grpc::StatusCode code, const std::string& why) {
    ++refused_;
    return {code, why};
  }

  std::shared_ptr<transport::CloudService> service_;
  std::string token_;
  std::size_t max_bytes_;
  std::mutex mu_;
  std::atomic<std::uint64_t> requests_{0}, refused_{0};
};

}  // namespace

struct Server::Impl {
  std::unique_ptr<CloudImpl> service;
  std::unique_ptr<::grpc::Server> server;
  std::string host;
  int port = 0;
  bool tls = false;
  std::once_flag shutdown_once;
};

bool is_loopback(const std::string& listen) {
  if (listen.rfind("unix:", 0) == 0 || listen.rfind("unix-abstract:", 0) == 0) return true;
  const std::string host = split_host_port(listen).first;
  return host == "localhost" || host == "[::1]" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::unique_ptr<Server> Server::start(std::shared_ptr<transport::CloudService> service,
                                      const ServerOptions& o) {
  ISPLITEE_CHECK(service != nullptr, "serve: no cloud service");
  ISPLITEE_CHECK(o.max_message_bytes >= 1024 && o.max_message_bytes <= (std::size_t{1} << 31),
                 "serve: message cap ", o.max_message_bytes,
                 " bytes is out of range [1 KiB, 2 GiB]");
  ISPLITEE_CHECK(!o.token.empty() || is_loopback(o.listen), "serve: '", o.listen,
                 "' is reachable from other machines: a token is required (--token-file FILE or "
                 "ISPLITEE_TOKEN); without one, listen on 127.0.0.1");
  ISPLITEE_CHECK(o.tls_cert_file.empty() == o.tls_key_file.empty(),
                 "serve: TLS needs both a certificate and a key (got only the ",
                 o.tls_cert_file.empty() ? "key" : "certificate", ")");
  auto impl = std::make_unique<Impl>();
  std::shared_ptr<::grpc::ServerCredentials> creds = ::grpc::InsecureServerCredentials();
  if (!o.tls_cert_file.empty()) {
    ::grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back(
        {read_pem(o.tls_key_file, "key"), read_pem(o.tls_cert_file, "certificate")});
    creds = ::grpc::SslServerCredentials(ssl);
    impl->tls = true;
  }
  impl->service = std::make_unique<CloudImpl>(std::move(service), o.token, o.max_message_bytes);
  ::grpc::ServerBuilder builder;
  builder.AddListeningPort(o.listen, creds, &impl->port);
  builder.RegisterService(impl->service.get());
  builder.SetMaxReceiveMessageSize(static_cast<int>(std::min<std::size_t>(
      o.max_message_bytes + 4096, static_cast<std::size_t>(INT32_MAX))));  // + the other fields
  impl->server = builder.BuildAndStart();
  const bool is_unix = o.listen.rfind("unix", 0) == 0;
  ISPLITEE_CHECK_CODE(impl->server != nullptr && (impl->port > 0 || is_unix), ErrorCode::kIo,
                      "serve: cannot listen on '", o.listen,
                      "' (address in use, not local, or malformed; use HOST:PORT)");
  impl->host = is_unix ? o.listen : split_host_port(o.listen).first;
  if (impl->host == "0.0.0.0" || impl->host.empty()) impl->host = "127.0.0.1";
  if (impl->host == "[::]" || impl->host == "::") impl->host = "[::1]";
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() {
  shutdown(std::chrono::milliseconds(500));
  impl_->server->Wait();
}
int Server::port() const noexcept { return impl_->port; }
std::string Server::address() const {
  return impl_->port > 0 ? impl_->host + ":" + std::to_string(impl_->port) : impl_->host;
}
bool Server::tls() const noexcept { return impl_->tls; }
std::uint64_t Server::requests() const noexcept { return impl_->service->requests(); }
std::uint64_t Server::refused() const noexcept { return impl_->service->refused(); }
void Server::shutdown(std::chrono::milliseconds grace) {
  std::call_once(impl_->shutdown_once,
                 [&] { impl_->server->Shutdown(std::chrono::system_clock::now() + grace); });
}
void Server::wait() { impl_->server->Wait(); }

}  // namespace isplitee::rpc
