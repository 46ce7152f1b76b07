// A hand-written AVX-512 selective scan: the kernel performance.md describes
// as reaching ~90% of the arithmetic bound, written here so that
// bench/run.py can time it in the same run as the compiled scan (the
// machine's speed drifts by 1.5x or more between runs; a ratio measured side
// by side does not).
//
// What it does (performance.md, "The reference shape"): token-major data
// (b, L, d) with channels contiguous, 16 channels per zmm register, the n
// states of those channels in n registers (no horizontal reduction for y),
// exp(dt * A) as exp2(dt * A * log2 e) with a polynomial and vscalefps,
// threads splitting the channel tiles (OpenMP). Beyond that description:
// time in chunks of 16 steps with softplus and the gate in their own row
// loops (the compiled kernel's structure; measured alone, this was neither
// faster nor slower than softplus inside the state loop's step), and
// groups of tiles advancing chunk by chunk (scanGroup), which was faster.
// The per-step work is the same as ssm-run scan --delta-softplus with D, z and
// delta_bias: dt = softplus(delta + bias), y = (C.h + D u) * SiLU(z).
//
//   avx512_scan B D L N REPS THREADS [plain]
//     ->  median_ms=<value>, max_rel_err=<value>
//
// With `plain`, the problem performance.md's arithmetic bound is stated for:
// dt = delta as given (no bias, no softplus) and y = C.h + D u (no gate).
//
// N is 1, 4 or 16 and D a multiple of 16 (a benchmark, not a library: no
// tails). max_rel_err is the normwise relative error of y against a float64
// evaluation of the same recurrence on the first and last channel tiles.
// Build: g++ -O3 -march=native -fopenmp (no fast-math).
#include <immintrin.h>
#include <omp.h>

#include "median_time.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace {

// 2^x for x <= 0 (and moderate x > 0): k = roundeven(x), f = x - k in
// [-1/2, 1/2], a degree-5 polynomial for 2^f with P(0) = 1 (fitted for
// least maximum relative error: 9.2e-8 in exact arithmetic, 1.9e-7 evaluated
// in fp32), scaled by 2^k with vscalefps (underflow to 0 without a clamp).
inline __m512 exp2v(__m512 x) {
  __m512 k = _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 f = _mm512_sub_ps(x, k);
  __m512 p = _mm512_set1_ps(1.32647e-3f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.6715e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550734e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022242e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.93147e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, k);
}

constexpr float kLog2e = 1.4426950408889634f;

// softplus(x) = max(x, 0) + log1p(e), e = exp(-|x|), log1p(e) = e q(e) with
// a degree-8 q fitted for least relative error on [0, 1] (3.3e-8); x itself
// above 20 follows (e q(e) is below half an ulp of x there).
inline __m512 softplusv(__m512 x) {
  __m512 e = exp2v(_mm512_mul_ps(_mm512_abs_ps(x), _mm512_set1_ps(-kLog2e)));
  __m512 q = _mm512_set1_ps(5.364913e-03f);
  q = _mm512_fmadd_ps(q, e, _mm512_set1_ps(-3.0066114e-02f));
  q = _mm512_fmadd_ps(q, e, _mm512_set1_ps(7.920501e-02f));
  q = _mm512_fmadd_ps(q, e, _mm512_set1_ps(-1.3753837e-01f));
  q = _mm512_fmadd_ps(q, e, _mm512_set1_ps(1.915367e-01f));
  q = _mm512_fmadd_ps(q, e, _mm512_set1_ps(-2.4857166e-01f));
  q = _mm512_fmadd_ps(q, e, _mm512_set1_ps(3.3321324e-01f));
  q = _mm512_fmadd_ps(q, e, _mm512_set1_ps(-4.9999648e-01f));
  q = _mm512_fmadd_ps(q, e, _mm512_set1_ps(1.0f));
  return _mm512_fmadd_ps(e, q, _mm512_max_ps(x, _mm512_setzero_ps()));
}

// z * sigmoid(z); exp2 overflows to inf for very negative z, giving -0.
inline __m512 siluv(__m512 z) {
  __m512 e = exp2v(_mm512_mul_ps(z, _mm512_set1_ps(-kLog2e)));
  return _mm512_div_ps(z, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

struct Problem {
  long b, d, L, n;
  // false: `plain` (dt = delta, no gate).
  bool full = true;
  // Token-major: u, delta, z, y (b, L, d); B, C (b, L, n); A (d, n).
  std::vector<float> u, delta, z, y, A, B, C, D, bias;
};

// One tile of 16 channels [c, c + 16) of batch row bi, N states in registers.
// One chunk [t0, t0 + 16) of one tile: states loaded from and stored to hMem.
template <int N>
inline void scanChunk(Problem &p, long bi, long c, long t0, const float (*a2)[16],
                      float (*hMem)[16]) {
  const long d = p.d, L = p.L;
  const __m512 Dv = _mm512_loadu_ps(&p.D[c]);
  const __m512 biasv = _mm512_loadu_ps(&p.bias[c]);
  __m512 h[N];
  for (int j = 0; j < N; ++j)
    h[j] = _mm512_load_ps(hMem[j]);
  alignas(64) float dtBuf[16][16], dtuBuf[16][16], yBuf[16][16];
  const long steps = std::min(16L, L - t0);
  for (long s = 0; s < steps; ++s) {
    const long row = (bi * L + t0 + s) * d + c;
    __m512 dt = _mm512_loadu_ps(&p.delta[row]);
    if (p.full)
      dt = softplusv(_mm512_add_ps(dt, biasv));
    _mm512_store_ps(dtBuf[s], dt);
    _mm512_store_ps(dtuBuf[s], _mm512_mul_ps(dt, _mm512_loadu_ps(&p.u[row])));
  }
  for (long s = 0; s < steps; ++s) {
    const long t = t0 + s;
    const float *Bt = &p.B[(bi * L + t) * N];
    const float *Ct = &p.C[(bi * L + t) * N];
    const __m512 dt = _mm512_load_ps(dtBuf[s]), dtu = _mm512_load_ps(dtuBuf[s]);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
#pragma GCC unroll 16
    for (int j = 0; j < N; ++j) {
      __m512 decay = exp2v(_mm512_mul_ps(dt, _mm512_load_ps(a2[j])));
      h[j] = _mm512_fmadd_ps(decay, h[j], _mm512_mul_ps(dtu, _mm512_set1_ps(Bt[j])));
      acc[j % 4] = _mm512_fmadd_ps(h[j], _mm512_set1_ps(Ct[j]), acc[j % 4]);
    }
    _mm512_store_ps(yBuf[s], _mm512_add_ps(_mm512_add_ps(acc[0], acc[1]),
                                           _mm512_add_ps(acc[2], acc[3])));
  }
  for (long s = 0; s < steps; ++s) {
    const long row = (bi * L + t0 + s) * d + c;
    __m512 yv = _mm512_fmadd_ps(Dv, _mm512_loadu_ps(&p.u[row]), _mm512_load_ps(yBuf[s]));
    if (p.full)
      yv = _mm512_mul_ps(yv, siluv(_mm512_loadu_ps(&p.z[row])));
    _mm512_storeu_ps(&p.y[row], yv);
  }
  for (int j = 0; j < N; ++j)
    _mm512_store_ps(hMem[j], h[j]);
}

// A group of tiles advances through time together, chunk by chunk, states
// parked in hMem between chunks: the group's rows are then read as
// contiguous runs of 16 * GRP channels instead of one 64-byte piece per 6 KB
// row (token-major, d = 1536), which the hardware prefetchers and the TLB
// serve far better. Measured on the reference shape, one thread: one tile
// per group 11.7 ms, 8 tiles 9.4-9.7 ms, 48 tiles 8.9-9.1 ms.
constexpr long GRP = 48;

template <int N>
void scanGroup(Problem &p, long bi, long c0, long tiles) {
  alignas(64) float a2[GRP][N][16], hMem[GRP][N][16];
  for (long g = 0; g < tiles; ++g)
    for (int j = 0; j < N; ++j)
      for (int l = 0; l < 16; ++l) {
        a2[g][j][l] = p.A[(c0 + 16 * g + l) * N + j] * kLog2e;
        hMem[g][j][l] = 0;
      }
  for (long t0 = 0; t0 < p.L; t0 += 16)
    for (long g = 0; g < tiles; ++g)
      scanChunk<N>(p, bi, c0 + 16 * g, t0, a2[g], hMem[g]);
}

template <int N>
void scanAll(Problem &p) {
  const long tiles = p.d / 16, groups = (tiles + GRP - 1) / GRP;
#pragma omp parallel for schedule(static)
  for (long i = 0; i < p.b * groups; ++i) {
    long g = i % groups;
    scanGroup<N>(p, i / groups, g * GRP * 16, std::min<long>(GRP, tiles - g * GRP));
  }
}

// Normwise relative error of y over channels [c0, c0 + 16) of every batch row
// against a float64 evaluation.
void accumulateError(const Problem &p, long c0, double &errSq, double &refSq) {
  const long d = p.d, L = p.L, n = p.n;
  for (long bi = 0; bi < p.b; ++bi)
    for (long c = c0; c < c0 + 16; ++c) {
      std::vector<double> h(n, 0.0);
      for (long t = 0; t < L; ++t) {
        const long row = (bi * L + t) * d + c;
        double x = double(p.delta[row]) + (p.full ? p.bias[c] : 0.0);
        double dt = !p.full ? x : x > 20 ? x : std::log1p(std::exp(x));
        double u = p.u[row], acc = double(p.D[c]) * u;
        for (long j = 0; j < n; ++j) {
          h[j] = std::exp(dt * p.A[c * n + j]) * h[j] + dt * p.B[(bi * L + t) * n + j] * u;
          acc += double(p.C[(bi * L + t) * n + j]) * h[j];
        }
        double g = p.z[row];
        double ref = p.full ? acc * g / (1 + std::exp(-g)) : acc;
        errSq += (p.y[row] - ref) * (p.y[row] - ref);
        refSq += ref * ref;
      }
    }
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 7 && !(argc == 8 && std::string(argv[7]) == "plain")) {
    std::fprintf(stderr, "usage: avx512_scan B D L N REPS THREADS [plain]\n");
    return 1;
  }
  Problem p;
  p.b = std::atol(argv[1]);
  p.d = std::atol(argv[2]);
  p.L = std::atol(argv[3]);
  p.n = std::atol(argv[4]);
  p.full = argc == 7;
  const int reps = std::atoi(argv[5]);
  omp_set_num_threads(std::atoi(argv[6]));
  if (p.d % 16 != 0 || (p.n != 1 && p.n != 4 && p.n != 16)) {
    std::fprintf(stderr, "avx512_scan: D must be a multiple of 16 and N 1, 4 or 16\n");
    return 1;
  }
  // The distributions of bench/plain_scan.cpp and bench/run.py.
  std::mt19937 gen(0);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> step(-4.f, 1.f), expo(-2.f, 1.5f);
  const long act = p.b * p.L * p.d, bc = p.b * p.L * p.n;
  p.u.resize(act), p.delta.resize(act), p.z.resize(act), p.y.resize(act);
  p.A.resize(p.d * p.n), p.B.resize(bc), p.C.resize(bc), p.D.resize(p.d), p.bias.resize(p.d);
  for (auto &v : p.u) v = normal(gen);
  // plain: delta is dt itself, so positive: softplus of the same draw.
  for (auto &v : p.delta) v = p.full ? step(gen) : std::log1p(std::exp(step(gen)));
  for (auto &v : p.z) v = normal(gen);
  for (auto &v : p.A) v = -std::exp(expo(gen));
  for (auto &v : p.B) v = normal(gen);
  for (auto &v : p.C) v = normal(gen);
  for (auto &v : p.D) v = normal(gen);
  for (auto &v : p.bias) v = 0.5f * normal(gen);

  auto run = [&] {
    switch (p.n) {
    case 1: scanAll<1>(p); break;
    case 4: scanAll<4>(p); break;
    default: scanAll<16>(p); break;
    }
  };
  run();
  double errSq = 0, refSq = 0;
  accumulateError(p, 0, errSq, refSq);
  if (p.d > 16)
    accumulateError(p, p.d - 16, errSq, refSq);
  std::printf("median_ms=%.6f\nmax_rel_err=%.3g\n", medianMs(run, reps),
              std::sqrt(errSq / std::max(refSq, 1e-300)));
  return 0;
}
