// A gRPC server around FakeCloud in its own process, so that a test can kill it mid-run.
// Usage: fake_cloud_server [DELAY_MS]; prints "listening on HOST:PORT" and serves until SIGTERM.
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

#include "fake_cloud.hpp"
#include "isplitee/grpc/rpc.hpp"

int main(int argc, char** argv) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // before gRPC starts its threads
  const int delay = argc > 1 ? std::atoi(argv[1]) : 0;
  auto server = isplitee::rpc::Server::start(
      std::make_shared<isplitee::testing::FakeCloud>(std::string(64, 'a'), delay), {});
  std::printf("listening on %s\n", server->address().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&set, &sig);
  server->shutdown();
  return 0;
}
