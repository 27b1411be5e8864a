#include "umlip/ghost_graph.hpp"

#include <stdexcept>
#include <string>
#include <unordered_map>

namespace umlip {

GhostGraph::GhostGraph(double cutoff, double skin, int num_layers) :
    cutoff_(cutoff), skin_(skin), num_layers_(num_layers)
{
  if (!(cutoff > 0.0))
    throw std::invalid_argument("cutoff must be > 0, got " + std::to_string(cutoff));
  if (!(skin >= 0.0)) throw std::invalid_argument("skin must be >= 0, got " + std::to_string(skin));
  if (num_layers < 1)
    throw std::invalid_argument("num_layers must be >= 1, got " + std::to_string(num_layers));
}

void GhostGraph::rebuild(const double *x, const int64_t *ids, int64_t n_local, int64_t n_all)
{
  if (n_local < 0 || n_local > n_all)
    throw std::invalid_argument("n_local must be between 0 and the number of atoms (" +
                                std::to_string(n_all) + "), got " + std::to_string(n_local));
  n_local_ = n_local;
  n_all_ = n_all;
  candidates_ = NeighborList();
  node_of_.assign(n_all, -1);
  atom_of_.clear();
  node_atoms_.clear();
  edges_.clear();
  n_nodes_all_ = 0;
  if (n_all == 0) return;

  std::unordered_map<int64_t, int64_t> local_of;
  local_of.reserve(2 * static_cast<size_t>(n_local));
  for (int64_t i = 0; i < n_local; ++i) {
    local_of[ids[i]] = i;
    node_of_[i] = i;
    atom_of_.push_back(i);
  }
  std::vector<uint8_t> center(n_all, 0);
  for (int64_t i = 0; i < n_local; ++i) center[i] = 1;
  for (int64_t a = n_local; a < n_all; ++a) {
    auto it = local_of.find(ids[a]);
    if (it != local_of.end()) {
      node_of_[a] = it->second;    // image of an owned atom
    } else {
      node_of_[a] = static_cast<int64_t>(atom_of_.size());
      atom_of_.push_back(a);
      center[a] = 1;
    }
  }
  n_nodes_all_ = static_cast<int64_t>(atom_of_.size());

  static const double zero_cell[9] = {0, 0, 0, 0, 0, 0, 0, 0, 0};
  static const bool no_pbc[3] = {false, false, false};
  NeighborOptions opt;
  opt.center_mask = center.data();
  opt.labels = ids;
  candidates_ = neighbor_list(x, n_all, zero_cell, no_pbc, cutoff_ + skin_, opt);
}

void GhostGraph::update(const double *x, bool prune)
{
  node_atoms_.clear();
  edges_.clear();
  if (n_local_ == 0) return;    // no owned energy: nothing here needs a graph
  select_edges(candidates_, x, cutoff_, node_of_.data(), edges_);
  if (prune && n_nodes_all_ > n_local_) {
    const std::vector<int64_t> kept =
        prune_receptive_field(n_nodes_all_, n_local_, num_layers_, edges_);
    node_atoms_.resize(kept.size());
    for (size_t k = 0; k < kept.size(); ++k) node_atoms_[k] = atom_of_[kept[k]];
  } else {
    node_atoms_ = atom_of_;
  }
}

size_t GhostGraph::memory_bytes() const
{
  size_t b = (candidates_.i.capacity() + candidates_.j.capacity()) * 8;
  b += candidates_.shift.capacity() * 4;
  b += (node_of_.capacity() + atom_of_.capacity() + node_atoms_.capacity()) * 8;
  b += (edges_.i.capacity() + edges_.j.capacity() + edges_.vec.capacity()) * 8;
  return b;
}

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
