// How the engine runs TorchScript graphs. Internal to libumlip.
#pragma once

#include <torch/csrc/jit/runtime/graph_executor.h>

#include <cstdlib>
#include <string>

namespace umlip {

// TorchScript's profiling executor re-optimises for new input shapes, and in MD the number of
// edges changes every step: its first calls cost 3-5x the steady state and steady state was not
// faster (measured on SevenNet-0 and MACE). The engine runs its graphs unoptimised while this
// guard lives and restores the process-wide setting for other TorchScript users afterwards.
// UMLIP_JIT_OPTIMIZE=1 keeps torch's default.
struct ExecutorGuard {
  bool previous;
  ExecutorGuard() : previous(torch::jit::getGraphExecutorOptimize())
  {
    static const bool optimize = [] {
      const char *env = std::getenv("UMLIP_JIT_OPTIMIZE");
      return env && std::string(env) == "1";
    }();
    torch::jit::setGraphExecutorOptimize(optimize);
  }
  ~ExecutorGuard() { torch::jit::setGraphExecutorOptimize(previous); }
};

}    // namespace umlip
