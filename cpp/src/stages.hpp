// Stage-by-stage evaluation of a layered model file (docs/model-contract.md, section 6): the
// forward pass runs the stages in order, refreshing ghost rows of the node features through a
// HaloExchange before every stage that reads its neighbours' features; the backward pass runs
// them in reverse, sending the gradients on ghost features back to their owners (the adjoint
// of the exchange), and sums every stage's gradient with respect to the edge vectors. With
// recomputation only the stage inputs are kept and each stage is run again, with autograd, in
// the backward pass. Internal to libumlip.
#pragma once

#include "umlip/model.hpp"

#include <torch/script.h>

#include <vector>

namespace umlip {

struct StagedOutputs {
  torch::Tensor energies;     // [n_nodes] float64 on the CPU: the sum over stages
  torch::Tensor edge_grad;    // [n_edges, 3] float64 on the CPU: dE_local / d r_ij
  int64_t halo_doubles = 0;   // float64 values passed to the halo exchanges
  double halo_seconds = 0.0;  // wall time in the halo exchanges
  int64_t blocks = 1;         // receiver blocks each stage ran over (recomputation)
};

// Largest width of the node features any halo exchange between these stages carries (0 if
// none: stage s > 0 exchanges its input, the width of stage s-1's output, when it is marked so).
int stage_exchange_width(const std::vector<StageInfo> &stages);

class StagedModule {
 public:
  // `stages` are the file's stage modules, prepared (dtype, device, eval); `info` their
  // metadata, in the same order.
  StagedModule(std::vector<torch::jit::Module> stages, std::vector<StageInfo> info,
               torch::ScalarType dtype, torch::Device device);

  // Evaluates graph g. With halo, ghost rows are exchanged as the stages' metadata says; a
  // graph with no local nodes runs the exchanges only (with zero rows), so every rank makes the
  // same collective calls. Throws std::runtime_error if a stage fails or returns wrong shapes.
  // With recompute and block_edges > 0, a graph of more edges runs every stage over blocks of
  // consecutive receiving nodes with at most block_edges edges each.
  StagedOutputs run(const GraphInput &g, HaloExchange *halo, bool recompute,
                    int64_t block_edges = 0);

  // Largest width of the features any exchange carries.
  int max_exchange_width() const;

 private:
  std::vector<torch::jit::Module> stages_;
  std::vector<StageInfo> info_;
  torch::ScalarType dtype_;
  torch::Device device_;

  int input_width(size_t s) const { return s == 0 ? 0 : info_[s - 1].width; }
  bool exchanges_before(size_t s, const HaloExchange *halo) const;
};

}    // namespace umlip
