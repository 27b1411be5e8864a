#include "umlip/neighbor.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace umlip {

namespace {

inline void cross(const double *a, const double *b, double *out)
{
  out[0] = a[1] * b[2] - a[2] * b[1];
  out[1] = a[2] * b[0] - a[0] * b[2];
  out[2] = a[0] * b[1] - a[1] * b[0];
}
inline double dot(const double *a, const double *b)
{
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
inline double norm(const double *a) { return std::sqrt(dot(a, a)); }

inline int64_t floordiv(int64_t a, int64_t b)
{
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

std::string fmt(double x)
{
  std::ostringstream os;
  os.precision(6);
  os << x;
  return os.str();
}

// Basis used for binning: periodic rows are the lattice vectors; non-periodic rows are replaced
// by an orthonormal complement of the periodic ones, so any cell given for non-periodic
// directions (even all zeros) is irrelevant, as it should be.
void binning_basis(const double *cell, const bool *pbc, double A[3][3])
{
  int per[3], nper = 0, non[3], nnon = 0;
  for (int k = 0; k < 3; ++k) {
    if (pbc[k])
      per[nper++] = k;
    else
      non[nnon++] = k;
  }
  for (int k = 0; k < 3; ++k)
    for (int m = 0; m < 3; ++m) A[k][m] = cell[3 * k + m];

  for (int a = 0; a < nper; ++a) {
    int k = per[a];
    for (int m = 0; m < 3; ++m)
      if (!std::isfinite(A[k][m]))
        throw std::invalid_argument("cell vector " + std::to_string(k) +
                                    " of a periodic direction is not finite");
    if (norm(A[k]) < 1e-8)
      throw std::invalid_argument("cell vector " + std::to_string(k) +
                                  " is zero but that direction is periodic: give the lattice "
                                  "vector or set pbc to False for it");
  }

  if (nper == 3) {
    double bc[3];
    cross(A[1], A[2], bc);
    double det = dot(A[0], bc);
    if (std::fabs(det) < 1e-10 * norm(A[0]) * norm(A[1]) * norm(A[2]))
      throw std::invalid_argument("the periodic cell is singular (its lattice vectors are "
                                  "linearly dependent; volume " + fmt(det) + " Å^3)");
  } else if (nper == 2) {
    double n[3];
    cross(A[per[0]], A[per[1]], n);
    double nn = norm(n);
    if (nn < 1e-10 * norm(A[per[0]]) * norm(A[per[1]]))
      throw std::invalid_argument("the two periodic cell vectors are parallel");
    for (int m = 0; m < 3; ++m) A[non[0]][m] = n[m] / nn;
  } else if (nper == 1) {
    const double *a = A[per[0]];
    double an = norm(a);
    // Pick the Cartesian axis least aligned with a to build an orthonormal complement.
    int e = 0;
    for (int m = 1; m < 3; ++m)
      if (std::fabs(a[m]) < std::fabs(a[e])) e = m;
    double ax[3] = {0, 0, 0};
    ax[e] = 1.0;
    double u[3], v[3], ahat[3] = {a[0] / an, a[1] / an, a[2] / an};
    cross(ahat, ax, u);
    double un = norm(u);
    for (double &x : u) x /= un;
    cross(ahat, u, v);
    for (int m = 0; m < 3; ++m) {
      A[non[0]][m] = u[m];
      A[non[1]][m] = v[m];
    }
  } else {
    for (int k = 0; k < 3; ++k)
      for (int m = 0; m < 3; ++m) A[k][m] = (k == m) ? 1.0 : 0.0;
  }
}

// Throws std::invalid_argument for a cutoff that is not positive and finite, a negative atom
// count or a non-finite position.
void check_inputs(const double *positions, int64_t n, double cutoff,
                  const NeighborOptions &options)
{
  if (!(cutoff > 0.0) || !std::isfinite(cutoff))
    throw std::invalid_argument("neighbour cutoff must be a positive finite number, got " +
                                fmt(cutoff));
  if (n < 0) throw std::invalid_argument("negative number of atoms");
  for (int64_t a = 0; a < n; ++a)
    for (int m = 0; m < 3; ++m)
      if (!std::isfinite(positions[3 * a + m]))
        throw std::invalid_argument(
            "position of atom " + std::to_string(options.labels ? options.labels[a] : a) +
            " is not finite (NaN or inf)");
}

// The binning basis (see binning_basis) with what binning needs of it.
struct Basis {
  double A[3][3];       // rows = basis vectors
  double Ainv[3][3];    // inverse of A: fractional coordinates s = x . Ainv
  double height[3];     // perpendicular height of the basis cell along each direction
};

Basis make_basis(const double *cell, const bool *pbc)
{
  Basis basis;
  auto &A = basis.A;
  binning_basis(cell, pbc, A);
  double c0[3], c1[3], c2[3];
  cross(A[1], A[2], c0);
  cross(A[2], A[0], c1);
  cross(A[0], A[1], c2);
  const double det = dot(A[0], c0);
  for (int m = 0; m < 3; ++m) {
    basis.Ainv[m][0] = c0[m] / det;
    basis.Ainv[m][1] = c1[m] / det;
    basis.Ainv[m][2] = c2[m] / det;
  }
  const double vol = std::fabs(dot(A[0], c0));
  for (int k = 0; k < 3; ++k) {
    double ck[3];
    cross(A[(k + 1) % 3], A[(k + 2) % 3], ck);
    basis.height[k] = vol / norm(ck);
  }
  return basis;
}

// Atoms wrapped into the cell along periodic directions.
struct Wrapped {
  std::vector<double> s;         // fractional coordinates, 3 per atom, in [0, 1) if periodic
  std::vector<double> x;         // positions moved by the same lattice translations, 3 per atom
  std::vector<int64_t> wrap;     // lattice translations taken off, 3 per atom (0 if not periodic)
  double smin[3], smax[3];       // range of s along each direction
};

Wrapped wrap_into_cell(const double *positions, int64_t n, const bool *pbc, const Basis &basis)
{
  const auto &A = basis.A;
  const auto &Ainv = basis.Ainv;
  Wrapped w;
  w.s.resize(3 * n);
  w.x.resize(3 * n);
  w.wrap.assign(3 * n, 0);
  for (int k = 0; k < 3; ++k) {
    w.smin[k] = 1e300;
    w.smax[k] = -1e300;
  }
  for (int64_t a = 0; a < n; ++a) {
    const double *x = positions + 3 * a;
    for (int k = 0; k < 3; ++k) {
      double sk = x[0] * Ainv[0][k] + x[1] * Ainv[1][k] + x[2] * Ainv[2][k];
      if (pbc[k]) {
        double f = std::floor(sk);
        sk -= f;
        int64_t c = static_cast<int64_t>(f);
        if (sk >= 1.0) {
          sk -= 1.0;
          ++c;
        }
        w.wrap[3 * a + k] = c;
      }
      w.s[3 * a + k] = sk;
      w.smin[k] = std::min(w.smin[k], sk);
      w.smax[k] = std::max(w.smax[k], sk);
    }
    for (int m = 0; m < 3; ++m) {
      double shift = 0.0;
      for (int k = 0; k < 3; ++k)
        if (pbc[k]) shift += static_cast<double>(w.wrap[3 * a + k]) * A[k][m];
      w.x[3 * a + m] = x[m] - shift;
    }
  }
  return w;
}

// The bin grid: bins at least `cutoff` wide (perpendicular distance) where the extent allows
// it, at most max(64, 4 n) of them.
struct Grid {
  int64_t nb[3];       // bins along each direction
  int64_t reach[3];    // bins on either side that can hold a neighbour within the cutoff
  int64_t size() const { return nb[0] * nb[1] * nb[2]; }
  int64_t index(int64_t b0, int64_t b1, int64_t b2) const
  {
    return (b0 * nb[1] + b1) * nb[2] + b2;
  }
};

Grid make_grid(const Basis &basis, const Wrapped &w, const bool *pbc, double cutoff, int64_t n)
{
  Grid grid;
  auto &nb = grid.nb;
  double extent[3];
  for (int k = 0; k < 3; ++k) {
    extent[k] = pbc[k] ? basis.height[k] : basis.height[k] * (w.smax[k] - w.smin[k]);
    nb[k] = std::max<int64_t>(1, static_cast<int64_t>(std::floor(extent[k] / cutoff)));
  }
  const int64_t max_bins = std::max<int64_t>(64, 4 * n);
  while (grid.size() > max_bins) {
    int k = 0;
    for (int m = 1; m < 3; ++m)
      if (nb[m] > nb[k]) k = m;
    nb[k] = std::max<int64_t>(1, nb[k] / 2);
  }
  for (int k = 0; k < 3; ++k) {
    double width = extent[k] / static_cast<double>(nb[k]);
    int64_t m = (width > 0.0) ? static_cast<int64_t>(std::ceil(cutoff / width)) : 0;
    if (!pbc[k]) m = std::min<int64_t>(m, nb[k] - 1);
    grid.reach[k] = std::max<int64_t>(m, 0);
  }
  return grid;
}

// Bin of atom a along direction k: by s in [0, 1) if periodic, else by s relative to its range.
int64_t bin_along(const Wrapped &w, const Grid &grid, const bool *pbc, int64_t a, int k)
{
  const double sk = w.s[3 * a + k];
  double rel;
  if (pbc[k])
    rel = sk;
  else
    rel = (w.smax[k] > w.smin[k]) ? (sk - w.smin[k]) / (w.smax[k] - w.smin[k]) : 0.0;
  int64_t b = static_cast<int64_t>(std::floor(rel * static_cast<double>(grid.nb[k])));
  return std::min<int64_t>(std::max<int64_t>(b, 0), grid.nb[k] - 1);
}

// The atoms sorted by bin: slots start[b] .. start[b + 1] - 1 hold bin b. Positions, wrap
// counts and centre flags are copied in slot order, so that the pair loop streams through
// contiguous memory (this matters from ~1e4 atoms on).
struct BinnedAtoms {
  std::vector<int64_t> start;      // first slot of each bin, size() + 1 entries
  std::vector<int64_t> atom;       // atom index of each slot
  std::vector<double> x;           // wrapped position of each slot, 3 each
  std::vector<int32_t> wrap;       // wrap counts of each slot, 3 each
  std::vector<uint8_t> is_center;  // whether the slot's atom is a centre (i)
};

BinnedAtoms sort_into_bins(const Wrapped &w, const Grid &grid, const bool *pbc, int64_t n,
                           const uint8_t *center_mask)
{
  BinnedAtoms binned;
  std::vector<int64_t> bin(n);
  binned.start.assign(grid.size() + 1, 0);
  for (int64_t a = 0; a < n; ++a) {
    bin[a] = grid.index(bin_along(w, grid, pbc, a, 0), bin_along(w, grid, pbc, a, 1),
                        bin_along(w, grid, pbc, a, 2));
    ++binned.start[bin[a] + 1];
  }
  for (int64_t b = 0; b < grid.size(); ++b) binned.start[b + 1] += binned.start[b];
  binned.atom.resize(n);
  {
    std::vector<int64_t> fill(binned.start.begin(), binned.start.end() - 1);
    for (int64_t a = 0; a < n; ++a) binned.atom[fill[bin[a]]++] = a;
  }
  binned.x.resize(3 * n);
  binned.wrap.resize(3 * n);
  binned.is_center.resize(n);
  for (int64_t q = 0; q < n; ++q) {
    const int64_t a = binned.atom[q];
    for (int m = 0; m < 3; ++m) {
      binned.x[3 * q + m] = w.x[3 * a + m];
      binned.wrap[3 * q + m] = static_cast<int32_t>(w.wrap[3 * a + m]);
    }
    binned.is_center[q] = center_mask ? (center_mask[a] != 0) : 1;
  }
  return binned;
}

// Bin t = b + d along a direction with nb bins. Along a periodic direction t is folded into
// 0 .. nb-1 and S counts the cells crossed; along a non-periodic one, false if t is off the grid.
inline bool neighbour_bin(int64_t b, int64_t d, int64_t nb, bool periodic, int64_t &t,
                          int64_t &S)
{
  t = b + d;
  S = 0;
  if (periodic) {
    S = floordiv(t, nb);
    t -= S * nb;
    return true;
  }
  return t >= 0 && t < nb;
}

[[noreturn]] void throw_too_close(int64_t i, int64_t j, double r2, bool through_image,
                                  const int64_t *labels)
{
  auto name = [&](int64_t a) { return std::to_string(labels ? labels[a] : a); };
  if (j == i)
    throw std::invalid_argument("atom " + name(i) + " is " + fmt(std::sqrt(r2)) +
                                " Å from its own periodic image: the cell is degenerate");
  throw std::invalid_argument("atoms " + name(std::min(i, j)) + " and " + name(std::max(i, j)) +
                              " are at the same position (distance " + fmt(std::sqrt(r2)) + " Å" +
                              (through_image ? ", through a periodic image" : "") +
                              "); remove the duplicate atom");
}

// The pairs (i, j, S) with |r_ij| < cutoff between the centres in bin b and the atoms in bin t
// seen through the image shift S (bin t's atoms displaced by S . A); appended to out. Not
// inlined: inlined into find_pairs' loops, GCC kept the loop counter on the stack and the whole
// search took ~10% longer.
[[gnu::noinline]] void pairs_between_bins(const BinnedAtoms &binned, int64_t b, int64_t t,
                                          int64_t S0, int64_t S1, int64_t S2,
                                          const double A[3][3], double rc2, double dmin2,
                                          const int64_t *labels, NeighborList &out)
{
  const int64_t c_begin = binned.start[b], c_end = binned.start[b + 1];
  const int64_t n_begin = binned.start[t], n_end = binned.start[t + 1];
  const double *xs = binned.x.data();
  const int32_t *ws = binned.wrap.data();
  const int64_t *atom = binned.atom.data();
  const uint8_t *is_center = binned.is_center.data();
  double off[3];
  for (int m = 0; m < 3; ++m)
    off[m] = static_cast<double>(S0) * A[0][m] + static_cast<double>(S1) * A[1][m] +
        static_cast<double>(S2) * A[2][m];
  const bool zero_image = (S0 == 0 && S1 == 0 && S2 == 0);
  for (int64_t qi = c_begin; qi < c_end; ++qi) {
    if (!is_center[qi]) continue;
    const double xi0 = xs[3 * qi] - off[0], xi1 = xs[3 * qi + 1] - off[1],
                 xi2 = xs[3 * qi + 2] - off[2];
    for (int64_t qj = n_begin; qj < n_end; ++qj) {
      const double v0 = xs[3 * qj] - xi0, v1 = xs[3 * qj + 1] - xi1, v2 = xs[3 * qj + 2] - xi2;
      const double r2 = v0 * v0 + v1 * v1 + v2 * v2;
      if (r2 >= rc2) continue;
      if (qi == qj && zero_image) continue;
      const int32_t s0 = static_cast<int32_t>(S0) - ws[3 * qj] + ws[3 * qi];
      const int32_t s1 = static_cast<int32_t>(S1) - ws[3 * qj + 1] + ws[3 * qi + 1];
      const int32_t s2 = static_cast<int32_t>(S2) - ws[3 * qj + 2] + ws[3 * qi + 2];
      const int64_t i = atom[qi], j = atom[qj];
      if (r2 < dmin2) throw_too_close(i, j, r2, s0 != 0 || s1 != 0 || s2 != 0, labels);
      out.i.push_back(i);
      out.j.push_back(j);
      out.shift.push_back(s0);
      out.shift.push_back(s1);
      out.shift.push_back(s2);
    }
  }
}

// Every pair within the cutoff: each non-empty bin against the bins within reach of it, periodic
// images included.
NeighborList find_pairs(const BinnedAtoms &binned, const Grid &grid, const Basis &basis,
                        const bool *pbc, double cutoff, const NeighborOptions &options)
{
  NeighborList out;
  const size_t guess = binned.atom.size() * 48;
  out.i.reserve(guess);
  out.j.reserve(guess);
  out.shift.reserve(3 * guess);
  const double rc2 = cutoff * cutoff;
  const double dmin2 = options.min_distance * options.min_distance;
  const int64_t nb[3] = {grid.nb[0], grid.nb[1], grid.nb[2]};
  const int64_t reach[3] = {grid.reach[0], grid.reach[1], grid.reach[2]};
  for (int64_t b0 = 0; b0 < nb[0]; ++b0)
    for (int64_t b1 = 0; b1 < nb[1]; ++b1)
      for (int64_t b2 = 0; b2 < nb[2]; ++b2) {
        const int64_t b = grid.index(b0, b1, b2);
        if (binned.start[b] == binned.start[b + 1]) continue;
        for (int64_t d0 = -reach[0]; d0 <= reach[0]; ++d0) {
          int64_t t0, S0;
          if (!neighbour_bin(b0, d0, nb[0], pbc[0], t0, S0)) continue;
          for (int64_t d1 = -reach[1]; d1 <= reach[1]; ++d1) {
            int64_t t1, S1;
            if (!neighbour_bin(b1, d1, nb[1], pbc[1], t1, S1)) continue;
            for (int64_t d2 = -reach[2]; d2 <= reach[2]; ++d2) {
              int64_t t2, S2;
              if (!neighbour_bin(b2, d2, nb[2], pbc[2], t2, S2)) continue;
              const int64_t t = grid.index(t0, t1, t2);
              if (binned.start[t] == binned.start[t + 1]) continue;
              pairs_between_bins(binned, b, t, S0, S1, S2, basis.A, rc2, dmin2, options.labels,
                                 out);
            }
          }
        }
      }
  return out;
}

}    // namespace

NeighborList neighbor_list(const double *positions, int64_t n, const double *cell, const bool *pbc,
                           double cutoff, const NeighborOptions &options)
{
  check_inputs(positions, n, cutoff, options);
  if (n == 0) return NeighborList();
  const Basis basis = make_basis(cell, pbc);
  const Wrapped wrapped = wrap_into_cell(positions, n, pbc, basis);
  const Grid grid = make_grid(basis, wrapped, pbc, cutoff, n);
  const BinnedAtoms binned = sort_into_bins(wrapped, grid, pbc, n, options.center_mask);
  return find_pairs(binned, grid, basis, pbc, cutoff, options);
}

}    // namespace umlip
