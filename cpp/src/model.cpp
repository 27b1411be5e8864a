#include "umlip/model.hpp"

#include "contract.hpp"
#include "executor.hpp"
#include "prepared_module.hpp"
#include "reduce.hpp"
#include "stages.hpp"
#include "umlip/elements.hpp"
#include "umlip/neighbor.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <sstream>

#ifndef UMLIP_VERSION
#define UMLIP_VERSION "0.0.0"
#endif

namespace umlip {

namespace {

torch::ScalarType parse_dtype(const std::string &s)
{
  if (s == "float32" || s == "float") return torch::kFloat32;
  if (s == "float64" || s == "double") return torch::kFloat64;
  throw std::invalid_argument("unknown dtype '" + s + "': use float32 or float64");
}

torch::Device parse_device(const std::string &s, int local_rank)
{
  if (s == "cpu") return torch::Device(torch::kCPU);
  if (s.rfind("cuda", 0) == 0) {
    if (!torch::cuda::is_available())
      throw std::invalid_argument("device '" + s +
                                  "' requested but no CUDA device is available to this torch "
                                  "build (umlip is tested on CPU only); use device cpu");
    if (s == "cuda" && local_rank >= 0) {
      // one GPU per node-local rank, round robin (the LAMMPS front door passes its local rank)
      const int count = static_cast<int>(torch::cuda::device_count());
      return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(local_rank % count));
    }
    torch::Device d(s);
    if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
      throw std::invalid_argument("device '" + s + "' requested but only " +
                                  std::to_string(torch::cuda::device_count()) +
                                  " CUDA devices are visible");
    return d;
  }
  throw std::invalid_argument("unknown device '" + s + "': use cpu, cuda or cuda:N");
}

// The dtype to run in: options.dtype, or the file's. Unless options allow it, refuses a dtype
// the exporter did not verify.
torch::ScalarType choose_dtype(const ModelOptions &options, const ModelInfo &info)
{
  const torch::ScalarType dtype =
      parse_dtype(options.dtype.empty() ? info.file_dtype : options.dtype);
  const std::string want = dtype_name(dtype);
  if (options.require_verified_dtype &&
      std::find(info.dtypes.begin(), info.dtypes.end(), want) == info.dtypes.end()) {
    std::string have;
    for (const auto &d : info.dtypes) have += (have.empty() ? "" : ", ") + d;
    throw std::invalid_argument("model file '" + info.path + "' was not verified to run in " +
                                want + " (verified: " + have + "); re-export it with --dtype " +
                                want);
  }
  return dtype;
}

// Species index of each atomic number 0..max_atomic_number(), -1 where the model has none.
std::vector<int64_t> species_table(const ModelInfo &info)
{
  std::vector<int64_t> species_of_z(max_atomic_number() + 1, -1);
  for (size_t k = 0; k < info.atomic_numbers.size(); ++k) {
    int z = info.atomic_numbers[k];
    if (z < 1 || z > max_atomic_number())
      throw std::invalid_argument("model file '" + info.path + "' lists atomic number " +
                                  std::to_string(z));
    species_of_z[z] = static_cast<int64_t>(k);
  }
  return species_of_z;
}

// Throws std::invalid_argument for a graph the model cannot be called on: n_local out of range,
// a species index outside the model's, an edge to a missing node, a non-finite position.
void check_graph(const GraphInput &g, int64_t n_species)
{
  const int64_t n = g.n_nodes;
  if (g.n_local < 0 || g.n_local > n)
    throw std::invalid_argument("n_local must be between 0 and the number of nodes");
  for (int64_t a = 0; a < n; ++a)
    if (g.species[a] < 0 || g.species[a] >= n_species)
      throw std::invalid_argument("species index " + std::to_string(g.species[a]) + " of node " +
                                  std::to_string(a) + " is outside 0.." +
                                  std::to_string(n_species - 1));
  for (int64_t e = 0; e < g.n_edges; ++e)
    if (g.edge_i[e] < 0 || g.edge_i[e] >= n || g.edge_j[e] < 0 || g.edge_j[e] >= n)
      throw std::invalid_argument("edge " + std::to_string(e) + " refers to a node outside 0.." +
                                  std::to_string(n - 1));
  for (int64_t a = 0; a < 3 * n; ++a)
    if (!std::isfinite(g.positions[a]))
      throw std::invalid_argument("position of atom " + std::to_string(a / 3) +
                                  " is not finite (NaN or inf)");
}

// The forward arguments of the model contract (section 2) for graph g, in the model's dtype,
// on its device.
std::vector<torch::jit::IValue> forward_inputs(const GraphInput &g, torch::ScalarType dtype,
                                               const torch::Device &dev)
{
  const int64_t n = g.n_nodes, E = g.n_edges;
  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  torch::Tensor pos_d = torch::from_blob(const_cast<double *>(g.positions), {n, 3}, f64);
  torch::Tensor pos_m = pos_d.to(dtype);
  torch::Tensor species =
      torch::from_blob(const_cast<int64_t *>(g.species), {n}, i64).clone();
  torch::Tensor ei, ej, vec_d;
  if (E > 0) {
    ei = torch::from_blob(const_cast<int64_t *>(g.edge_i), {E}, i64);
    ej = torch::from_blob(const_cast<int64_t *>(g.edge_j), {E}, i64);
    vec_d = torch::from_blob(const_cast<double *>(g.edge_vec), {E, 3}, f64);
  } else {
    ei = torch::empty({0}, i64);
    ej = torch::empty({0}, i64);
    vec_d = torch::empty({0, 3}, f64);
  }
  // The model computes r_ij = pos[j] - pos[i] + shift in its own dtype. Choose the shift so that
  // this reproduces the exact (float64) edge vector even when pos is rounded to float32.
  torch::Tensor pos_r = pos_m.to(torch::kFloat64);
  torch::Tensor shift =
      (vec_d - (pos_r.index_select(0, ej) - pos_r.index_select(0, ei))).to(dtype);
  torch::Tensor edge_index = torch::stack({ei, ej});
  torch::Tensor cell = g.cell ? torch::from_blob(const_cast<double *>(g.cell), {3, 3}, f64)
                                    .to(dtype)
                              : torch::zeros({3, 3}, torch::TensorOptions().dtype(dtype));
  return {pos_m.to(dev), species.to(dev), edge_index.to(dev), shift.to(dev),
          torch::jit::IValue(g.n_local), cell.to(dev)};
}

// What the model returned, as contiguous float64 tensors on the CPU.
struct ModelOutputs {
  torch::Tensor energies;     // [n_nodes]
  torch::Tensor edge_grad;    // [n_edges, 3]
  double seconds = 0.0;       // wall time of the forward call
};

// Calls the model's forward and checks the shapes of its outputs against the graph's n_nodes
// nodes and n_edges edges; throws std::runtime_error if it fails or they do not match.
ModelOutputs call_model(torch::jit::Module &module, std::vector<torch::jit::IValue> inputs,
                        int64_t n_nodes, int64_t n_edges)
{
  ModelOutputs out;
  try {
    ExecutorGuard guard;
    const auto t0 = std::chrono::steady_clock::now();
    auto result = module.forward(std::move(inputs)).toGenericDict();
    out.energies =
        result.at("energies").toTensor().detach().to(torch::kCPU, torch::kFloat64).contiguous();
    out.edge_grad =
        result.at("edge_grad").toTensor().detach().to(torch::kCPU, torch::kFloat64).contiguous();
    out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } catch (const std::exception &e) {
    throw std::runtime_error("model evaluation failed: " + first_line(e.what()));
  }
  if (out.energies.numel() != n_nodes || out.edge_grad.numel() != 3 * n_edges)
    throw std::runtime_error("model returned outputs of the wrong shape (energies " +
                             std::to_string(out.energies.numel()) + " for " +
                             std::to_string(n_nodes) + " nodes, edge_grad " +
                             std::to_string(out.edge_grad.numel()) + " for " +
                             std::to_string(n_edges) + " edges)");
  return out;
}

}    // namespace

void set_num_threads(int n)
{
  if (n > 0) at::set_num_threads(n);
}

int get_num_threads() { return at::get_num_threads(); }

std::string build_info()
{
  std::ostringstream os;
  os << "umlip " << UMLIP_VERSION << ", model contract " << kContractMajor << "."
     << kContractMinor << ", torch " << TORCH_VERSION;
#ifdef UMLIP_GIT_HASH
  os << ", git " << UMLIP_GIT_HASH;
#endif
  return os.str();
}

struct Model::Impl {
  std::shared_ptr<PreparedModule> prepared;    // shared with other Models of the same file
  ModelInfo info;
  torch::Device device{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat64;
  std::vector<int64_t> species_of_z;
  std::unique_ptr<StagedModule> staged;    // layered files, built on first staged evaluation
  ModelOptions options;

  StagedModule &staged_module()
  {
    if (!staged)
      staged = std::make_unique<StagedModule>(prepared->stages(), info.stages, dtype, device);
    return *staged;
  }
};

Model::~Model() = default;

Model::Model(const std::string &path, const ModelOptions &options) : impl_(new Impl)
{
  PrepareRequest request;
  request.path = path;
  request.verify_hash = options.verify_hash;
  request.dtype_option = options.dtype;
  request.device = parse_device(options.device, options.local_rank);
  impl_->prepared = prepared_module(
      request, [&options](const ModelInfo &info) { return choose_dtype(options, info); });
  impl_->info = impl_->prepared->info();
  impl_->info.path = path;
  impl_->species_of_z = species_table(impl_->info);
  impl_->dtype = choose_dtype(options, impl_->info);
  impl_->device = request.device;
  impl_->options = options;
  set_num_threads(options.num_threads);
  if (impl_->info.stages.empty() && (options.stages == 1 || options.recompute == 1))
    throw std::invalid_argument("model file '" + path + "' has no layered form (contract 1.2 "
                                "stages), which stage-by-stage evaluation and recomputation "
                                "need; re-export it with this umlip");
}

bool Model::layered() const { return !impl_->info.stages.empty(); }

int Model::max_exchange_width() const
{
  return stage_exchange_width(impl_->info.stages);
}

const ModelInfo &Model::info() const { return impl_->info; }
std::string Model::device() const { return impl_->device.str(); }
std::string Model::dtype() const { return dtype_name(impl_->dtype); }

int64_t Model::species_of(int z) const
{
  int64_t s = (z >= 1 && z <= max_atomic_number()) ? impl_->species_of_z[z] : -1;
  if (s < 0) {
    std::string have;
    for (int a : impl_->info.atomic_numbers) have += (have.empty() ? "" : " ") + element_symbol(a);
    throw std::invalid_argument("element " + element_symbol(z) + " (Z=" + std::to_string(z) +
                                ") is not covered by model '" + impl_->info.name +
                                "'; it covers: " + have);
  }
  return s;
}

std::vector<int64_t> Model::species_of(const int *numbers, int64_t n) const
{
  std::vector<int64_t> out(n);
  for (int64_t a = 0; a < n; ++a) out[a] = species_of(numbers[a]);
  return out;
}

Evaluation Model::evaluate(const GraphInput &g, bool atom_virial, HaloExchange *halo)
{
  const ModelOptions &opt = impl_->options;
  const bool layered = this->layered();
  if (halo && (!layered || opt.stages == 0))
    throw std::invalid_argument("a halo exchange (ghost layer) needs stage-by-stage evaluation "
                                "of a layered model file; '" + impl_->info.path + "' is " +
                                (layered ? "set to whole-model evaluation"
                                               : "not layered: re-export it with this umlip"));
  check_graph(g, static_cast<int64_t>(impl_->info.atomic_numbers.size()));
  Evaluation out;
  out.n_edges = g.n_edges;
  out.forces.assign(3 * g.n_nodes, 0.0);
  if (atom_virial) out.atom_virial.assign(9 * g.n_nodes, 0.0);
  const bool recompute =
      layered &&
      (opt.recompute == 1 || (opt.recompute == -1 && g.n_edges >= opt.recompute_min_edges));
  const bool staged = layered && (halo || opt.stages == 1 || recompute);
  if (g.n_nodes == 0 && !halo) return out;
  // modules are frozen on first use, outside the timed call
  StagedModule *stages = staged ? &impl_->staged_module() : nullptr;
  torch::jit::Module whole = staged ? torch::jit::Module() : impl_->prepared->whole();

  const auto t0 = std::chrono::steady_clock::now();
  torch::Tensor energies, edge_grad;
  if (staged) {
    StagedOutputs so = stages->run(g, halo, recompute, opt.recompute_block_edges);
    out.staged = true;
    out.recomputed = recompute;
    out.blocks = so.blocks;
    out.halo_doubles = so.halo_doubles;
    out.halo_seconds = so.halo_seconds;
    if (g.n_local == 0) return out;
    energies = so.energies;
    edge_grad = so.edge_grad;
    out.model_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() -
        so.halo_seconds;
  } else {
    ModelOutputs mo = call_model(whole, forward_inputs(g, impl_->dtype, impl_->device),
                                 g.n_nodes, g.n_edges);
    out.model_seconds = mo.seconds;
    energies = mo.energies;
    edge_grad = mo.edge_grad;
  }
  sum_local_energies(energies.data_ptr<double>(), g.n_local, out);
  reduce_edge_gradients(g, edge_grad.data_ptr<double>(), out.forces.data(), out.virial,
                        atom_virial ? out.atom_virial.data() : nullptr);
  return out;
}

Evaluation compute(Model &model, const System &sys, bool atom_virial)
{
  std::vector<int64_t> species = model.species_of(sys.numbers, sys.n);
  static const double zero_cell[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  const double *cell = sys.cell ? sys.cell : zero_cell;
  NeighborList nl = neighbor_list(sys.positions, sys.n, cell, sys.pbc, model.info().cutoff);
  const int64_t E = static_cast<int64_t>(nl.size());
  std::vector<double> vec(3 * E);
  for (int64_t e = 0; e < E; ++e) {
    const double *xi = sys.positions + 3 * nl.i[e];
    const double *xj = sys.positions + 3 * nl.j[e];
    const int32_t *S = &nl.shift[3 * e];
    for (int m = 0; m < 3; ++m)
      vec[3 * e + m] = xj[m] - xi[m] + S[0] * cell[m] + S[1] * cell[3 + m] + S[2] * cell[6 + m];
  }
  GraphInput g;
  g.n_nodes = sys.n;
  g.n_local = sys.n;
  g.positions = sys.positions;
  g.species = species.data();
  g.n_edges = E;
  g.edge_i = nl.i.data();
  g.edge_j = nl.j.data();
  g.edge_vec = vec.data();
  g.cell = cell;
  return model.evaluate(g, atom_virial);
}

}    // namespace umlip
