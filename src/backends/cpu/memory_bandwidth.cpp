#include "backends/cpu/memory_bandwidth.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"

namespace hearth::cpu {
namespace {

// The sums are returned so the compiler cannot drop the loads; their value is
// meaningless. Several independent accumulators keep enough loads in flight.
#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t read_avx2(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  const __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  alignas(32) uint64_t lanes[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), s);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}
#endif

uint64_t read_scalar(const uint8_t* p, size_t n) {
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (size_t i = 0; i + 32 <= n; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, sizeof(w));
    a0 += w[0];
    a1 += w[1];
    a2 += w[2];
    a3 += w[3];
  }
  return a0 + a1 + a2 + a3;
}

}  // namespace

double measure_read_bandwidth(ThreadPool& pool, const BandwidthOptions& options) {
  if (options.buffer_bytes < (size_t{1} << 20) || options.passes < 1)
    throw Error(ErrorCode::kInvalidArgument, "bandwidth probe needs at least 1 MiB and one pass");
  constexpr size_t kAlign = 4096;
  const size_t bytes = options.buffer_bytes / kAlign * kAlign;
  std::unique_ptr<uint8_t, decltype(&std::free)> buffer(static_cast<uint8_t*>(std::aligned_alloc(kAlign, bytes)),
                                                        &std::free);
  if (!buffer) throw Error(ErrorCode::kOutOfMemory, "bandwidth probe: cannot allocate its buffer");
  uint8_t* data = buffer.get();
  // First touch from the threads that will read, so pages sit near them.
  const int64_t n_pages = static_cast<int64_t>(bytes / kAlign);
  pool.parallel_chunks(n_pages, [&](int64_t b, int64_t e, int) {
    std::memset(data + b * kAlign, static_cast<int>(b & 0x7f), static_cast<size_t>(e - b) * kAlign);
  });

#if defined(__x86_64__)
  const bool avx2 = cpu_features().avx2;
#endif
  std::vector<uint64_t> sinks(static_cast<size_t>(pool.size()));
  std::vector<double> seconds;
  for (int pass = 0; pass < options.passes; ++pass) {
    const auto t0 = std::chrono::steady_clock::now();
    pool.parallel_chunks(n_pages, [&](int64_t b, int64_t e, int thread) {
      const uint8_t* p = data + b * kAlign;
      const size_t n = static_cast<size_t>(e - b) * kAlign;
#if defined(__x86_64__)
      sinks[static_cast<size_t>(thread)] += avx2 ? read_avx2(p, n) : read_scalar(p, n);
#else
      sinks[static_cast<size_t>(thread)] += read_scalar(p, n);
#endif
    });
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  volatile uint64_t keep = 0;
  for (uint64_t s : sinks) keep = keep + s;
  std::sort(seconds.begin(), seconds.end());
  return static_cast<double>(bytes) / seconds[seconds.size() / 2];
}

}  // namespace hearth::cpu
