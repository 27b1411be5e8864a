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

// Consecutive receiving nodes [first, first + n_receivers), the edges they receive and the
// nodes those edges come from: the sub-graph on which a stage's rows of these receivers are
// exact, since a stage's row i depends only on node i and the edges (i, j) it receives.
struct ReceiverBlock {
  int64_t first = 0, n_receivers = 0;
  torch::Tensor nodes;         // [n_sub] int64: the receivers in order, then the other senders
  torch::Tensor species;       // [n_sub] int64
  torch::Tensor edges;         // [n_block_edges] int64: the block's edges in the whole graph
  torch::Tensor edge_index;    // [2, n_block_edges] int64, numbered within the block
};

// Splits g into blocks of consecutive receivers with at most max_edges edges each (a node
// receiving more forms a block alone); every node is a receiver of exactly one block.
std::vector<ReceiverBlock> receiver_blocks(const GraphInput &g, const torch::Tensor &species,
                                           int64_t max_edges)
{
  const int64_t n = g.n_nodes, E = g.n_edges;
  std::vector<int64_t> degree(n, 0), block_of(n, 0);
  for (int64_t e = 0; e < E; ++e) ++degree[g.edge_i[e]];
  std::vector<ReceiverBlock> blocks;
  for (int64_t a = 0; a < n;) {
    int64_t b = a, count = 0;
    while (b < n && (b == a || count + degree[b] <= max_edges)) count += degree[b++];
    std::fill(block_of.begin() + a, block_of.begin() + b, static_cast<int64_t>(blocks.size()));
    ReceiverBlock blk;
    blk.first = a;
    blk.n_receivers = b - a;
    blocks.push_back(blk);
    a = b;
  }
  std::vector<std::vector<int64_t>> edges(blocks.size());
  for (int64_t e = 0; e < E; ++e) edges[block_of[g.edge_i[e]]].push_back(e);

  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  const auto as_tensor = [&](std::vector<int64_t> &v) {
    if (v.empty()) return torch::empty({0}, i64);
    return torch::from_blob(v.data(), {static_cast<int64_t>(v.size())}, i64).clone();
  };
  std::vector<int64_t> sub(n, -1);    // node -> its row in the current block, -1: not in it
  for (size_t c = 0; c < blocks.size(); ++c) {
    ReceiverBlock &blk = blocks[c];
    std::vector<int64_t> nodes, ei, ej;
    for (int64_t k = blk.first; k < blk.first + blk.n_receivers; ++k) {
      sub[k] = static_cast<int64_t>(nodes.size());
      nodes.push_back(k);
    }
    for (int64_t e : edges[c]) {
      const int64_t j = g.edge_j[e];
      if (sub[j] < 0) {
        sub[j] = static_cast<int64_t>(nodes.size());
        nodes.push_back(j);
      }
      ei.push_back(sub[g.edge_i[e]]);
      ej.push_back(sub[j]);
    }
    for (int64_t k : nodes) sub[k] = -1;
    const torch::Device device = species.device();
    blk.nodes = as_tensor(nodes).to(device);
    blk.species = species.index_select(0, blk.nodes);
    blk.edges = as_tensor(edges[c]).to(device);
    blk.edge_index = torch::stack({as_tensor(ei), as_tensor(ej)}).to(device);
  }
  return blocks;
}

// The gradients of (the energies of the first n_local rows + <grad_out, the features of the
// first n_rows rows>) with respect to the edge vectors vec and, if with_input, the input h of
// the stage call that gave r; undefined where nothing depends on them.
std::pair<torch::Tensor, torch::Tensor> stage_gradients(const StageResult &r, int64_t n_local,
                                                        int64_t n_rows,
                                                        const torch::Tensor &grad_out,
                                                        const torch::Tensor &vec,
                                                        const torch::Tensor &h, bool with_input)
{
  std::vector<torch::Tensor> outs, grads_out;
  torch::Tensor local = r.energies.narrow(0, 0, n_local).sum();
  if (local.requires_grad()) {
    outs.push_back(local);
    grads_out.push_back(torch::ones_like(local));
  }
  if (grad_out.defined() && r.features.requires_grad()) {
    outs.push_back(r.features.narrow(0, 0, n_rows));
    grads_out.push_back(grad_out);
  }
  if (outs.empty()) return {};
  std::vector<torch::Tensor> wrt{vec};
  if (with_input) wrt.push_back(h);
  auto grads = torch::autograd::grad(outs, wrt, grads_out, /*retain_graph=*/false,
                                     /*create_graph=*/false, /*allow_unused=*/true);
  return {grads[0], with_input ? grads[1] : torch::Tensor()};
}

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

StagedOutputs StagedModule::run(const GraphInput &g, HaloExchange *halo, bool recompute,
                                int64_t block_edges)
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
  // stage s on a graph of h.size(0) nodes
  auto call_on = [&](size_t s, const torch::Tensor &h, const torch::Tensor &sp,
                     const torch::Tensor &ei, const torch::Tensor &v) {
    StageResult r;
    const int64_t rows = h.size(0);
    try {
      auto out = stages_[s].forward({h, sp, ei, v}).toTuple();
      r.features = out->elements().at(0).toTensor();
      r.energies = out->elements().at(1).toTensor();
    } catch (const std::exception &e) {
      throw std::runtime_error("model evaluation failed in stage '" + info_[s].name +
                               "': " + first_line(e.what()));
    }
    if (r.energies.numel() != rows || r.features.dim() != 2 || r.features.size(0) != rows ||
        r.features.size(1) != info_[s].width)
      throw std::runtime_error("stage '" + info_[s].name + "' returned outputs of the wrong "
                               "shape for " + std::to_string(rows) + " nodes (width " +
                               std::to_string(info_[s].width) + " expected)");
    return r;
  };

  // with recomputation on a large graph, every stage runs block by block of receivers, so
  // that peak memory is about one block of one stage
  const bool blocked = compute && recompute && block_edges > 0 && E > block_edges;
  std::vector<ReceiverBlock> blocks;
  if (blocked) blocks = receiver_blocks(g, species, block_edges);
  if (blocked) result.blocks = static_cast<int64_t>(blocks.size());
  auto call = [&](size_t s, const torch::Tensor &h) {
    if (!blocked) return call_on(s, h, species, edge_index, vec);
    StageResult r;
    for (const ReceiverBlock &b : blocks) {
      StageResult p = call_on(s, h.index_select(0, b.nodes), b.species, b.edge_index,
                              vec.index_select(0, b.edges));
      if (!r.features.defined()) {
        r.features = torch::empty({n, p.features.size(1)}, p.features.options());
        r.energies = torch::empty({n}, p.energies.options());
      }
      r.features.narrow(0, b.first, b.n_receivers).copy_(p.features.narrow(0, 0, b.n_receivers));
      r.energies.narrow(0, b.first, b.n_receivers).copy_(p.energies.narrow(0, 0, b.n_receivers));
    }
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
      if (w_in > 0) grad_in = torch::zeros({n, w_in}, model_opts);
      if (blocked) {
        for (const ReceiverBlock &b : blocks) {
          torch::Tensor hb = inputs[s].index_select(0, b.nodes).detach();
          if (w_in > 0) hb.requires_grad_(true);
          torch::Tensor vb = vec.detach().index_select(0, b.edges).requires_grad_(true);
          StageResult r = call_on(s, hb, b.species, b.edge_index, vb);
          const int64_t n_loc = std::clamp<int64_t>(g.n_local - b.first, 0, b.n_receivers);
          torch::Tensor go = grad_out.defined()
              ? grad_out.narrow(0, b.first, b.n_receivers)
              : torch::Tensor();
          auto [gv, gh] = stage_gradients(r, n_loc, b.n_receivers, go, vb, hb, w_in > 0);
          if (gv.defined()) edge_grad.index_add_(0, b.edges, gv);
          if (gh.defined()) grad_in.index_add_(0, b.nodes, gh);
        }
      } else {
        StageResult r = recompute ? call(s, inputs[s]) : std::move(kept[s]);
        auto [gv, gh] = stage_gradients(r, g.n_local, n, grad_out, vec, inputs[s], w_in > 0);
        if (gv.defined()) edge_grad += gv;
        if (gh.defined()) grad_in = gh;
      }
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
