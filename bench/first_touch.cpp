// First touch of fresh memory, in 4 KB pages and with transparent huge
// pages (docs/performance.md, "First touch of large buffers"): maps N MB
// afresh, optionally advises it MADV_HUGEPAGE (what hostAlloc does for
// blocks of 8 MB or more), writes every byte once, and prints the rate;
// then writes the same memory again (already faulted: the memory's own
// rate). Alternates the two modes for a few rounds.
//
//   g++ -O2 -o build/bin/first_touch bench/first_touch.cpp
//   build/bin/first_touch [MB] [rounds]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/mman.h>

static double seconds() {
  using namespace std::chrono;
  return duration<double>(steady_clock::now().time_since_epoch()).count();
}

int main(int argc, char **argv) {
  size_t mb = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 400;
  int rounds = argc > 2 ? std::atoi(argv[2]) : 3;
  size_t n = mb << 20;
  std::printf("%-12s %10s %12s %12s\n", "pages", "MB", "first GB/s", "again GB/s");
  for (int r = 0; r < rounds; ++r)
    for (int huge = 0; huge < 2; ++huge) {
      void *m = mmap(nullptr, n, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      if (m == MAP_FAILED) {
        std::perror("mmap");
        return 1;
      }
      if (huge && madvise(m, n, MADV_HUGEPAGE) != 0)
        std::perror("madvise (the huge-page rows are 4 KB pages)");
      double t0 = seconds();
      std::memset(m, 1, n);
      double t1 = seconds();
      std::memset(m, 2, n);
      double t2 = seconds();
      std::printf("%-12s %10zu %12.2f %12.2f\n", huge ? "huge (THP)" : "4 KB", mb,
                  n / (t1 - t0) / 1e9, n / (t2 - t1) / 1e9);
      munmap(m, n);
    }
  return 0;
}
