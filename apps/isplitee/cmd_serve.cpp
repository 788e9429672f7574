// isplitee serve: the cloud half of live split computing. Loads a checkpoint, listens over gRPC,
// finishes the network from whatever split an edge sends, until SIGINT or SIGTERM.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "commands.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/sha256.hpp"
#include "isplitee/transport/protocol.hpp"

#if ISPLITEE_WITH_GRPC
#include "isplitee/grpc/rpc.hpp"
#endif
#if __has_include("isplitee/live/live.hpp")
#define ISPLITEE_SERVE_LIVE 1  // the network-backed CloudService of the live module
#include "isplitee/live/live.hpp"
#else
#define ISPLITEE_SERVE_LIVE 0
#include "isplitee/model/checkpoint.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#endif

namespace isplitee::app {
namespace {

struct ServeOptions {
  std::string checkpoint, listen = "127.0.0.1:50051", token_file, tls_cert, tls_key;
  std::size_t max_message_mb = 64;
  bool no_fold = false;
};

#if ISPLITEE_WITH_GRPC && !ISPLITEE_SERVE_LIVE
/// The cloud side over a checkpoint with what the model module offers: checks the model SHA-256,
/// the split (0..K−1) and the activation shape at that split, then runs stages split+1..K and exit
/// K. Used until the live module's CloudService is part of the build.
class CheckpointCloud final : public transport::CloudService {
 public:
  CheckpointCloud(const std::string& path, bool fold)
      : ck_(model::load_checkpoint(path)), sha_(sha256_file(path)) {
    ck_.net->eval();
    if (fold) ck_.net->fold_batchnorm();
    k_ = ck_.net->num_exits();
    torch::InferenceMode guard;
    auto h =
        torch::zeros({1, ck_.config.in_channels, ck_.config.input_size, ck_.config.input_size});
    for (std::int64_t s = 0; s < k_; ++s) {
      if (s > 0) h = ck_.net->run_stages(h, s - 1, s);
      shapes_.emplace_back(h.sizes().begin() + 1, h.sizes().end());
    }
  }
  std::int64_t num_exits() const { return k_; }
  const std::string& sha() const { return sha_; }

  transport::CallResult handle(const transport::InferRequest& r) override {
    transport::CallResult out;
    try {
      out.status = transport::Status::kRejected;
      if (r.model_sha256 != sha_) {
        out.message = "model " + r.model_sha256.substr(0, 12) + " is not the served model " +
                      sha_.substr(0, 12);
        return out;
      }
      if (r.split >= static_cast<std::uint32_t>(k_)) {
        out.message = "split " + std::to_string(r.split) + " is out of range [0, " +
                      std::to_string(k_ - 1) + "]";
        return out;
      }
      const auto& want = shapes_[r.split];
      const auto& got = r.activation.shape;
      if (got.size() != want.size() + 1 || got[0] < 1 || got[0] > 4096 ||
          !std::equal(want.begin(), want.end(), got.begin() + 1)) {
        out.message = "activation shape does not match split " + std::to_string(r.split) +
                      " of the served model (N x the split's C x H x W, N in [1, 4096])";
        return out;
      }
      std::vector<float> x;
      transport::decode(r.activation, x);
      const auto t0 = std::chrono::steady_clock::now();
      torch::InferenceMode guard;
      auto h = torch::from_blob(x.data(), got, torch::kFloat32);
      auto logits = ck_.net->exit_logits(k_, ck_.net->run_stages(h, r.split, k_)).contiguous();
      out.reply.request_id = r.request_id;
      out.reply.num_classes = logits.size(1);
      out.reply.logits.assign(logits.data_ptr<float>(), logits.data_ptr<float>() + logits.numel());
      out.reply.cloud_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      out.status = transport::Status::kOk;
    } catch (const std::exception& e) {
      out.status = transport::Status::kInternal;
      out.message = std::string("cloud: ") + e.what();
    }
    return out;
  }

 private:
  model::LoadedCheckpoint ck_;
  std::string sha_;
  std::int64_t k_ = 0;
  std::vector<std::vector<std::int64_t>> shapes_;  ///< C×H×W at splits 0..K−1
};
#endif

#if ISPLITEE_WITH_GRPC
int g_stop_pipe[2] = {-1, -1};
extern "C" void on_stop_signal(int) {
  const char c = 's';
  [[maybe_unused]] const auto n = ::write(g_stop_pipe[1], &c, 1);  // async-signal-safe
}

/// Blocks until SIGINT or SIGTERM, whichever thread receives it.
void wait_for_stop_signal() {
  ISPLITEE_CHECK_CODE(::pipe(g_stop_pipe) == 0, ErrorCode::kIo, "serve: pipe() failed");
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  char c;
  while (::read(g_stop_pipe[0], &c, 1) < 0 && errno == EINTR) {
  }
}

void serve(const ServeOptions& o) {
  rpc::ServerOptions so;
  so.listen = o.listen;
  so.token = transport::read_token(o.token_file, "serve");
  so.tls_cert_file = o.tls_cert;
  so.tls_key_file = o.tls_key;
  so.max_message_bytes = o.max_message_mb << 20;
#if ISPLITEE_SERVE_LIVE
  auto model = live::load_split_model(o.checkpoint, !o.no_fold);
  live::CloudLimits limits;
  limits.max_bytes = so.max_message_bytes;
  auto service = live::make_cloud_service(model, limits);  // the server checks the token
  const std::string sha = live::model_sha256(*model);
  const auto k = static_cast<std::int64_t>(live::num_exits(*model));
#else
  auto cloud = std::make_shared<CheckpointCloud>(o.checkpoint, !o.no_fold);
  const std::string sha = cloud->sha();
  const auto k = cloud->num_exits();
  std::shared_ptr<transport::CloudService> service = cloud;
#endif
  auto server = rpc::Server::start(service, so);
  std::printf(
      "isplitee serve: model %s (%lld exits, %s) listening on %s://%s (%s, %s); "
      "SIGINT/SIGTERM stops\n",
      sha.substr(0, 12).c_str(), static_cast<long long>(k), o.checkpoint.c_str(),
      server->tls() ? "grpcs" : "grpc", server->address().c_str(),
      server->tls() ? "TLS" : "plaintext", so.token.empty() ? "no token" : "token required");
  std::fflush(stdout);
  wait_for_stop_signal();
  server->shutdown();
  server->wait();
  std::printf("isplitee serve: stopped after %llu requests (%llu refused)\n",
              static_cast<unsigned long long>(server->requests()),
              static_cast<unsigned long long>(server->refused()));
}
#endif

}  // namespace

Action add_serve_command(CLI::App& app, const GlobalOptions&) {
  auto o = std::make_shared<ServeOptions>();
  auto* cmd = app.add_subcommand(
      "serve", "The cloud of live split computing: finish a checkpoint's network over gRPC");
  cmd->add_option("--checkpoint", o->checkpoint, "the model to serve (isplitee checkpoint)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--listen", o->listen,
                  "HOST:PORT to listen on (port 0: any free port; off loopback a token is "
                  "required)")
      ->capture_default_str();
  cmd->add_option("--token-file", o->token_file,
                  "shared secret every request must carry (default: $ISPLITEE_TOKEN)")
      ->check(CLI::ExistingFile);
  auto* cert = cmd->add_option("--tls-cert", o->tls_cert, "PEM certificate chain: serve TLS")
                   ->check(CLI::ExistingFile);
  auto* key = cmd->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert")
                  ->check(CLI::ExistingFile);
  cert->needs(key);
  key->needs(cert);
  cmd->add_option("--max-message-mb", o->max_message_mb, "largest request accepted, MiB")
      ->check(CLI::Range(1, 2047))
      ->capture_default_str();
  cmd->add_flag("--no-fold", o->no_fold,
                "keep BatchNorm unfolded (traces fold it: trace.fold_batchnorm)");
  return [o] {
#if ISPLITEE_WITH_GRPC
    serve(*o);
#else
    fail(ErrorCode::kUsage,
         "serve: isplitee was built without gRPC; install libgrpc++-dev and "
         "protobuf-compiler-grpc and rebuild with -DISPLITEE_WITH_GRPC=ON");
#endif
  };
}

}  // namespace isplitee::app
