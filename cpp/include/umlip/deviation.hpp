// Committee disagreement (model deviation) of K models evaluated on the same atoms, with the
// conventions of DeePMD-kit's model_devi output: population standard deviations (1/K).
#pragma once

#include <cstdint>

namespace umlip {

// Per-atom force deviation sigma_a = sqrt( (1/K) sum_k |F_a^k - <F_a>|^2 ), where <F_a> is the
// mean over the K models. forces: n atoms x K models x 3 (row-major); sigma: n.
void force_deviation(const double *forces, int64_t n, int K, double *sigma);

// Standard deviation over the K values (stride apart) of one quantity.
double committee_std(const double *values, int K, int64_t stride = 1);

// Virial deviation per component: the standard deviation over the K models of each of the 9
// components of their virials (K x 9, row-major) divided by the number of atoms; max, min and
// root mean square over the 9 components (DeePMD's max_devi_v, min_devi_v, avg_devi_v).
void virial_deviation(const double *virials, int K, double natoms, double *max, double *min,
                      double *rms);

}    // namespace umlip
