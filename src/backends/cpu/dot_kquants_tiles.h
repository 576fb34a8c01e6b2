// The tile kernels of the k-quant formats (see TileDotFn in vec_dot.h) and the
// largest tile they take; defined in dot_kquants_avx2.cpp.
#pragma once

#include <cstdint>

namespace hearth::cpu {

constexpr int kKTileRows = 4;
constexpr int kKTileCols = 2;

void tile_dot_q4_k_q8_k_avx2(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                             int64_t y_stride, int rows, int cols);
void tile_dot_q5_k_q8_k_avx2(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                             int64_t y_stride, int rows, int cols);
void tile_dot_q6_k_q8_k_avx2(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                             int64_t y_stride, int rows, int cols);

}  // namespace hearth::cpu
