// q4_K weights regrouped (graph/regrouped_weight.h makes the copy on a
// weight's first matmul) for token generation above all: eight rows at a
// time, so that one pass over a superblock multiplies eight rows by the same
// activations and the per-block work (scales, mins, the f16 factors) is done
// for the eight rows in one vector instead of once per row. On a Zen 4 this
// doubles the rate at which a q4_K matvec consumes weights, where the per-row
// kernel was limited by its arithmetic, not by memory (bench_kernels, one
// thread, row kernel vs grouped: gemv_l3 21 vs 41 GB/s, gemv from memory 20 vs
// 29 GB/s; 64-token gemm about equal, 210 GFLOP/s, with the AVX-512 VNNI
// kernel; at HEARTH_ISA=avx2 gemm64 124 vs 167 GFLOP/s). One token runs the
// AVX2 kernel on every x86 CPU (q4k_x8_avx512vnni.cpp says why).
//
// Layout of one group of 8 rows, superblock by superblock (BlockQ4Kx8): the
// rows' f16 d and dmin, their 6-bit sub-block scales and mins unpacked to
// bytes ([sub-block][row]), and the 4-bit values so that 32 bytes hold, for
// every row r, elements 8p .. 8p+3 of a sub-block in the low nibbles of bytes
// 4r .. 4r+3 and elements 8p+4 .. 8p+7 in the high nibbles. The values are
// exactly q4_K's: only their order changes.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/cpu_features.h"

namespace hearth::quant {
struct BlockQ8K;
}

namespace hearth::cpu {

inline constexpr int64_t kQ4KGroupRows = 8;

struct BlockQ4Kx8 {
  uint16_t d[8];           // f16, row r's superblock scale
  uint16_t dmin[8];        // f16, row r's superblock min scale
  uint8_t scales[8][8];    // [sub-block][row], 0..63
  uint8_t mins[8][8];      // [sub-block][row], 0..63
  uint8_t qs[8][4][32];    // [sub-block][element group pair][row-major nibbles, see above]
};
static_assert(sizeof(BlockQ4Kx8) == 1184, "8 rows of a q4_K superblock");

// The level of the kernel q4k_x8_matmul runs on this CPU (within HEARTH_ISA):
// kAvx512Vnni, kAvx2 (also on AVX-512 CPUs without VNNI), or kScalar where
// there is none (not x86, or HEARTH_ISA=scalar): then nothing is grouped.
Isa q4k_x8_kernel_isa();

// Whether this CPU (within HEARTH_ISA) has a grouped kernel.
bool q4k_x8_available();

// Whether a q4_K matrix of this shape can be grouped (rows a multiple of 8, k of 256).
bool q4k_x8_fits(int64_t rows, int64_t k);

// Bytes of the grouped copy of rows x k q4_K weights.
size_t q4k_x8_bytes(int64_t rows, int64_t k);

// Writes the grouped copy of `rows` q4_K rows of k elements (row-major, as in
// GGUF) to out (q4k_x8_bytes of them). Requires q4k_x8_fits.
void q4k_x8_pack(const void* q4k, int64_t rows, int64_t k, void* out);

// y[t * y_stride + 8 g + r] = row 8 g + r times activation row t, for the row
// groups g0 <= g < g1 and n_tokens q8_K activation rows (act_stride bytes
// apart). The kernel of q4k_x8_kernel_isa(); call only where q4k_x8_available().
void q4k_x8_matmul(int64_t k, const void* packed, int64_t g0, int64_t g1, const void* act, int64_t act_stride,
                   int64_t n_tokens, float* y, int64_t y_stride);

// The same with the kernel of one level (kAvx2 or kAvx512Vnni), whatever
// HEARTH_ISA says, for the tests; throws where this CPU lacks that level.
void q4k_x8_matmul_isa(Isa isa, int64_t k, const void* packed, int64_t g0, int64_t g1, const void* act,
                       int64_t act_stride, int64_t n_tokens, float* y, int64_t y_stride);

// The same in scalar code, with the same float operations in the same order:
// every kernel's result bit for bit (the tests' reference).
void q4k_x8_matmul_ref(int64_t k, const void* packed, int64_t g0, int64_t g1, const void* act, int64_t act_stride,
                       int64_t n_tokens, float* y, int64_t y_stride);

#if defined(__x86_64__)
// One row group against rn (1 to 4) activation rows a[t] (nb superblocks each),
// writing the 8 results of token t to y[t][0..7]; q4k_x8_matmul walks groups
// and tokens with these.
void q4k_x8_group_dot_avx2(int64_t nb, const BlockQ4Kx8* w, const quant::BlockQ8K* const* a, float* const* y, int rn);
void q4k_x8_group_dot_avx512vnni(int64_t nb, const BlockQ4Kx8* w, const quant::BlockQ8K* const* a, float* const* y,
                                 int rn);
#endif

}  // namespace hearth::cpu
