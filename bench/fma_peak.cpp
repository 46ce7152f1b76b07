// The machine's fp32 FMA peak as measured now: performance.md's 222 GFLOP/s
// (one core, AVX-512) is the figure of a quiet machine, and the speed of
// these shared VMs drifts between runs. bench/run.py runs this next to the
// kernels it times and scales performance.md's arithmetic bound by the ratio,
// so that "of bound" compares figures of the same run.
//
//   fma_peak THREADS  ->  gflops=<value> (median of 11 timed runs)
//
// 16 independent chains of zmm FMAs per thread (latency 4 x 2 pipes = 8 in
// flight needed; 16 leaves room), 2 x 16 flops per FMA.
// Build: g++ -O3 -march=native -fopenmp.
#include <immintrin.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace {

constexpr long kIters = 20'000'000;

float chains(float seed) {
  __m512 acc[16];
  for (int i = 0; i < 16; ++i)
    acc[i] = _mm512_set1_ps(seed + i);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < kIters; ++it) {
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i)
      acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  }
  __m512 s = acc[0];
  for (int i = 1; i < 16; ++i)
    s = _mm512_add_ps(s, acc[i]);
  return _mm512_reduce_add_ps(s);
}

} // namespace

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fma_peak THREADS\n");
    return 1;
  }
  const int threads = std::atoi(argv[1]);
  omp_set_num_threads(threads);
  std::vector<double> rates;
  float sink = 0;
  for (int r = 0; r < 12; ++r) {
    auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel reduction(+ : sink)
    sink += chains(float(omp_get_thread_num()));
    auto t1 = std::chrono::steady_clock::now();
    if (r == 0)
      continue; // warm-up (clocks, thread start)
    double s = std::chrono::duration<double>(t1 - t0).count();
    rates.push_back(double(threads) * kIters * 16 * 32 / s / 1e9);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("gflops=%.1f\nchecksum=%g\n", rates[rates.size() / 2], sink);
  return 0;
}
