#include "stages.hpp"

#include "contract.hpp"
#include "executor.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

namespace umlip {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0)
{
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Node features and node energies returned by one stage.
struct StageResult {
  torch::Tensor features;    // [n_nodes, width]
  torch::Tensor energies;    // [n_nodes]
};

}    // namespace

StagedModule::StagedModule(std::vector<torch::jit::Module> stages, std::vector<StageInfo> info,
                           torch::ScalarType dtype, torch::Device device)
    : stages_(std::move(stages)), info_(std::move(info)), dtype_(dtype), device_(device)
{
  if (stages_.size() != info_.size())
    throw std::invalid_argument("the model file has " + std::to_string(stages_.size()) +
                                " stage modules but its metadata lists " +
                                std::to_string(info_.size()) + " stages");
}

bool StagedModule::exchanges_before(size_t s, const HaloExchange *halo) const
{
  return halo != nullptr && s > 0 && info_[s].exchange && input_width(s) > 0;
}

int stage_exchange_width(const std::vector<StageInfo> &stages)
{
  int w = 0;
  for (size_t s = 1; s < stages.size(); ++s)
    if (stages[s].exchange && stages[s - 1].width > w) w = stages[s - 1].width;
  return w;
}

int StagedModule::max_exchange_width() const { return stage_exchange_width(info_); }

StagedOutputs StagedModule::run(const GraphInput &g, HaloExchange *halo, bool recompute)
{
  const int64_t n = g.n_nodes, E = g.n_edges;
  const size_t S = stages_.size();
  const bool compute = g.n_local > 0;    // else: take part in the exchanges only
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  const auto model_opts = torch::TensorOptions().dtype(dtype_).device(device_);
  StagedOutputs result;

  torch::Tensor species, edge_index, vec;
  if (compute) {
    species = torch::from_blob(const_cast<int64_t *>(g.species), {n}, i64).to(device_);
    if (E > 0) {
      torch::Tensor ei = torch::from_blob(const_cast<int64_t *>(g.edge_i), {E}, i64);
      torch::Tensor ej = torch::from_blob(const_cast<int64_t *>(g.edge_j), {E}, i64);
      edge_index = torch::stack({ei, ej}).to(device_);
      vec = torch::from_blob(const_cast<double *>(g.edge_vec), {E, 3}, f64).to(model_opts);
    } else {
      edge_index = torch::empty({2, 0}, i64.device(device_));
      vec = torch::empty({0, 3}, model_opts);
    }
    vec = vec.detach().requires_grad_(true);
  }

  // the halo exchange of node features through float64 host buffers (ghost rows <- owners,
  // or, reversed, owners += ghost rows)
  auto exchange = [&](const torch::Tensor &rows, int width, bool forward) {
    const auto t0 = Clock::now();
    torch::Tensor buf = rows.defined()
        ? rows.detach().to(torch::kCPU, torch::kFloat64).contiguous()
        : torch::zeros({n, width}, f64);
    if (forward)
      halo->forward(buf.data_ptr<double>(), width);
    else
      halo->reverse(buf.data_ptr<double>(), width);
    result.halo_doubles += n * width;
    result.halo_seconds += seconds_since(t0);
    return compute ? buf.to(model_opts) : torch::Tensor();
  };

  ExecutorGuard guard;
  auto call = [&](size_t s, const torch::Tensor &h) {
    StageResult r;
    try {
      auto out = stages_[s].forward({h, species, edge_index, vec}).toTuple();
      r.features = out->elements().at(0).toTensor();
      r.energies = out->elements().at(1).toTensor();
    } catch (const std::exception &e) {
      throw std::runtime_error("model evaluation failed in stage '" + info_[s].name +
                               "': " + first_line(e.what()));
    }
    if (r.energies.numel() != n || r.features.dim() != 2 || r.features.size(0) != n ||
        r.features.size(1) != info_[s].width)
      throw std::runtime_error("stage '" + info_[s].name + "' returned outputs of the wrong "
                               "shape for " + std::to_string(n) + " nodes (width " +
                               std::to_string(info_[s].width) + " expected)");
    return r;
  };

  // forward pass: keep every stage's input (and, without recomputation, its autograd graph)
  std::vector<torch::Tensor> inputs(S);
  std::vector<StageResult> kept(S);
  torch::Tensor energies = torch::zeros({n}, f64);
  torch::Tensor h = compute ? torch::zeros({n, 0}, model_opts) : torch::Tensor();
  for (size_t s = 0; s < S; ++s) {
    if (exchanges_before(s, halo)) h = exchange(h, input_width(s), true);
    if (!compute) continue;
    inputs[s] = h.detach();
    if (input_width(s) > 0) inputs[s].requires_grad_(true);
    StageResult r;
    if (recompute) {
      torch::NoGradGuard no_grad;
      r = call(s, inputs[s]);
    } else {
      r = call(s, inputs[s]);
      kept[s] = r;
    }
    energies += r.energies.detach().to(torch::kCPU, torch::kFloat64);
    h = r.features;
  }

  // backward pass: from the last stage to the first, the gradient with respect to each stage's
  // input features becomes the output gradient of the stage before
  torch::Tensor edge_grad = compute ? torch::zeros({E, 3}, model_opts) : torch::Tensor();
  torch::Tensor grad_out;    // d E_local / d (features returned by stage s); undefined = 0
  for (size_t s = S; s-- > 0;) {
    const int w_in = input_width(s);
    torch::Tensor grad_in;
    if (compute) {
      StageResult r = recompute ? call(s, inputs[s]) : std::move(kept[s]);
      std::vector<torch::Tensor> outs, grads_out;
      torch::Tensor local = r.energies.narrow(0, 0, g.n_local).sum();
      if (local.requires_grad()) {
        outs.push_back(local);
        grads_out.push_back(torch::ones_like(local));
      }
      if (grad_out.defined() && r.features.requires_grad()) {
        outs.push_back(r.features);
        grads_out.push_back(grad_out);
      }
      std::vector<torch::Tensor> wrt{vec};
      if (w_in > 0) wrt.push_back(inputs[s]);
      if (!outs.empty()) {
        auto grads = torch::autograd::grad(outs, wrt, grads_out, /*retain_graph=*/false,
                                           /*create_graph=*/false, /*allow_unused=*/true);
        if (grads[0].defined()) edge_grad += grads[0];
        if (w_in > 0) grad_in = grads[1];
      }
      if (w_in > 0 && !grad_in.defined()) grad_in = torch::zeros({n, w_in}, model_opts);
      inputs[s] = torch::Tensor();
    }
    if (exchanges_before(s, halo)) grad_in = exchange(grad_in, w_in, false);
    grad_out = grad_in;
  }
  if (compute) {
    result.energies = energies.contiguous();
    result.edge_grad = edge_grad.detach().to(torch::kCPU, torch::kFloat64).contiguous();
  }
  return result;
}

OwnerMapExchange::OwnerMapExchange(int64_t n_local, std::vector<int64_t> owner)
    : n_local_(n_local), owner_(std::move(owner))
{
  for (int64_t o : owner_)
    if (o < 0 || o >= n_local_)
      throw std::invalid_argument("ghost owner " + std::to_string(o) + " is not an owned node "
                                  "(0.." + std::to_string(n_local_ - 1) + ")");
}

void OwnerMapExchange::forward(double *rows, int width)
{
  for (size_t k = 0; k < owner_.size(); ++k)
    std::copy(rows + owner_[k] * width, rows + (owner_[k] + 1) * width,
              rows + (n_local_ + static_cast<int64_t>(k)) * width);
}

void OwnerMapExchange::reverse(double *rows, int width)
{
  for (size_t k = 0; k < owner_.size(); ++k) {
    double *ghost = rows + (n_local_ + static_cast<int64_t>(k)) * width;
    double *own = rows + owner_[k] * width;
    for (int c = 0; c < width; ++c) {
      own[c] += ghost[c];
      ghost[c] = 0.0;
    }
  }
}

}    // namespace umlip
