// The GPU's exp2 throughput as measured now, the exp-throughput bound of the
// GPU scan (bench/gpu.py): the scan computes exp(dt * A) as ex2.approx.ftz.f32
// of a pre-scaled argument, once per state update, on the multiprocessors'
// special-function units (MUFU.EX2), 16 results per clock per SM on Hopper
// in NVIDIA's tables; this measures it rather than trusting the table and
// the clock.
//
//   gpu_exp_peak  ->  exp2_per_s=<value> (median of 11 timed launches)
//                     ex2_mean_rel=<v> ex2_max_rel=<v> over [-1/4, 0) and
//                     over [-8, -1/4): the signed mean and the largest
//                     relative error against exp2 in double (docs/gpu.md:
//                     why the scan computes complements near 1 itself)
//
// Each thread runs 8 independent chains x = ex2(-x), the instruction the scan
// uses (the negation is an operand modifier), over a grid of 16
// blocks of 256 threads per SM. Build: nvcc -O3 -arch=sm_90.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

namespace {

constexpr int kChains = 8;
constexpr int kIters = 4096;

__device__ __forceinline__ float ex2(float x) {
  float y;
  asm volatile("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(-x));
  return y;
}

__global__ void chains(float *out, float seed) {
  float x[kChains];
#pragma unroll
  for (int i = 0; i < kChains; ++i)
    x[i] = seed + 0.01f * (threadIdx.x + i);
  for (int it = 0; it < kIters; ++it) {
#pragma unroll
    for (int i = 0; i < kChains; ++i)
      x[i] = ex2(x[i]);
  }
  float s = 0;
#pragma unroll
  for (int i = 0; i < kChains; ++i)
    s += x[i];
  out[blockIdx.x * blockDim.x + threadIdx.x] = s;
}

__global__ void values(float *out, float lo, float hi, int count) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < count) {
    float x = lo + (hi - lo) * (float(i) + 0.5f) / float(count);
    float y;
    asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    out[2 * i] = x;
    out[2 * i + 1] = y;
  }
}

int check(cudaError_t e, const char *what) {
  if (e != cudaSuccess) {
    std::fprintf(stderr, "gpu_exp_peak: %s: %s\n", what, cudaGetErrorString(e));
    return 1;
  }
  return 0;
}

} // namespace

int main() {
  cudaDeviceProp prop;
  if (check(cudaGetDeviceProperties(&prop, 0), "cudaGetDeviceProperties"))
    return 1;
  const int threads = 256, blocks = prop.multiProcessorCount * 16;
  float *out;
  if (check(cudaMalloc(&out, sizeof(float) * blocks * threads), "cudaMalloc"))
    return 1;
  cudaEvent_t start, stop;
  cudaEventCreate(&start);
  cudaEventCreate(&stop);
  std::vector<float> ms;
  for (int rep = 0; rep < 14; ++rep) {
    cudaEventRecord(start);
    chains<<<blocks, threads>>>(out, 0.5f + rep);
    cudaEventRecord(stop);
    if (check(cudaGetLastError(), "launch") ||
        check(cudaEventSynchronize(stop), "kernel"))
      return 1;
    float t;
    cudaEventElapsedTime(&t, start, stop);
    if (rep >= 3) // warm-up: clocks ramp up
      ms.push_back(t);
  }
  std::sort(ms.begin(), ms.end());
  const double exps = double(blocks) * threads * kChains * kIters;
  const double med = ms[ms.size() / 2];
  std::printf("exp2_per_s=%.4g sms=%d median_ms=%.4f\n", exps / (med * 1e-3),
              prop.multiProcessorCount, med);
  // Accuracy on a grid of arguments.
  const int count = 1 << 20;
  float *pairs;
  if (check(cudaMalloc(&pairs, sizeof(float) * 2 * count), "cudaMalloc"))
    return 1;
  std::vector<float> host(2 * count);
  const float ranges[2][2] = {{-0.25f, 0.0f}, {-8.0f, -0.25f}};
  for (auto &r : ranges) {
    values<<<(count + 255) / 256, 256>>>(pairs, r[0], r[1], count);
    if (check(cudaGetLastError(), "launch") ||
        check(cudaMemcpy(host.data(), pairs, sizeof(float) * 2 * count,
                         cudaMemcpyDeviceToHost),
              "copy"))
      return 1;
    double sum = 0, worst = 0;
    for (int i = 0; i < count; ++i) {
      double exact = std::exp2(double(host[2 * i]));
      double rel = (double(host[2 * i + 1]) - exact) / exact;
      sum += rel;
      worst = std::max(worst, std::fabs(rel));
    }
    std::printf("ex2.approx.ftz.f32 on [%g, %g): ex2_mean_rel=%.3g ex2_max_rel=%.3g\n",
                r[0], r[1], sum / count, worst);
  }
  return check(cudaFree(out), "cudaFree") || check(cudaFree(pairs), "cudaFree");
}
