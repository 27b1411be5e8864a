#pragma once
// A model file's TorchScript module, checked and made ready to run (hash verified, converted to
// the run dtype and device, eval mode), shared by every Model of one process that loads the same
// unchanged file with the same dtype and device. Loading and freezing take seconds for deep
// models, and LAMMPS builds a new pair style (so a new Model) at every `clear` or pair_style
// command; the cache makes the second load free.

#include "contract.hpp"
#include "umlip/model.hpp"

#include <torch/script.h>

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace umlip {

class PreparedModule {
 public:
  PreparedModule(torch::jit::Module module, ModelInfo info)
      : module_(std::move(module)), info_(std::move(info)) {}

  const ModelInfo &info() const { return info_; }

  // The whole module, frozen (weights inlined as constants) on first use.
  torch::jit::Module whole();

  // The stage modules of a layered file (checked against the metadata when loaded), in order,
  // each frozen on first use.
  std::vector<torch::jit::Module> stages();

 private:
  torch::jit::Module module_;
  ModelInfo info_;
  std::mutex mutex_;
  std::optional<torch::jit::Module> whole_;
  std::optional<std::vector<torch::jit::Module>> stages_;
};

// Which file to prepare, and how.
struct PrepareRequest {
  std::string path;
  bool verify_hash = true;
  std::string dtype_option;    // as requested ("" = the file's); part of the cache key
  torch::Device device{torch::kCPU};
};

// The prepared module of request.path: from the process's cache when the file (size and
// modification time) and the request are unchanged, else loaded, verified and converted (and
// cached; the few most recent files are kept). `dtype_of` picks the run dtype from the file's
// metadata and may refuse it by throwing; it is called on every request, cached or not.
// UMLIP_MODEL_CACHE=0 turns the cache off.
std::shared_ptr<PreparedModule>
prepared_module(const PrepareRequest &request,
                const std::function<torch::ScalarType(const ModelInfo &)> &dtype_of);

}    // namespace umlip
