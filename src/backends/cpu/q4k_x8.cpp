// Grouping of q4_K rows (q4k_x8.h) and the scalar reference of its kernel.
#include "backends/cpu/q4k_x8.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/half.h"
#include "quant/blocks_kquants.h"

namespace hearth::cpu {

using quant::BlockQ4K;
using quant::BlockQ8K;
using quant::kQK;

Isa q4k_x8_kernel_isa() {
#if defined(__x86_64__)
  static const Isa isa = [] {
    const Isa best = best_isa();
    if (best == Isa::kAvx512Vnni && cpu_features().avx512) return Isa::kAvx512Vnni;
    if (best == Isa::kAvx2 || best == Isa::kAvx512 || best == Isa::kAvx512Vnni) return Isa::kAvx2;
    return Isa::kScalar;
  }();
  return isa;
#else
  return Isa::kScalar;
#endif
}

bool q4k_x8_available() { return q4k_x8_kernel_isa() != Isa::kScalar; }

bool q4k_x8_fits(int64_t rows, int64_t k) {
  return rows > 0 && k > 0 && rows % kQ4KGroupRows == 0 && k % kQK == 0;
}

size_t q4k_x8_bytes(int64_t rows, int64_t k) {
  return static_cast<size_t>(rows / kQ4KGroupRows) * static_cast<size_t>(k / kQK) * sizeof(BlockQ4Kx8);
}

void q4k_x8_pack(const void* q4k, int64_t rows, int64_t k, void* out) {
  const auto* in = static_cast<const BlockQ4K*>(q4k);
  auto* o = static_cast<BlockQ4Kx8*>(out);
  const int64_t nb = k / kQK;
  for (int64_t g = 0; g < rows / kQ4KGroupRows; ++g) {
    for (int64_t b = 0; b < nb; ++b) {
      BlockQ4Kx8& x = o[g * nb + b];
      for (int r = 0; r < 8; ++r) {
        const BlockQ4K& w = in[(g * kQ4KGroupRows + r) * nb + b];
        x.d[r] = w.d;
        x.dmin[r] = w.dmin;
        uint8_t sc[8], m[8];
        quant::unpack_k4_scales(w.scales, sc, m);
        for (int j = 0; j < 8; ++j) {
          x.scales[j][r] = sc[j];
          x.mins[j][r] = m[j];
          // Sub-block j is the low (j even) or high (j odd) nibbles of
          // qs[32 (j / 2) ..]: its elements 8p .. 8p+7 are those of 8
          // consecutive bytes, the first four going to the low nibbles.
          for (int p = 0; p < 4; ++p) {
            uint64_t src;
            std::memcpy(&src, w.qs + 32 * (j / 2) + 8 * p, 8);
            const uint64_t v = ((j % 2) ? src >> 4 : src) & 0x0f0f0f0f0f0f0f0fULL;
            const auto packed = static_cast<uint32_t>(v) | (static_cast<uint32_t>(v >> 32) << 4);
            std::memcpy(&x.qs[j][p][4 * r], &packed, 4);  // little-endian: byte i holds elements i and i + 4
          }
        }
      }
    }
  }
}

namespace {

#if defined(__x86_64__)
using GroupDotFn = void (*)(int64_t nb, const BlockQ4Kx8* w, const BlockQ8K* const* a, float* const* y, int rn);

GroupDotFn group_dot_for(Isa isa) {
  const CpuFeatures& f = cpu_features();
  if (isa == Isa::kAvx512Vnni && f.avx512 && f.avx512_vnni) return q4k_x8_group_dot_avx512vnni;
  if (isa == Isa::kAvx2 && f.avx2) return q4k_x8_group_dot_avx2;
  throw Error(ErrorCode::kInternal, std::string("no grouped q4_K kernel at level ") + isa_name(isa) + " on this CPU");
}

// Tokens four at a time (each unpacked weight vector serves them all), then
// the row groups one after another: one sequential stream of weights.
void run_groups(GroupDotFn dot, int64_t k, const void* packed, int64_t g0, int64_t g1, const void* act,
                int64_t act_stride, int64_t n_tokens, float* y, int64_t y_stride) {
  const auto* w = static_cast<const BlockQ4Kx8*>(packed);
  const int64_t nb = k / kQK;
  const auto* act_bytes = static_cast<const uint8_t*>(act);
  for (int64_t t0 = 0; t0 < n_tokens; t0 += 4) {
    const int rn = static_cast<int>(std::min<int64_t>(4, n_tokens - t0));
    const BlockQ8K* a[4];
    for (int t = 0; t < rn; ++t) a[t] = reinterpret_cast<const BlockQ8K*>(act_bytes + (t0 + t) * act_stride);
    for (int64_t g = g0; g < g1; ++g) {
      float* out[4];
      for (int t = 0; t < rn; ++t) out[t] = y + (t0 + t) * y_stride + g * kQ4KGroupRows;
      dot(nb, w + g * nb, a, out, rn);
    }
  }
}
#endif

}  // namespace

void q4k_x8_matmul(int64_t k, const void* packed, int64_t g0, int64_t g1, const void* act, int64_t act_stride,
                   int64_t n_tokens, float* y, int64_t y_stride) {
#if defined(__x86_64__)
  static const GroupDotFn dot = q4k_x8_available() ? group_dot_for(q4k_x8_kernel_isa()) : nullptr;
  if (dot) {
    run_groups(dot, k, packed, g0, g1, act, act_stride, n_tokens, y, y_stride);
    return;
  }
#endif
  (void)k, (void)packed, (void)g0, (void)g1, (void)act, (void)act_stride, (void)n_tokens, (void)y, (void)y_stride;
  throw Error(ErrorCode::kInternal, "q4k_x8_matmul: no grouped q4_K kernel on this CPU");
}

void q4k_x8_matmul_isa(Isa isa, int64_t k, const void* packed, int64_t g0, int64_t g1, const void* act,
                       int64_t act_stride, int64_t n_tokens, float* y, int64_t y_stride) {
#if defined(__x86_64__)
  run_groups(group_dot_for(isa), k, packed, g0, g1, act, act_stride, n_tokens, y, y_stride);
#else
  (void)k, (void)packed, (void)g0, (void)g1, (void)act, (void)act_stride, (void)n_tokens, (void)y, (void)y_stride;
  throw Error(ErrorCode::kInternal, std::string("no grouped q4_K kernel at level ") + isa_name(isa) + " on this CPU");
#endif
}

// Per row and token: the sub-block dots and mins terms in int32 (exact), then
// per superblock acc = fma(d * a.d, total, acc) and acc = fma(-(dmin * a.d), mins, acc).
void q4k_x8_matmul_ref(int64_t k, const void* packed, int64_t g0, int64_t g1, const void* act, int64_t act_stride,
                       int64_t n_tokens, float* y, int64_t y_stride) {
  const auto* w = static_cast<const BlockQ4Kx8*>(packed);
  const int64_t nb = k / kQK;
  for (int64_t t = 0; t < n_tokens; ++t) {
    const auto* a = reinterpret_cast<const BlockQ8K*>(static_cast<const uint8_t*>(act) + t * act_stride);
    for (int64_t g = g0; g < g1; ++g) {
      for (int r = 0; r < 8; ++r) {
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
          const BlockQ4Kx8& x = w[g * nb + b];
          int32_t total = 0, mins = 0;
          for (int j = 0; j < 8; ++j) {
            int32_t dot = 0;
            for (int p = 0; p < 4; ++p)
              for (int i = 0; i < 4; ++i) {
                const uint8_t q = x.qs[j][p][4 * r + i];
                dot += (q & 0x0f) * a[b].qs[32 * j + 8 * p + i] + (q >> 4) * a[b].qs[32 * j + 8 * p + 4 + i];
              }
            total += dot * x.scales[j][r];
            mins += x.mins[j][r] * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
          }
          const float d = f16_to_f32(x.d[r]) * a[b].d;
          const float dmin = f16_to_f32(x.dmin[r]) * a[b].d;
          acc = std::fma(d, static_cast<float>(total), acc);
          acc = std::fma(-dmin, static_cast<float>(mins), acc);
        }
        y[t * y_stride + g * kQ4KGroupRows + r] = acc;
      }
    }
  }
}

}  // namespace hearth::cpu
