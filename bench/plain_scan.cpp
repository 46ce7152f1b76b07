// The plain C++ selective scan the benchmark compares against: the obvious
// recurrence over mamba_ssm's channel-first layout, scalar expf, compiled
// with g++ -O3 -march=native and no fast-math (bench/run.py).
//
//   plain_scan B D L N REPS  ->  prints median_ms=<value> and a checksum
#include "median_time.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

int main(int argc, char **argv) {
  if (argc != 6) {
    std::fprintf(stderr, "usage: plain_scan B D L N REPS\n");
    return 1;
  }
  const long b = std::atol(argv[1]), d = std::atol(argv[2]),
             L = std::atol(argv[3]), n = std::atol(argv[4]);
  const int reps = std::atoi(argv[5]);
  std::mt19937 gen(0);
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> step(-4.f, 1.f), expo(-2.f, 1.5f);
  std::vector<float> u(b * d * L), delta(b * d * L), z(b * d * L),
      y(b * d * L), A(d * n), B(b * n * L), C(b * n * L), D(d), bias(d),
      h(n);
  for (auto &v : u) v = normal(gen);
  for (auto &v : delta) v = step(gen);
  for (auto &v : z) v = normal(gen);
  for (auto &v : A) v = -std::exp(expo(gen));
  for (auto &v : B) v = normal(gen);
  for (auto &v : C) v = normal(gen);
  for (auto &v : D) v = normal(gen);
  for (auto &v : bias) v = 0.5f * normal(gen);

  auto run = [&] {
    for (long bi = 0; bi < b; ++bi)
      for (long c = 0; c < d; ++c) {
        std::fill(h.begin(), h.end(), 0.f);
        const long row = (bi * d + c) * L;
        for (long t = 0; t < L; ++t) {
          float dt = delta[row + t] + bias[c];
          dt = dt > 20.f ? dt : std::log1p(std::exp(dt));
          const float x = u[row + t];
          float acc = 0.f;
          for (long j = 0; j < n; ++j) {
            h[j] = std::exp(dt * A[c * n + j]) * h[j] +
                   dt * B[(bi * n + j) * L + t] * x;
            acc += C[(bi * n + j) * L + t] * h[j];
          }
          acc += D[c] * x;
          const float g = z[row + t];
          y[row + t] = acc * (g / (1.f + std::exp(-g)));
        }
      }
  };
  run();
  const double ms = medianMs(run, reps);
  double sum = 0;
  for (float v : y) sum += v;
  std::printf("median_ms=%.6f\nchecksum=%g\n", ms, sum);
  return 0;
}
