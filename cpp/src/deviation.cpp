#include "umlip/deviation.hpp"

#include <algorithm>
#include <cmath>

namespace umlip {

void force_deviation(const double *forces, int64_t n, int K, double *sigma)
{
  for (int64_t a = 0; a < n; ++a) {
    // shifted by the first model's force, so that identical models give exactly zero
    const double *f = forces + a * 3 * K;
    double mean[3] = {0.0, 0.0, 0.0};
    for (int k = 0; k < K; ++k)
      for (int m = 0; m < 3; ++m) mean[m] += f[3 * k + m] - f[m];
    for (int m = 0; m < 3; ++m) mean[m] /= K;
    double var = 0.0;
    for (int k = 0; k < K; ++k)
      for (int m = 0; m < 3; ++m) {
        const double d = f[3 * k + m] - f[m] - mean[m];
        var += d * d;
      }
    sigma[a] = std::sqrt(var / K);
  }
}

double committee_std(const double *values, int K, int64_t stride)
{
  // shifted by the first value, so that identical values give exactly zero
  double mean = 0.0;
  for (int k = 0; k < K; ++k) mean += values[k * stride] - values[0];
  mean /= K;
  double var = 0.0;
  for (int k = 0; k < K; ++k) {
    const double d = values[k * stride] - values[0] - mean;
    var += d * d;
  }
  return std::sqrt(var / K);
}

void virial_deviation(const double *virials, int K, double natoms, double *max, double *min,
                      double *rms)
{
  double hi = 0.0, lo = 0.0, sq = 0.0;
  for (int c = 0; c < 9; ++c) {
    const double s = committee_std(virials + c, K, 9) / (natoms > 0 ? natoms : 1.0);
    hi = c == 0 ? s : std::max(hi, s);
    lo = c == 0 ? s : std::min(lo, s);
    sq += s * s;
  }
  *max = hi;
  *min = lo;
  *rms = std::sqrt(sq / 9.0);
}

}    // namespace umlip
