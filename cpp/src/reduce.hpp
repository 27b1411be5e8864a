// The model's outputs -> an Evaluation, in float64 (docs/model-contract.md, section 2). Internal
// to libumlip.
#pragma once

#include "umlip/model.hpp"

#include <cstdint>

namespace umlip {

// E = sum of energies[0 .. n_local-1] into out.energy, and those per-atom energies into
// out.atom_energies (size n_local). Throws std::runtime_error if E is not finite.
void sum_local_energies(const double *energies, int64_t n_local, Evaluation &out);

// Turns the edge gradients g_e = dE_local / dr_e (3 per edge, graph.n_edges edges) into forces
// and virials, where r_e = graph.edge_vec[e] is the vector of edge e = (i, j):
//   forces:           F_i += g_e,  F_j -= g_e
//   virial:           W = sum_e w_e,  w_e = -(r_e (x) g_e + g_e (x) r_e) / 2
//   per-atom virial:  w_e / 2 to i and w_e / 2 to j
// Adds to forces (3 per node) and, if not null, atom_virial (9 per node, row-major); sets
// virial (row-major). Throws std::runtime_error at the first non-finite gradient.
void reduce_edge_gradients(const GraphInput &graph, const double *edge_grad, double *forces,
                           double virial[9], double *atom_virial);

}    // namespace umlip
