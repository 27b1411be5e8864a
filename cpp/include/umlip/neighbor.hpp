// O(N) cell-list neighbour search: full periodic boundary conditions, triclinic cells, mixed
// periodic/non-periodic directions and cells thinner than the cutoff (any number of images).
//
// Convention (identical to ase.neighborlist.neighbor_list "ijS"): for every ordered pair (i, j)
// and integer image shift S with |r_ij| < cutoff, where
//     r_ij = x_j - x_i + S . cell        (cell rows are the lattice vectors)
// the list holds one entry. The list is "full": (j, i, -S) is present whenever (i, j, S) is.
// A pair of an atom with its own periodic image (i == j, S != 0) is included; i == j, S == 0 not.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace umlip {

struct NeighborList {
  std::vector<int64_t> i;        // centre atom of each pair
  std::vector<int64_t> j;        // neighbour atom of each pair
  std::vector<int32_t> shift;    // integer image shift S, 3 per pair
  size_t size() const { return i.size(); }
};

struct NeighborOptions {
  // If set (one flag per atom), only atoms with a non-zero flag act as centres (i); every
  // atom can be a neighbour (j). GhostGraph uses it to skip ghosts that image owned atoms.
  const uint8_t *center_mask = nullptr;
  // Two distinct atoms (or an atom and its own image) closer than this [Å] are an input error:
  // the models are undefined there and the user almost certainly made a mistake.
  double min_distance = 1.0e-4;
  // Optional labels (e.g. LAMMPS atom IDs) used to name atoms in error messages.
  const int64_t *labels = nullptr;
};

// positions: n x 3 [Å], row-major. cell: 3 x 3 [Å], rows = lattice vectors (ignored in
// non-periodic directions, and may be all zeros for a fully non-periodic system).
// pbc: periodicity of the three cell directions. cutoff [Å] > 0.
// Throws std::invalid_argument on non-finite input, a singular periodic cell, or atoms closer
// than options.min_distance (naming the two atoms).
NeighborList neighbor_list(const double *positions, int64_t n, const double *cell, const bool *pbc,
                           double cutoff, const NeighborOptions &options = NeighborOptions());

}    // namespace umlip
