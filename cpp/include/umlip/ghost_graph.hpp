// The atom graph of a set of atoms given with explicit ghost atoms (a LAMMPS subdomain: owned
// atoms, then ghost copies of atoms near it, periodic images included). No LAMMPS headers: the
// pair style hands over positions and atom IDs, and tests drive it from Python. The ASE front
// door needs none of this: its periodic images are edge shifts (see compute() in model.hpp).
//
// A ghost whose atom ID is owned here is a periodic image of an owned atom: it is folded onto
// that atom, the image offset kept in the edge vector. On one MPI rank every ghost is such an
// image and the graph is exactly the periodic graph the ASE front door builds. Any other ghost
// ("foreign", owned by another rank) is a graph node of its own that carries messages; only the
// energies of owned atoms count.
#pragma once

#include "umlip/neighbor.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace umlip {

struct EdgeSet {
  std::vector<int64_t> i, j;    // graph node indices
  std::vector<double> vec;      // r_ij = x[j] - x[i] (image offset included), 3 per edge
  size_t size() const { return i.size(); }
  void clear()
  {
    i.clear();
    j.clear();
    vec.clear();
  }
};

class GhostGraph {
 public:
  // cutoff: edge cutoff; skin: candidate pairs are searched within cutoff + skin and stay valid
  // while no atom has moved more than skin / 2; num_layers: message-passing layers (pruning).
  // Any length unit, the same for positions, cutoff and skin (the engine uses Å).
  GhostGraph(double cutoff, double skin, int num_layers);

  // New atoms (after a re-assignment of atoms or ghosts): x holds n_all positions (3 each), the
  // first n_local owned, the rest ghosts; ids their atom IDs. Folds self-image ghosts and builds
  // the candidate pairs within cutoff + skin, searched from owned atoms and foreign ghosts only
  // (an image's pairs are its owner's). Throws std::invalid_argument naming atom IDs, e.g. for
  // two atoms at the same position.
  void rebuild(const double *x, const int64_t *ids, int64_t n_local, int64_t n_all);

  // The graph at positions x (the atoms of the last rebuild, in the same order, moved less
  // than skin / 2): candidate pairs closer than cutoff become edges between graph nodes. With
  // prune, nodes that cannot reach an owned atom's energy within num_layers messages and edges
  // that feed no needed feature are removed (exact, see prune_receptive_field).
  void update(const double *x, bool prune);

  int64_t n_local() const { return n_local_; }
  int64_t n_all() const { return n_all_; }                 // atoms at the last rebuild
  int64_t n_foreign() const { return n_nodes_all_ - n_local_; }    // foreign ghosts, unpruned
  int64_t n_nodes() const { return static_cast<int64_t>(node_atoms_.size()); }
  // atom index of each graph node after update(): owned atoms first, in order, then the kept
  // foreign ghosts
  const std::vector<int64_t> &node_atoms() const { return node_atoms_; }
  const EdgeSet &edges() const { return edges_; }            // between graph nodes
  const NeighborList &candidates() const { return candidates_; }    // between atom indices
  double cutoff() const { return cutoff_; }
  double skin() const { return skin_; }
  int num_layers() const { return num_layers_; }
  size_t memory_bytes() const;

 private:
  double cutoff_, skin_;
  int num_layers_;
  int64_t n_local_ = 0, n_all_ = 0, n_nodes_all_ = 0;
  NeighborList candidates_;
  std::vector<int64_t> node_of_;      // atom index -> graph node (self-image ghost -> owner)
  std::vector<int64_t> atom_of_;      // graph node -> atom index (before pruning)
  std::vector<int64_t> node_atoms_;   // graph node -> atom index (after pruning)
  EdgeSet edges_;
};

// Keep the candidate pairs that are closer than `cutoff` at the current positions x (all
// atoms, 3 per atom). r_ij = x[j] - x[i] (candidates must have zero image shift: ghosts are
// explicit atoms). node_of maps an atom index to its graph node (e.g. a ghost to the owned atom
// it images); null means node = atom index.
void select_edges(const NeighborList &candidates, const double *x, double cutoff,
                  const int64_t *node_of, EdgeSet &out);

// Remove what cannot influence the energies of nodes 0..n_local-1 through num_layers message
// passing steps, with the model contract's message direction (1.1+: edge (i, j) means i
// receives from j). With d(a) the number of message hops from node a to the nearest local
// node, the energy of a local node needs the features of a up to layer num_layers - d(a):
// nodes with d > num_layers are removed, and so are the edges into nodes with
// d >= num_layers (no feature of theirs that is needed uses a message). Exact for any model
// whose local energies depend on the graph only through num_layers rounds of messages.
// Renumbers `edges` in place and returns the kept nodes' old indices (locals first, in order).
std::vector<int64_t> prune_receptive_field(int64_t n_nodes, int64_t n_local, int num_layers,
                                           EdgeSet &edges);

}    // namespace umlip
