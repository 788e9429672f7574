// The gRPC transport on loopback: round trips per codec, and every fault the edge must survive —
// no server, a server killed mid-run, another model, a 1 ms deadline, garbage and oversized
// messages, a missing or wrong token, TLS — each reported with the right Status while the server
// keeps answering.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <future>
#include <random>
#include <string>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "cloud.pb.h"
#include "fake_cloud.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/grpc/rpc.hpp"
#include "support/temp_dir.hpp"

namespace isplitee {
namespace {

using namespace std::chrono_literals;
using testing::fake_request;
using testing::FakeCloud;
using transport::Codec;
using transport::Status;

rpc::Embedded embedded(std::shared_ptr<FakeCloud> fake = std::make_shared<FakeCloud>(),
                       std::size_t cap = rpc::kDefaultMaxMessageBytes) {
  return rpc::start_embedded(std::move(fake), cap);
}

/// A plaintext client of `target` that sends `token`.
std::unique_ptr<transport::CloudClient> client_of(const std::string& target,
                                                  const std::string& token = "") {
  rpc::ClientOptions o;
  o.target = target;
  o.token = token;
  return rpc::make_client(o);
}

/// Sends raw bytes as the body of an Infer call (what a broken or hostile client could send).
::grpc::Status send_raw(const std::string& target, const std::string& body) {
  auto channel = ::grpc::CreateChannel(target, ::grpc::InsecureChannelCredentials());
  ::grpc::GenericStub stub(channel);
  ::grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  ::grpc::Slice slice(body);
  ::grpc::ByteBuffer request(&slice, 1), reply;
  std::promise<::grpc::Status> done;
  stub.UnaryCall(&ctx, "/isplitee.rpc.v1.Cloud/Infer", ::grpc::StubOptions(), &request, &reply,
                 [&](::grpc::Status s) { done.set_value(std::move(s)); });
  return done.get_future().get();
}

TEST(Grpc, RoundTripEveryCodecGivesTheServiceTheActivation) {
  auto fake = std::make_shared<FakeCloud>();
  auto e = embedded(fake);
  EXPECT_EQ(e.client->describe(), "grpc://" + e.server->address());
  // The in-process client is the reference: the network must change nothing.
  auto local = transport::in_process_client(fake);
  for (Codec c : {Codec::kFp32, Codec::kFp16, Codec::kInt8}) {
    const auto req = fake_request(3, c, 42);
    const auto r = e.client->infer(req, 5s);
    ASSERT_EQ(r.status, Status::kOk) << transport::to_string(c) << ": " << r.message;
    const auto want = local->infer(req, 5s);
    EXPECT_EQ(r.reply.request_id, 42u);
    EXPECT_EQ(r.reply.num_classes, FakeCloud::kClasses);
    EXPECT_EQ(r.reply.logits, want.reply.logits) << transport::to_string(c);
    EXPECT_DOUBLE_EQ(r.reply.cloud_ms, 0.25);
  }
  // fp32 and fp16 carry these values exactly: the logits are the true means.
  const auto r = e.client->infer(fake_request(1, Codec::kFp32), 5s);
  double mean = 0;
  for (int i = 0; i < 128; ++i) mean += (i % 200) / 100.0 - 1.0;
  EXPECT_NEAR(r.reply.logits[3], mean / 128 + 3, 1e-5);
  EXPECT_EQ(e.server->requests(), 4u);
}

TEST(Grpc, WireBytesAreTheActivationPlusASmallFixedFraming) {
  const auto req = fake_request(64, Codec::kFp32);
  const std::size_t act = req.activation.bytes.size();
  const std::size_t wire = rpc::wire_request_bytes(req);
  EXPECT_GT(wire, act);
  EXPECT_LT(wire - act, 150u);  // ids, shape, SHA-256, scale: a fixed handful of bytes
  transport::InferRequest back;
  std::string err;
  ASSERT_TRUE(rpc::parse_request(rpc::serialize_request(req), back, err)) << err;
  EXPECT_EQ(back.activation.bytes, req.activation.bytes);
  EXPECT_EQ(back.activation.shape, req.activation.shape);
  EXPECT_EQ(back.model_sha256, req.model_sha256);
}

TEST(Grpc, NoServerIsUnavailable) {
  std::string target;
  {
    auto e = embedded();
    target = e.server->address();
  }  // the port is free again
  auto client = client_of(target);
  const auto r = client->infer(fake_request(1, Codec::kFp32), 2s);
  EXPECT_EQ(r.status, Status::kUnavailable) << r.message;
  EXPECT_NE(r.message.find(target), std::string::npos) << r.message;
}

TEST(Grpc, ServerKilledMidRunIsUnavailableNotAHang) {
  FILE* p = ::popen(FAKE_CLOUD_SERVER " & echo pid $!", "r");
  ASSERT_NE(p, nullptr);
  char line[256];
  int pid = 0;
  std::string target;
  while ((pid == 0 || target.empty()) && std::fgets(line, sizeof line, p)) {
    std::string s(line);
    if (s.rfind("pid ", 0) == 0) pid = std::stoi(s.substr(4));
    if (s.rfind("listening on ", 0) == 0) target = s.substr(13, s.size() - 14);
  }
  ASSERT_GT(pid, 0);
  ASSERT_FALSE(target.empty());
  auto client = client_of(target);
  EXPECT_EQ(client->infer(fake_request(2, Codec::kFp16, 1), 5s).status, Status::kOk);
  ASSERT_EQ(::kill(pid, SIGKILL), 0);
  ::pclose(p);  // reaps the shell; the server is gone
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = client->infer(fake_request(2, Codec::kFp16, 2), 3s);
  EXPECT_EQ(r.status, Status::kUnavailable) << r.message;
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
}

TEST(Grpc, AnotherModelIsRejected) {
  auto e = embedded(std::make_shared<FakeCloud>(std::string(64, 'b')));
  const auto r = e.client->infer(fake_request(1, Codec::kFp32), 5s);
  EXPECT_EQ(r.status, Status::kRejected);
  EXPECT_NE(r.message.find("is not the one served"), std::string::npos) << r.message;
}

TEST(Grpc, OneMillisecondDeadlineIsDeadlineAndTheServerGoesOn) {
  auto e = embedded(std::make_shared<FakeCloud>(std::string(64, 'a'), 200));
  const auto r = e.client->infer(fake_request(1, Codec::kFp32), 1ms);
  EXPECT_EQ(r.status, Status::kDeadline) << r.message;
  EXPECT_EQ(e.client->infer(fake_request(1, Codec::kFp32), 10s).status, Status::kOk);
}

TEST(Grpc, MalformedRequestsAreRejectedBeforeTheModel) {
  auto fake = std::make_shared<FakeCloud>();
  auto e = embedded(fake);
  auto bad_bytes = fake_request(2, Codec::kFp32);
  bad_bytes.activation.bytes.pop_back();
  auto bad_shape = fake_request(2, Codec::kFp32);
  bad_shape.activation.shape = {2, -8, 4, 4};
  auto huge_shape = fake_request(2, Codec::kFp32);
  huge_shape.activation.shape = {1 << 30, 1 << 30, 1 << 30, 16};  // overflows size_t
  auto bad_int8 = fake_request(2, Codec::kInt8);
  bad_int8.activation.scale = -1;
  for (const auto* r : {&bad_bytes, &bad_shape, &huge_shape, &bad_int8}) {
    const auto res = e.client->infer(*r, 5s);
    EXPECT_EQ(res.status, Status::kRejected) << res.message;
  }
  EXPECT_EQ(fake->calls.load(), 0);
  EXPECT_EQ(e.server->refused(), 4u);
  EXPECT_EQ(e.client->infer(fake_request(2, Codec::kFp32), 5s).status, Status::kOk);
}

TEST(Grpc, OversizedMessagesAreRejectedAndTheServerGoesOn) {
  auto fake = std::make_shared<FakeCloud>();
  auto e = embedded(fake, 64 * 1024);
  const auto r = e.client->infer(fake_request(1024, Codec::kFp32), 5s);  // 512 KiB
  EXPECT_EQ(r.status, Status::kRejected) << r.message;
  EXPECT_EQ(fake->calls.load(), 0);
  EXPECT_EQ(e.client->infer(fake_request(16, Codec::kFp32), 5s).status, Status::kOk);
}

TEST(Grpc, GarbageBytesNeverCrashTheServer) {
  auto fake = std::make_shared<FakeCloud>();
  auto e = embedded(fake);
  std::mt19937 rng(7);
  for (int i = 0; i < 20; ++i) {
    std::string junk(static_cast<std::size_t>(rng() % 2000), '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    EXPECT_FALSE(send_raw(e.server->address(), junk).ok()) << i;  // not a valid request
  }
  // A well-formed message with a codec this version does not know.
  rpc::v1::InferRequest m;
  m.set_codec(static_cast<rpc::v1::Codec>(9));
  m.add_shape(1);
  m.set_activation("abcd");
  EXPECT_EQ(send_raw(e.server->address(), m.SerializeAsString()).error_code(),
            ::grpc::StatusCode::INVALID_ARGUMENT);
  // Not even HTTP/2: bytes straight into the socket.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(e.server->port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  const std::string noise(4096, '\x5a');
  EXPECT_GT(::write(fd, noise.data(), noise.size()), 0);
  ::close(fd);
  EXPECT_EQ(fake->calls.load(), 0);
  const auto r = e.client->infer(fake_request(1, Codec::kInt8), 5s);
  EXPECT_EQ(r.status, Status::kOk) << r.message;
}

TEST(Grpc, LoopbackAddresses) {
  for (const char* a : {"127.0.0.1:5000", "localhost:1", "[::1]:80", "127.1.2.3:0", "unix:/tmp/s"})
    EXPECT_TRUE(rpc::is_loopback(a)) << a;
  for (const char* a : {"0.0.0.0:5000", "[::]:80", "10.0.0.2:1", "example.org:443", "128.0.0.1:1"})
    EXPECT_FALSE(rpc::is_loopback(a)) << a;
}

TEST(Grpc, OffLoopbackATokenIsRequiredAndChecked) {
  rpc::ServerOptions o;
  o.listen = "0.0.0.0:0";
  try {
    rpc::Server::start(std::make_shared<FakeCloud>(), o);
    FAIL() << "a server on 0.0.0.0 without a token started";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("token"), std::string::npos) << e.what();
  }
  o.token = "s3cret-token";
  auto fake = std::make_shared<FakeCloud>();
  auto server = rpc::Server::start(fake, o);
  EXPECT_EQ(server->address(), "127.0.0.1:" + std::to_string(server->port()));
  const auto target = server->address();
  const auto none = client_of(target)->infer(fake_request(1, Codec::kFp32), 5s);
  EXPECT_EQ(none.status, Status::kRejected);
  EXPECT_NE(none.message.find("no token"), std::string::npos) << none.message;
  const auto wrong = client_of(target, "s3cret-tokem")->infer(fake_request(1, Codec::kFp32), 5s);
  EXPECT_EQ(wrong.status, Status::kRejected);
  EXPECT_EQ(fake->calls.load(), 0);
  const auto ok = client_of(target, "s3cret-token")->infer(fake_request(1, Codec::kFp32), 5s);
  EXPECT_EQ(ok.status, Status::kOk) << ok.message;
}

TEST(Grpc, TlsWithASelfSignedCertificate) {
  testing::TempDir dir("grpc_tls");
  const auto key = (dir / "key.pem").string(), cert = (dir / "cert.pem").string();
  const std::string cmd =
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
      "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 -keyout " +
      key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl could not make a certificate";
  rpc::ServerOptions o;
  o.tls_cert_file = cert;
  o.tls_key_file = key;
  auto server = rpc::Server::start(std::make_shared<FakeCloud>(), o);
  EXPECT_TRUE(server->tls());
  const std::string target = "localhost:" + std::to_string(server->port());
  rpc::ClientOptions co;
  co.target = target;
  co.tls_root_cert_file = cert;
  auto tls = rpc::make_client(co);
  EXPECT_EQ(tls->describe(), "grpcs://" + target);
  const auto r = tls->infer(fake_request(2, Codec::kFp16), 10s);
  EXPECT_EQ(r.status, Status::kOk) << r.message;
  // A plaintext client cannot talk to a TLS server.
  const auto plain = client_of(target)->infer(fake_request(2, Codec::kFp16), 3s);
  EXPECT_EQ(plain.status, Status::kUnavailable) << plain.message;
  // A certificate without its key is refused before listening.
  rpc::ServerOptions half;
  half.tls_cert_file = cert;
  EXPECT_THROW(rpc::Server::start(std::make_shared<FakeCloud>(), half), Error);
}

}  // namespace
}  // namespace isplitee
