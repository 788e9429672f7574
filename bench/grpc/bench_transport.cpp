// The live transport's cost: bytes on the wire per offload against the activation bytes (gRPC +
// HTTP/2 + protobuf framing), and round-trip latency percentiles on loopback and under the
// emulated links of configs/net/, per codec. The cloud is a stand-in that decodes the activation
// and answers 10 logits per sample, so the numbers are the transport's alone.
// Usage: bench_transport [CALLS] [LINK_CALLS] (defaults 2000, 200). Results: BENCHMARKS.md.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "isplitee/grpc/rpc.hpp"
#include "isplitee/transport/link.hpp"

namespace {

using namespace isplitee;
using namespace std::chrono_literals;

/// Decodes the activation (as a real cloud must) and answers 10 logits per sample.
class DecodeOnly final : public transport::CloudService {
 public:
  transport::CallResult handle(const transport::InferRequest& r) override {
    transport::CallResult out;
    transport::decode(r.activation, buf_);
    out.status = transport::Status::kOk;
    out.reply.request_id = r.request_id;
    out.reply.num_classes = 10;
    out.reply.logits.assign(static_cast<std::size_t>(r.activation.shape[0]) * 10, buf_[0]);
    return out;
  }

 private:
  std::vector<float> buf_;
};

/// A loopback TCP relay in front of the server that counts the bytes the client sends.
class Relay {
 public:
  explicit Relay(int server_port) : server_port_(server_port) {
    lfd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = addr(0);
    ::bind(lfd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(lfd_, 4);
    socklen_t len = sizeof a;
    ::getsockname(lfd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~Relay() {
    stop_ = true;
    thread_.join();
    ::close(lfd_);
  }
  int port() const { return port_; }
  std::uint64_t up() const { return up_; }

 private:
  static sockaddr_in addr(int port) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
  }
  void run() {
    pollfd l{lfd_, POLLIN, 0};
    while (!stop_ && ::poll(&l, 1, 100) <= 0) {
    }
    if (stop_) return;
    const int c = ::accept(lfd_, nullptr, nullptr);
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a = addr(server_port_);
    ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
    std::vector<char> buf(1 << 16);
    pollfd p[2] = {{c, POLLIN, 0}, {s, POLLIN, 0}};
    while (!stop_) {
      if (::poll(p, 2, 100) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!(p[i].revents & (POLLIN | POLLHUP))) continue;
        const auto n = ::read(p[i].fd, buf.data(), buf.size());
        if (n <= 0) {
          stop_ = true;
          break;
        }
        if (i == 0) up_ += static_cast<std::uint64_t>(n);
        for (ssize_t off = 0; off < n;) {
          const auto w = ::write(p[1 - i].fd, buf.data() + off, static_cast<std::size_t>(n - off));
          if (w <= 0) break;
          off += w;
        }
      }
    }
    ::close(c);
    ::close(s);
  }
  int server_port_, port_ = 0, lfd_ = -1;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> up_{0};
};

struct Shape {
  const char* name;
  std::vector<std::int64_t> dims;
};

transport::InferRequest request(const Shape& s, transport::Codec c) {
  std::size_t n = 1;
  for (auto d : s.dims) n *= static_cast<std::size_t>(d);
  std::vector<float> x(n);
  for (std::size_t i = 0; i < n; ++i) x[i] = static_cast<float>((i * 7919) % 1000) / 250.0f - 1;
  transport::InferRequest r;
  r.split = 2;
  r.model_sha256 = std::string(64, 'f');
  r.activation = transport::encode(x.data(), s.dims, c);
  return r;
}

double pct(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  const int calls = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int link_calls = argc > 2 ? std::atoi(argv[2]) : 200;
  const std::string net_dir = ISPLITEE_SOURCE_DIR "/configs/net/";
  // Activations of the Fashion-MNIST default network (ResNet, width 12, 28×28) after exits 1, 3
  // and 5, at batch 1, and the middle one at batch 64.
  const std::vector<Shape> shapes = {{"12x28x28", {1, 12, 28, 28}},
                                     {"24x14x14", {1, 24, 14, 14}},
                                     {"48x7x7", {1, 48, 7, 7}},
                                     {"64x24x14x14", {64, 24, 14, 14}}};
  auto server = rpc::Server::start(std::make_shared<DecodeOnly>(), {});
  std::printf("## wire bytes per offload (loopback, %d calls each)\n\n", calls / 4);
  std::printf("| activation | codec | activation bytes | bytes on the wire | framing |\n");
  std::printf("|---|---|---:|---:|---:|\n");
  for (const auto& s : shapes) {
    for (auto c : {transport::Codec::kFp32, transport::Codec::kFp16, transport::Codec::kInt8}) {
      Relay relay(server->port());
      rpc::ClientOptions o;
      o.target = "127.0.0.1:" + std::to_string(relay.port());
      auto client = rpc::make_client(o);
      auto req = request(s, c);
      for (int i = 0; i < 20; ++i) client->infer(req, 10s);  // connection set up, HPACK warm
      const auto before = relay.up();
      const int n = std::max(1, calls / 4);
      for (int i = 0; i < n; ++i) {
        req.request_id = static_cast<std::uint64_t>(i);
        if (client->infer(req, 10s).status != transport::Status::kOk) return 1;
      }
      std::this_thread::sleep_for(50ms);  // let the relay count the last bytes
      const double wire = static_cast<double>(relay.up() - before) / n;
      const double act = static_cast<double>(req.activation.bytes.size());
      std::printf("| %s | %s | %.0f | %.1f | %.0f B = %.2f%% |\n", s.name,
                  transport::to_string(c).c_str(), act, wire, wire - act, 100 * (wire - act) / act);
    }
  }
  std::printf("\n## round trip, ms (p50 / p95 / p99)\n\n");
  std::printf("| link | activation | codec | p50 | p95 | p99 |\n|---|---|---|---:|---:|---:|\n");
  for (const char* link : {"loopback", "wifi", "lte"}) {
    for (const auto& s : shapes) {
      if (std::string(link) != "loopback" && s.dims[0] > 1) continue;  // batch 1 on radio links
      for (auto c : {transport::Codec::kFp32, transport::Codec::kFp16, transport::Codec::kInt8}) {
        rpc::ClientOptions o;
        o.target = server->address();
        std::unique_ptr<transport::CloudClient> client = rpc::make_client(o);
        const bool emulated = std::string(link) != "loopback";
        if (emulated)
          client = transport::emulated_link(std::move(client),
                                            transport::load_link_trace(net_dir + link + ".csv"));
        auto req = request(s, c);
        for (int i = 0; i < 10; ++i) client->infer(req, 10s);
        std::vector<double> ms;
        const int n = emulated ? link_calls : calls / 4;
        for (int i = 0; i < n; ++i) {
          const auto t0 = std::chrono::steady_clock::now();
          const auto r = client->infer(req, 30s);
          if (r.status != transport::Status::kOk) return 1;
          ms.push_back(
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                  .count());
        }
        std::printf("| %s | %s | %s | %.2f | %.2f | %.2f |\n", link, s.name,
                    transport::to_string(c).c_str(), pct(ms, 0.5), pct(ms, 0.95), pct(ms, 0.99));
        std::fflush(stdout);
      }
    }
  }
  return 0;
}
