#include "umlip/graph.hpp"

#include <stdexcept>

namespace umlip {

void select_edges(const NeighborList &cand, const double *x, double cutoff, const int64_t *node_of,
                  EdgeSet &out)
{
  out.clear();
  const double rc2 = cutoff * cutoff;
  const size_t E = cand.size();
  out.i.reserve(E);
  out.j.reserve(E);
  out.vec.reserve(3 * E);
  for (size_t e = 0; e < E; ++e) {
    const int64_t a = cand.i[e], b = cand.j[e];
    const double *xa = x + 3 * a, *xb = x + 3 * b;
    const double d0 = xb[0] - xa[0], d1 = xb[1] - xa[1], d2 = xb[2] - xa[2];
    if (d0 * d0 + d1 * d1 + d2 * d2 >= rc2) continue;
    out.i.push_back(node_of ? node_of[a] : a);
    out.j.push_back(node_of ? node_of[b] : b);
    out.vec.push_back(d0);
    out.vec.push_back(d1);
    out.vec.push_back(d2);
  }
}

std::vector<int64_t> prune_receptive_field(int64_t n_nodes, int64_t n_local, int num_layers,
                                           EdgeSet &edges)
{
  if (num_layers < 1) throw std::invalid_argument("num_layers must be >= 1");
  const int64_t E = static_cast<int64_t>(edges.size());
  // senders of each receiver (CSR): messages reach a local node backwards along these. The
  // LAMMPS graph folds periodic self-images, so the physical reverse of an edge may sit on
  // another image; only the direction the model's messages flow counts.
  std::vector<int64_t> start(n_nodes + 1, 0), senders(E);
  for (int64_t e = 0; e < E; ++e) ++start[edges.i[e] + 1];
  for (int64_t a = 0; a < n_nodes; ++a) start[a + 1] += start[a];
  {
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t e = 0; e < E; ++e) senders[fill[edges.i[e]]++] = edges.j[e];
  }
  const int64_t far = num_layers + 1;
  std::vector<int64_t> hop(n_nodes, far), frontier, next;
  for (int64_t a = 0; a < n_local; ++a) {
    hop[a] = 0;
    frontier.push_back(a);
  }
  for (int64_t h = 1; h <= num_layers && !frontier.empty(); ++h) {
    next.clear();
    for (int64_t a : frontier)
      for (int64_t q = start[a]; q < start[a + 1]; ++q) {
        const int64_t b = senders[q];
        if (hop[b] == far) {
          hop[b] = h;
          next.push_back(b);
        }
      }
    frontier.swap(next);
  }
  std::vector<int64_t> kept, new_index(n_nodes, -1);
  for (int64_t a = 0; a < n_nodes; ++a)
    if (hop[a] <= num_layers) {
      new_index[a] = static_cast<int64_t>(kept.size());
      kept.push_back(a);
    }
  size_t w = 0;
  for (int64_t e = 0; e < E; ++e) {
    if (hop[edges.i[e]] >= num_layers) continue;    // its messages feed no needed feature
    edges.i[w] = new_index[edges.i[e]];
    edges.j[w] = new_index[edges.j[e]];
    for (int m = 0; m < 3; ++m) edges.vec[3 * w + m] = edges.vec[3 * e + m];
    ++w;
  }
  edges.i.resize(w);
  edges.j.resize(w);
  edges.vec.resize(3 * w);
  return kept;
}

}    // namespace umlip
