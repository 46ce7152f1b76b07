// The timing loop of the standalone C++ benchmarks (plain_scan.cpp,
// avx512_scan.cpp): median wall time of `reps` calls, in ms.
#ifndef SSM_BENCH_MEDIAN_TIME_H
#define SSM_BENCH_MEDIAN_TIME_H

#include <algorithm>
#include <chrono>
#include <vector>

template <class F>
double medianMs(F &&run, int reps) {
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    auto t1 = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

#endif // SSM_BENCH_MEDIAN_TIME_H
