// Graph construction for systems given with explicit ghost atoms (the LAMMPS front door).
// The ASE front door needs none of this: its periodic images are edge shifts (see compute()).
#pragma once

#include "umlip/neighbor.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace umlip {

struct EdgeSet {
  std::vector<int64_t> i, j;    // graph node indices
  std::vector<double> vec;      // r_ij [Å], 3 per edge
  size_t size() const { return i.size(); }
  void clear()
  {
    i.clear();
    j.clear();
    vec.clear();
  }
};

// Keep the candidate pairs (built once with cutoff + skin and reused while atoms keep their
// indices) that are closer than `cutoff` at the current positions x (all atoms, 3 per atom).
// r_ij = x[j] - x[i] (candidates must have zero image shift: ghosts are explicit atoms).
// node_of maps an atom index to its graph node (e.g. a ghost to the local atom it images);
// null means node = atom index.
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
