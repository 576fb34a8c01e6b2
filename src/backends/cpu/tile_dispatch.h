// Picks a tile kernel of the exact shape asked for at run time from a table
// built at compile time: Kernel::template run<R, C> for every R <= kMaxRows and
// C <= kMaxCols (full tiles for the bulk of a matmul, smaller ones for its
// edges), so every shape runs with its loops fully unrolled.
#pragma once

#include <array>
#include <cstdint>
#include <utility>

namespace hearth::cpu {

using FixedTileFn = void (*)(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                             int64_t y_stride);

template <typename Kernel, int kMaxRows, int kMaxCols, int... I>
constexpr std::array<FixedTileFn, sizeof...(I)> fixed_tile_table(std::integer_sequence<int, I...>) {
  return {&Kernel::template run<I / kMaxCols + 1, I % kMaxCols + 1>...};
}

// Matches TileDotFn (vec_dot.h); rows in 1..kMaxRows, cols in 1..kMaxCols.
template <typename Kernel, int kMaxRows, int kMaxCols>
void dispatch_tile(int64_t n, const void* w, int64_t w_stride, const void* a, int64_t a_stride, float* y,
                   int64_t y_stride, int rows, int cols) {
  static constexpr auto table =
      fixed_tile_table<Kernel, kMaxRows, kMaxCols>(std::make_integer_sequence<int, kMaxRows * kMaxCols>{});
  table[static_cast<size_t>((rows - 1) * kMaxCols + (cols - 1))](n, w, w_stride, a, a_stride, y, y_stride);
}

}  // namespace hearth::cpu
