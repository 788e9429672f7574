#pragma once
// A child process for tests that need a second program running beside them (`isplitee serve`):
// its stdout and stderr come back on a pipe, and it is killed when the test lets go of it.

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

namespace isplitee::testing {

/// A child process with its stdout and stderr on a pipe.
struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;

  explicit Child(std::vector<std::string> args) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid = ::fork();
    if (pid == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out = ::fdopen(fds[0], "r");
  }
  std::string line() {
    char buf[1024];
    return out && std::fgets(buf, sizeof buf, out) ? std::string(buf) : std::string();
  }
  std::string rest() {
    std::string s;
    for (std::string l = line(); !l.empty(); l = line()) s += l;
    return s;
  }
  int wait() {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (out) std::fclose(out);
    out = nullptr;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  ~Child() {
    if (out) {
      ::kill(pid, SIGKILL);
      wait();
    }
  }
};

}  // namespace isplitee::testing
