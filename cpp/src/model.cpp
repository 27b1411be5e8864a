#include "umlip/model.hpp"

#include "umlip/elements.hpp"
#include "umlip/json.hpp"
#include "umlip/neighbor.hpp"
#include "umlip/sha256.hpp"

#include <torch/script.h>
#include <torch/torch.h>

#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#ifndef UMLIP_VERSION
#define UMLIP_VERSION "0.0.0"
#endif

namespace umlip {

namespace {

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

std::string first_line(const std::string &s)
{
  auto p = s.find('\n');
  return p == std::string::npos ? s : s.substr(0, p);
}

std::string dtype_name(torch::ScalarType t)
{
  if (t == torch::kFloat32) return "float32";
  if (t == torch::kFloat64) return "float64";
  return std::string(c10::toString(t));
}

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

// Canonical text of the metadata fields that change what the engine computes; part of the hash.
std::string physics_fields(const std::vector<int> &atomic_numbers, double cutoff, int num_layers,
                           const std::string &dtype, const std::vector<std::string> &dtypes)
{
  std::ostringstream os;
  os << "atomic_numbers=";
  for (size_t k = 0; k < atomic_numbers.size(); ++k) os << (k ? "," : "") << atomic_numbers[k];
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.17g", cutoff);
  os << ";cutoff=" << buf << ";num_layers=" << num_layers << ";dtype=" << dtype << ";dtypes=";
  for (size_t k = 0; k < dtypes.size(); ++k) os << (k ? "," : "") << dtypes[k];
  return os.str();
}

std::string hash_module(const torch::jit::Module &module, const std::string &fields)
{
  std::vector<std::pair<std::string, torch::Tensor>> items;
  for (const auto &p : module.named_parameters(true)) items.emplace_back("p:" + p.name, p.value);
  for (const auto &b : module.named_buffers(true)) items.emplace_back("b:" + b.name, b.value);
  std::sort(items.begin(), items.end(),
            [](const auto &a, const auto &b) { return a.first < b.first; });
  Sha256 h;
  for (const auto &it : items) {
    torch::Tensor t = it.second.detach().to(torch::kCPU).contiguous();
    std::ostringstream head;
    head << it.first << '\n' << c10::toString(t.scalar_type()) << '\n';
    for (int64_t d = 0; d < t.dim(); ++d) head << (d ? "," : "") << t.size(d);
    head << '\n';
    h.update(head.str());
    h.update(t.data_ptr(), t.numel() * t.element_size());
  }
  h.update("metadata\n" + fields);
  return h.hexdigest();
}

torch::jit::Module load_torchscript(const std::string &path,
                                    std::unordered_map<std::string, std::string> &extra)
{
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(path, ec))
    throw FileNotFound("model file '" + path +
                       "' does not exist (give a model file exported with `umlip export`, or a "
                       "model name such as 7net-0)");
  if (fs::is_directory(path, ec))
    throw std::invalid_argument("model path '" + path + "' is a directory, not a model file");
  {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw std::invalid_argument("model file '" + path + "' cannot be opened for reading");
  }
  try {
    return torch::jit::load(path, torch::kCPU, extra);
  } catch (const std::exception &e) {
    throw std::invalid_argument("model file '" + path +
                                "' is not a readable TorchScript archive (corrupt, truncated, or "
                                "not a model file): " + first_line(e.what()));
  }
}

}    // namespace

std::string content_hash(const std::string &path, const std::vector<int> &atomic_numbers,
                         double cutoff, int num_layers, const std::string &dtype,
                         const std::vector<std::string> &dtypes)
{
  std::unordered_map<std::string, std::string> extra;
  auto module = load_torchscript(path, extra);
  return hash_module(module, physics_fields(atomic_numbers, cutoff, num_layers, dtype, dtypes));
}

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
  torch::jit::Module module;
  ModelInfo info;
  torch::Device device{torch::kCPU};
  torch::ScalarType dtype = torch::kFloat64;
  std::vector<int64_t> species_of_z;
};

Model::~Model() = default;

Model::Model(const std::string &path, const ModelOptions &options) : impl_(new Impl)
{
  std::unordered_map<std::string, std::string> extra{{"umlip.json", ""}};
  impl_->module = load_torchscript(path, extra);
  const std::string &meta_text = extra["umlip.json"];
  if (meta_text.empty())
    throw std::invalid_argument(
        "'" + path +
        "' is a TorchScript file but not a umlip model (it has no umlip.json metadata); export "
        "the model with `umlip export <family> <source> -o <file>`");

  ModelInfo &info = impl_->info;
  info.path = path;
  info.metadata_json = meta_text;
  Json meta;
  try {
    meta = Json::parse(meta_text);
    if (!meta.has("contract") || meta.at("contract").as_string() != "umlip-model")
      throw std::invalid_argument("metadata field 'contract' is not 'umlip-model'");
    info.contract_version = meta.at("contract_version").as_string();
    const auto dot = info.contract_version.find('.');
    int major = std::stoi(info.contract_version.substr(0, dot));
    info.contract_minor =
        dot == std::string::npos ? 0 : std::stoi(info.contract_version.substr(dot + 1));
    if (major != kContractMajor)
      throw std::invalid_argument(
          "model contract version " + info.contract_version + " is not supported by this umlip "
          "(which reads " + std::to_string(kContractMajor) + ".x); re-export the model with this "
          "umlip or install a matching umlip");
    info.family = meta.at("family").as_string();
    info.family_version = meta.at("family_version").as_string();
    info.name = meta.at("name").as_string();
    for (const auto &z : meta.at("atomic_numbers").as_array())
      info.atomic_numbers.push_back(static_cast<int>(z.as_number()));
    info.cutoff = meta.at("cutoff").as_number();
    info.num_layers = static_cast<int>(meta.at("num_layers").as_number());
    info.file_dtype = meta.at("dtype").as_string();
    for (const auto &d : meta.at("dtypes").as_array()) info.dtypes.push_back(d.as_string());
    info.energy_unit = meta.at("energy_unit").as_string();
    info.length_unit = meta.at("length_unit").as_string();
    info.content_hash = meta.at("content_hash").as_string();
  } catch (const std::invalid_argument &e) {
    throw std::invalid_argument("model file '" + path + "' has invalid umlip metadata: " +
                                e.what());
  }
  if (info.energy_unit != "eV" || info.length_unit != "angstrom")
    throw std::invalid_argument("model file '" + path + "' uses units " + info.energy_unit + "/" +
                                info.length_unit + "; this engine expects eV/angstrom");
  if (!(info.cutoff > 0.0) || info.num_layers < 1 || info.atomic_numbers.empty())
    throw std::invalid_argument("model file '" + path +
                                "' has inconsistent metadata (cutoff, num_layers or elements)");

  if (options.verify_hash) {
    std::string got =
        "sha256:" + hash_module(impl_->module, physics_fields(info.atomic_numbers, info.cutoff,
                                                              info.num_layers, info.file_dtype,
                                                              info.dtypes));
    if (got != info.content_hash)
      throw std::invalid_argument("model file '" + path +
                                  "' failed its content-hash check (metadata says " +
                                  info.content_hash + ", weights hash to " + got +
                                  "): the weights or metadata were modified after export, or the "
                                  "file is damaged");
  }

  impl_->species_of_z.assign(max_atomic_number() + 1, -1);
  for (size_t k = 0; k < info.atomic_numbers.size(); ++k) {
    int z = info.atomic_numbers[k];
    if (z < 1 || z > max_atomic_number())
      throw std::invalid_argument("model file '" + path + "' lists atomic number " +
                                  std::to_string(z));
    impl_->species_of_z[z] = static_cast<int64_t>(k);
  }

  std::string want = options.dtype.empty() ? info.file_dtype : options.dtype;
  impl_->dtype = parse_dtype(want);
  want = dtype_name(impl_->dtype);
  if (options.require_verified_dtype &&
      std::find(info.dtypes.begin(), info.dtypes.end(), want) == info.dtypes.end()) {
    std::string have;
    for (const auto &d : info.dtypes) have += (have.empty() ? "" : ", ") + d;
    throw std::invalid_argument("model file '" + path + "' was not verified to run in " + want +
                                " (verified: " + have + "); re-export it with --dtype " + want);
  }
  impl_->device = parse_device(options.device, options.local_rank);
  set_num_threads(options.num_threads);

  impl_->module.eval();
  if (dtype_name(impl_->dtype) != info.file_dtype) impl_->module.to(impl_->dtype);
  impl_->module.to(impl_->device);
  // Freezing inlines the weights as constants (after the hash check and dtype conversion);
  // measured ~5-10% faster for SevenNet-0 and MACE on CPU. UMLIP_JIT_FREEZE=0 turns it off.
  const char *freeze_env = std::getenv("UMLIP_JIT_FREEZE");
  if (!(freeze_env && std::string(freeze_env) == "0")) {
    try {
      impl_->module = torch::jit::freeze(impl_->module);
    } catch (const std::exception &) {
      // a module that cannot be frozen runs unfrozen: same numbers, slightly slower
    }
  }
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

Evaluation Model::evaluate(const GraphInput &g, bool atom_virial)
{
  const int64_t n = g.n_nodes, E = g.n_edges;
  if (g.n_local < 0 || g.n_local > n)
    throw std::invalid_argument("n_local must be between 0 and the number of nodes");
  const int64_t nspecies = static_cast<int64_t>(impl_->info.atomic_numbers.size());
  for (int64_t a = 0; a < n; ++a)
    if (g.species[a] < 0 || g.species[a] >= nspecies)
      throw std::invalid_argument("species index " + std::to_string(g.species[a]) + " of node " +
                                  std::to_string(a) + " is outside 0.." +
                                  std::to_string(nspecies - 1));
  for (int64_t e = 0; e < E; ++e)
    if (g.edge_i[e] < 0 || g.edge_i[e] >= n || g.edge_j[e] < 0 || g.edge_j[e] >= n)
      throw std::invalid_argument("edge " + std::to_string(e) + " refers to a node outside 0.." +
                                  std::to_string(n - 1));
  for (int64_t a = 0; a < 3 * n; ++a)
    if (!std::isfinite(g.positions[a]))
      throw std::invalid_argument("position of atom " + std::to_string(a / 3) +
                                  " is not finite (NaN or inf)");

  Evaluation out;
  out.n_edges = E;
  out.atom_energies.assign(g.n_local, 0.0);
  out.forces.assign(3 * n, 0.0);
  if (atom_virial) out.atom_virial.assign(9 * n, 0.0);
  if (n == 0) return out;

  const auto f64 = torch::TensorOptions().dtype(torch::kFloat64);
  const auto i64 = torch::TensorOptions().dtype(torch::kInt64);
  torch::Tensor pos_d = torch::from_blob(const_cast<double *>(g.positions), {n, 3}, f64);
  torch::Tensor pos_m = pos_d.to(impl_->dtype);
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
      (vec_d - (pos_r.index_select(0, ej) - pos_r.index_select(0, ei))).to(impl_->dtype);
  torch::Tensor edge_index = torch::stack({ei, ej});
  torch::Tensor cell = g.cell ? torch::from_blob(const_cast<double *>(g.cell), {3, 3}, f64)
                                    .to(impl_->dtype)
                              : torch::zeros({3, 3}, torch::TensorOptions().dtype(impl_->dtype));

  const torch::Device dev = impl_->device;
  std::vector<torch::jit::IValue> inputs{pos_m.to(dev), species.to(dev), edge_index.to(dev),
                                         shift.to(dev), torch::jit::IValue(g.n_local),
                                         cell.to(dev)};
  torch::Tensor energies, grad;
  try {
    // TorchScript's profiling executor re-optimises for new input shapes, and in MD the number
    // of edges changes every step: its first calls cost 3-5x the steady state and steady state
    // was not faster (measured on SevenNet-0 and MACE). Run our graphs unoptimised; the guard
    // restores the process-wide setting for other TorchScript users in the process.
    // UMLIP_JIT_OPTIMIZE=1 keeps torch's default.
    ExecutorGuard guard;
    const auto t0 = std::chrono::steady_clock::now();
    auto result = impl_->module.forward(inputs).toGenericDict();
    energies = result.at("energies").toTensor().detach().to(torch::kCPU, torch::kFloat64).contiguous();
    grad = result.at("edge_grad").toTensor().detach().to(torch::kCPU, torch::kFloat64).contiguous();
    out.model_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  } catch (const std::exception &e) {
    throw std::runtime_error("model evaluation failed: " + first_line(e.what()));
  }
  if (energies.numel() != n || grad.numel() != 3 * E)
    throw std::runtime_error("model returned outputs of the wrong shape (energies " +
                             std::to_string(energies.numel()) + " for " + std::to_string(n) +
                             " nodes, edge_grad " + std::to_string(grad.numel()) + " for " +
                             std::to_string(E) + " edges)");

  const double *pe = energies.data_ptr<double>();
  const double *pg = grad.data_ptr<double>();
  double etot = 0.0;
  for (int64_t a = 0; a < g.n_local; ++a) {
    out.atom_energies[a] = pe[a];
    etot += pe[a];
  }
  if (!std::isfinite(etot))
    throw std::runtime_error("the model returned a non-finite energy (NaN or inf); atoms may be "
                             "unphysically close or the model file is broken");
  out.energy = etot;

  double W[9] = {0};
  double *F = out.forces.data();
  for (int64_t e = 0; e < E; ++e) {
    const double *ge = pg + 3 * e;
    const double *re = g.edge_vec + 3 * e;
    if (!std::isfinite(ge[0]) || !std::isfinite(ge[1]) || !std::isfinite(ge[2]))
      throw std::runtime_error("the model returned non-finite forces (NaN or inf) on the edge "
                               "between atoms " + std::to_string(g.edge_i[e]) + " and " +
                               std::to_string(g.edge_j[e]));
    const int64_t i = g.edge_i[e], j = g.edge_j[e];
    for (int m = 0; m < 3; ++m) {
      F[3 * i + m] += ge[m];
      F[3 * j + m] -= ge[m];
    }
    double w[9];
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) w[3 * a + b] = -0.5 * (re[a] * ge[b] + re[b] * ge[a]);
    for (int k = 0; k < 9; ++k) W[k] += w[k];
    if (atom_virial) {
      double *vi = &out.atom_virial[9 * i], *vj = &out.atom_virial[9 * j];
      for (int k = 0; k < 9; ++k) {
        vi[k] += 0.5 * w[k];
        vj[k] += 0.5 * w[k];
      }
    }
  }
  for (int k = 0; k < 9; ++k) out.virial[k] = W[k];
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
