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

}    // namespace

NeighborList neighbor_list(const double *positions, int64_t n, const double *cell, const bool *pbc,
                           double cutoff, const NeighborOptions &options)
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

  NeighborList out;
  if (n == 0) return out;

  double A[3][3];
  binning_basis(cell, pbc, A);

  // Inverse of A (rows = basis vectors): s = x . Ainv
  double Ainv[3][3];
  {
    double c0[3], c1[3], c2[3];
    cross(A[1], A[2], c0);
    cross(A[2], A[0], c1);
    cross(A[0], A[1], c2);
    double det = dot(A[0], c0);
    for (int m = 0; m < 3; ++m) {
      Ainv[m][0] = c0[m] / det;
      Ainv[m][1] = c1[m] / det;
      Ainv[m][2] = c2[m] / det;
    }
  }
  // Perpendicular height of the basis cell along each direction.
  double height[3];
  {
    double vol;
    double c[3];
    cross(A[1], A[2], c);
    vol = std::fabs(dot(A[0], c));
    for (int k = 0; k < 3; ++k) {
      double ck[3];
      cross(A[(k + 1) % 3], A[(k + 2) % 3], ck);
      height[k] = vol / norm(ck);
    }
  }

  // Fractional coordinates, wrapped into [0,1) along periodic directions.
  std::vector<double> s(3 * n), xw(3 * n);
  std::vector<int64_t> wrap(3 * n, 0);
  double smin[3] = {0, 0, 0}, smax[3] = {0, 0, 0};
  for (int k = 0; k < 3; ++k) {
    smin[k] = 1e300;
    smax[k] = -1e300;
  }
  for (int64_t a = 0; a < n; ++a) {
    const double *x = positions + 3 * a;
    for (int k = 0; k < 3; ++k) {
      double sk = x[0] * Ainv[0][k] + x[1] * Ainv[1][k] + x[2] * Ainv[2][k];
      if (pbc[k]) {
        double f = std::floor(sk);
        sk -= f;
        int64_t w = static_cast<int64_t>(f);
        if (sk >= 1.0) {
          sk -= 1.0;
          ++w;
        }
        wrap[3 * a + k] = w;
      }
      s[3 * a + k] = sk;
      smin[k] = std::min(smin[k], sk);
      smax[k] = std::max(smax[k], sk);
    }
    for (int m = 0; m < 3; ++m) {
      double shift = 0.0;
      for (int k = 0; k < 3; ++k)
        if (pbc[k]) shift += static_cast<double>(wrap[3 * a + k]) * A[k][m];
      xw[3 * a + m] = x[m] - shift;
    }
  }

  // Bins: at least `cutoff` wide (perpendicular distance) where the extent allows it.
  int64_t nb[3];
  double extent[3];
  for (int k = 0; k < 3; ++k) {
    extent[k] = pbc[k] ? height[k] : height[k] * (smax[k] - smin[k]);
    nb[k] = std::max<int64_t>(1, static_cast<int64_t>(std::floor(extent[k] / cutoff)));
  }
  const int64_t max_bins = std::max<int64_t>(64, 4 * n);
  while (nb[0] * nb[1] * nb[2] > max_bins) {
    int k = 0;
    for (int m = 1; m < 3; ++m)
      if (nb[m] > nb[k]) k = m;
    nb[k] = std::max<int64_t>(1, nb[k] / 2);
  }
  int64_t reach[3];
  for (int k = 0; k < 3; ++k) {
    double width = extent[k] / static_cast<double>(nb[k]);
    int64_t m = (width > 0.0) ? static_cast<int64_t>(std::ceil(cutoff / width)) : 0;
    if (!pbc[k]) m = std::min<int64_t>(m, nb[k] - 1);
    reach[k] = std::max<int64_t>(m, 0);
  }

  auto bin_of = [&](int64_t a, int k) -> int64_t {
    double sk = s[3 * a + k];
    double rel;
    if (pbc[k])
      rel = sk;
    else
      rel = (smax[k] > smin[k]) ? (sk - smin[k]) / (smax[k] - smin[k]) : 0.0;
    int64_t b = static_cast<int64_t>(std::floor(rel * static_cast<double>(nb[k])));
    return std::min<int64_t>(std::max<int64_t>(b, 0), nb[k] - 1);
  };

  const int64_t nbins = nb[0] * nb[1] * nb[2];
  std::vector<int64_t> bin3(3 * n), bin_start(nbins + 1, 0), sorted(n);
  for (int64_t a = 0; a < n; ++a) {
    for (int k = 0; k < 3; ++k) bin3[3 * a + k] = bin_of(a, k);
    int64_t b = (bin3[3 * a] * nb[1] + bin3[3 * a + 1]) * nb[2] + bin3[3 * a + 2];
    ++bin_start[b + 1];
  }
  for (int64_t b = 0; b < nbins; ++b) bin_start[b + 1] += bin_start[b];
  {
    std::vector<int64_t> fill(bin_start.begin(), bin_start.end() - 1);
    for (int64_t a = 0; a < n; ++a) {
      int64_t b = (bin3[3 * a] * nb[1] + bin3[3 * a + 1]) * nb[2] + bin3[3 * a + 2];
      sorted[fill[b]++] = a;
    }
  }

  const double rc2 = cutoff * cutoff;
  const double dmin2 = options.min_distance * options.min_distance;
  const size_t guess = static_cast<size_t>(n) * 48;
  out.i.reserve(guess);
  out.j.reserve(guess);
  out.shift.reserve(3 * guess);

  // positions, wrap counts and centre flags in bin order: the pair loops below then stream
  // through contiguous memory (this matters from ~1e4 atoms on)
  std::vector<double> xs(3 * n);
  std::vector<int32_t> ws(3 * n);
  std::vector<uint8_t> is_center(n);
  for (int64_t q = 0; q < n; ++q) {
    const int64_t a = sorted[q];
    for (int m = 0; m < 3; ++m) {
      xs[3 * q + m] = xw[3 * a + m];
      ws[3 * q + m] = static_cast<int32_t>(wrap[3 * a + m]);
    }
    is_center[q] = options.center_mask ? (options.center_mask[a] != 0) : 1;
  }
  auto name = [&](int64_t a) { return std::to_string(options.labels ? options.labels[a] : a); };

  for (int64_t b0 = 0; b0 < nb[0]; ++b0)
    for (int64_t b1 = 0; b1 < nb[1]; ++b1)
      for (int64_t b2 = 0; b2 < nb[2]; ++b2) {
        const int64_t b = (b0 * nb[1] + b1) * nb[2] + b2;
        const int64_t c_begin = bin_start[b], c_end = bin_start[b + 1];
        if (c_begin == c_end) continue;
        for (int64_t d0 = -reach[0]; d0 <= reach[0]; ++d0) {
          int64_t t0 = b0 + d0, S0 = 0;
          if (pbc[0]) {
            S0 = floordiv(t0, nb[0]);
            t0 -= S0 * nb[0];
          } else if (t0 < 0 || t0 >= nb[0]) {
            continue;
          }
          for (int64_t d1 = -reach[1]; d1 <= reach[1]; ++d1) {
            int64_t t1 = b1 + d1, S1 = 0;
            if (pbc[1]) {
              S1 = floordiv(t1, nb[1]);
              t1 -= S1 * nb[1];
            } else if (t1 < 0 || t1 >= nb[1]) {
              continue;
            }
            for (int64_t d2 = -reach[2]; d2 <= reach[2]; ++d2) {
              int64_t t2 = b2 + d2, S2 = 0;
              if (pbc[2]) {
                S2 = floordiv(t2, nb[2]);
                t2 -= S2 * nb[2];
              } else if (t2 < 0 || t2 >= nb[2]) {
                continue;
              }
              const int64_t t = (t0 * nb[1] + t1) * nb[2] + t2;
              const int64_t n_begin = bin_start[t], n_end = bin_start[t + 1];
              if (n_begin == n_end) continue;
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
                  const double v0 = xs[3 * qj] - xi0, v1 = xs[3 * qj + 1] - xi1,
                               v2 = xs[3 * qj + 2] - xi2;
                  const double r2 = v0 * v0 + v1 * v1 + v2 * v2;
                  if (r2 >= rc2) continue;
                  if (qi == qj && zero_image) continue;
                  const int32_t s0 = static_cast<int32_t>(S0) - ws[3 * qj] + ws[3 * qi];
                  const int32_t s1 = static_cast<int32_t>(S1) - ws[3 * qj + 1] + ws[3 * qi + 1];
                  const int32_t s2 = static_cast<int32_t>(S2) - ws[3 * qj + 2] + ws[3 * qi + 2];
                  const int64_t i = sorted[qi], j = sorted[qj];
                  if (r2 < dmin2) {
                    const bool through_image = (s0 != 0 || s1 != 0 || s2 != 0);
                    if (j == i)
                      throw std::invalid_argument(
                          "atom " + name(i) + " is " + fmt(std::sqrt(r2)) +
                          " Å from its own periodic image: the cell is degenerate");
                    throw std::invalid_argument(
                        "atoms " + name(std::min(i, j)) + " and " + name(std::max(i, j)) +
                        " are at the same position (distance " + fmt(std::sqrt(r2)) + " Å" +
                        (through_image ? ", through a periodic image" : "") +
                        "); remove the duplicate atom");
                  }
                  out.i.push_back(i);
                  out.j.push_back(j);
                  out.shift.push_back(s0);
                  out.shift.push_back(s1);
                  out.shift.push_back(s2);
                }
              }
            }
          }
        }
      }
  return out;
}

}    // namespace umlip
