#include "reduce.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace umlip {

void sum_local_energies(const double *energies, int64_t n_local, Evaluation &out)
{
  out.atom_energies.assign(energies, energies + n_local);
  double etot = 0.0;
  for (int64_t a = 0; a < n_local; ++a) etot += energies[a];
  if (!std::isfinite(etot))
    throw std::runtime_error("the model returned a non-finite energy (NaN or inf); atoms may be "
                             "unphysically close or the model file is broken");
  out.energy = etot;
}

void reduce_edge_gradients(const GraphInput &graph, const double *edge_grad, double *forces,
                           double virial[9], double *atom_virial)
{
  double W[9] = {0};
  for (int64_t e = 0; e < graph.n_edges; ++e) {
    const double *ge = edge_grad + 3 * e;
    const double *re = graph.edge_vec + 3 * e;
    const int64_t i = graph.edge_i[e], j = graph.edge_j[e];
    if (!std::isfinite(ge[0]) || !std::isfinite(ge[1]) || !std::isfinite(ge[2]))
      throw std::runtime_error("the model returned non-finite forces (NaN or inf) on the edge "
                               "between atoms " + std::to_string(i) + " and " +
                               std::to_string(j));
    for (int m = 0; m < 3; ++m) {
      forces[3 * i + m] += ge[m];
      forces[3 * j + m] -= ge[m];
    }
    double w[9];
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b) w[3 * a + b] = -0.5 * (re[a] * ge[b] + re[b] * ge[a]);
    for (int k = 0; k < 9; ++k) W[k] += w[k];
    if (atom_virial) {
      double *vi = atom_virial + 9 * i, *vj = atom_virial + 9 * j;
      for (int k = 0; k < 9; ++k) {
        vi[k] += 0.5 * w[k];
        vj[k] += 0.5 * w[k];
      }
    }
  }
  for (int k = 0; k < 9; ++k) virial[k] = W[k];
}

}    // namespace umlip
