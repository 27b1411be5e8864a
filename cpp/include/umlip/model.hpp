// The umlip engine: load a model file (TorchScript + umlip.json metadata, see
// docs/model-contract.md), evaluate it on a graph, and turn the per-edge energy gradient into
// forces and virials. No LAMMPS, no Python: both front doors call this.
//
// This header deliberately includes no torch headers (pimpl), so front ends compile fast and do
// not depend on libtorch's ABI details.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace umlip {

// Major/minor version of the model contract this engine implements.
constexpr int kContractMajor = 1;
constexpr int kContractMinor = 2;

// Thrown when a model file does not exist (maps to FileNotFoundError in Python).
class FileNotFound : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// One stage of a layered model file (contract 1.2, docs/model-contract.md section 6).
struct StageInfo {
  std::string name;       // "embedding", "layer_1", ..., "readout"
  int width = 0;          // width of the node features the stage returns
  bool exchange = false;  // the stage reads its neighbours' input features: ghost rows of its
                          // input must be their owners' rows (halo exchange before it)
};

struct ModelInfo {
  std::string path;
  std::string contract_version;          // "1.1"
  int contract_minor = 0;                // 1.1+: edge (i, j) means i receives from j, so
                                         // directed graphs (LAMMPS, several ranks) are exact
  std::string family;                    // "sevenn", "mace", ...
  std::string family_version;
  std::string name;                      // e.g. "7net-0"
  std::vector<int> atomic_numbers;       // species index -> Z
  double cutoff = 0.0;                   // [Å]
  int num_layers = 0;                    // message-passing layers
  std::string file_dtype;                // dtype the file was exported in
  std::vector<std::string> dtypes;       // dtypes the exporter verified the file runs in
  std::string energy_unit;               // "eV"
  std::string length_unit;               // "angstrom"
  std::string content_hash;              // "sha256:<hex>" over parameters and buffers
  std::string metadata_json;             // the raw umlip.json text
  std::vector<StageInfo> stages;         // empty: a whole-model file (no layered form)
};

struct ModelOptions {
  std::string device = "cpu";    // "cpu", "cuda", "cuda:N"
  int local_rank = -1;           // >= 0 with device "cuda": GPU local_rank % device count (one
                                 // GPU per node-local MPI rank, round robin); -1: none
  std::string dtype;             // "" = the file's dtype; else "float32" or "float64"
  int num_threads = 0;           // >0: set torch's intra-op thread count; 0: leave as is
  bool verify_hash = true;       // recompute and check the content hash at load
  bool require_verified_dtype = true;    // refuse a dtype the exporter did not verify
  // Layered files only: evaluate stage by stage (1), call the whole-model forward (0), or
  // choose (-1: stages when a halo exchange is given or recomputation is on).
  int stages = -1;
  // Layer-wise recomputation (layered files): keep only each stage's input in the forward
  // pass and recompute the stage's activations in the backward pass, so peak memory is about
  // one stage's instead of all of them, for about one more forward pass of time. 1 on, 0 off,
  // -1 on for graphs of at least recompute_min_edges edges. Measured on CPU (docs/benchmarks.md):
  // recomputation costs ~40% more time at 21500 edges and none at 86000, where it also saves
  // 7 GB of SevenNet-0's memory.
  int recompute = -1;
  int64_t recompute_min_edges = 50000;
  // With recomputation, a graph of more edges runs each stage over blocks of consecutive
  // receiving nodes with at most this many edges (a stage's row i depends only on node i and
  // the edges it receives), so peak memory is about one block of one stage; 0: whole graph.
  int64_t recompute_block_edges = 50000;
};

// The halo exchange of a layered evaluation over domain-decomposed nodes: nodes
// 0..n_local-1 are owned, the others are ghost copies of atoms owned elsewhere (another rank,
// or a periodic image of an owned atom). The engine calls these collectively, in the same
// order with the same widths on every rank (also on ranks with no nodes), on row-major
// n_nodes x width buffers of float64.
class HaloExchange {
 public:
  virtual ~HaloExchange() = default;
  // Set every ghost row of `rows` to its owner's row.
  virtual void forward(double *rows, int width) = 0;
  // Add every ghost row of `rows` into its owner's row (summing all copies of an atom), then
  // set the ghost rows to zero: the adjoint of forward().
  virtual void reverse(double *rows, int width) = 0;
};

// The halo exchange of a graph whose ghosts are copies of its own owned nodes (one process:
// periodic images as separate ghost nodes). owner[k] is the owned node that ghost node
// n_local + k copies.
class OwnerMapExchange : public HaloExchange {
 public:
  OwnerMapExchange(int64_t n_local, std::vector<int64_t> owner);
  void forward(double *rows, int width) override;
  void reverse(double *rows, int width) override;

 private:
  int64_t n_local_;
  std::vector<int64_t> owner_;
};

// A graph as the model contract sees it. Nodes 0..n_local-1 are the atoms whose energies are
// summed; the others are ghost atoms (LAMMPS domain decomposition) that only carry messages.
struct GraphInput {
  int64_t n_nodes = 0;
  int64_t n_local = 0;
  const double *positions = nullptr;    // n_nodes x 3 [Å]
  const int64_t *species = nullptr;     // n_nodes, index into ModelInfo::atomic_numbers
  int64_t n_edges = 0;
  const int64_t *edge_i = nullptr;      // n_edges
  const int64_t *edge_j = nullptr;      // n_edges
  const double *edge_vec = nullptr;     // n_edges x 3: r_ij = x_j - x_i + image shift [Å]
  const double *cell = nullptr;         // 3 x 3 rows = lattice vectors [Å], may be null
};

struct Evaluation {
  double energy = 0.0;                  // sum of local per-atom energies [eV], summed in float64
  std::vector<double> atom_energies;    // n_local [eV]
  std::vector<double> forces;           // n_nodes x 3 [eV/Å], ghosts included
  double virial[9] = {0};               // W = -sum_e r_e (x) dE/dr_e, symmetrised, row-major [eV]
  std::vector<double> atom_virial;      // n_nodes x 9 [eV] when requested (half of each edge
                                        // to each end); sums to `virial`
  int64_t n_edges = 0;
  bool staged = false;                  // evaluated stage by stage (layered file)
  bool recomputed = false;              // with layer-wise recomputation
  int64_t blocks = 1;                   // receiver blocks per stage (recomputation, large graphs)
  int64_t halo_doubles = 0;             // float64 values this rank passed to halo exchanges
  double halo_seconds = 0.0;            // wall time inside the halo exchanges
  double model_seconds = 0.0;           // wall time of the TorchScript call (forward, which
                                        // includes the backward pass to the edge vectors)
};

class Model {
 public:
  explicit Model(const std::string &path, const ModelOptions &options = ModelOptions());
  ~Model();
  Model(const Model &) = delete;
  Model &operator=(const Model &) = delete;

  const ModelInfo &info() const;
  std::string device() const;
  std::string dtype() const;

  // Species index of an atomic number; throws std::invalid_argument naming the element and the
  // elements the model covers.
  int64_t species_of(int atomic_number) const;
  std::vector<int64_t> species_of(const int *atomic_numbers, int64_t n) const;

  // Energy, forces and virials of the local nodes of `graph`. With `halo`, a layered file is
  // evaluated stage by stage with ghost rows refreshed through it (LAMMPS ghost layer): every
  // rank must call this, even with no nodes, so that the exchanges match.
  Evaluation evaluate(const GraphInput &graph, bool atom_virial = false,
                      HaloExchange *halo = nullptr);

  // True for a layered file (metadata "stages").
  bool layered() const;
  // Largest feature width any halo exchange of this model carries (0 if none).
  int max_exchange_width() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A periodic (or partly periodic, or isolated) system given by its own atoms only, as ASE sees
// it. Periodic images enter as edge shifts; there are no ghost atoms.
struct System {
  int64_t n = 0;
  const double *positions = nullptr;    // n x 3 [Å]
  const int *numbers = nullptr;         // n atomic numbers
  const double *cell = nullptr;         // 3 x 3 rows = lattice vectors [Å]
  const bool *pbc = nullptr;            // 3
};

// Neighbour search + evaluate for a System.
Evaluation compute(Model &model, const System &system, bool atom_virial = false);

// The model contract's content hash (without the "sha256:" prefix): SHA-256 over the file's
// parameters and buffers (sorted by name; name, dtype, shape, raw bytes) followed by the metadata
// fields that change what the engine computes (elements, cutoff, layers, dtypes). The exporter
// calls this on the saved TorchScript and the engine recomputes it at every load.
std::string content_hash(const std::string &path, const std::vector<int> &atomic_numbers,
                         double cutoff, int num_layers, const std::string &dtype,
                         const std::vector<std::string> &dtypes);

// Torch intra-op threads.
void set_num_threads(int n);
int get_num_threads();

// Short description of this engine build (versions), for logs.
std::string build_info();

}    // namespace umlip
