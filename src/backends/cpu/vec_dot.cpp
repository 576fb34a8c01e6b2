#include "backends/cpu/vec_dot.h"

#include <string>

#include "core/error.h"

namespace hearth::cpu {

namespace {

bool kernels_at(DType weight_type, Isa at, WeightKernels* k) {
  return legacy_weight_kernels(weight_type, at, k) || kquant_weight_kernels(weight_type, at, k);
}

}  // namespace

WeightKernels weight_kernels(DType weight_type, Isa isa) {
  for (int level = static_cast<int>(isa); level >= 0; --level) {
    WeightKernels k;
    const Isa at = static_cast<Isa>(level);
    if (!isa_supported(at) || !kernels_at(weight_type, at, &k)) continue;
    // A level with row kernels but no tiles borrows the tiles of the highest
    // level below that has them: they read the same activation bytes, and a
    // tile beats one row kernel call per (row, token) in prompt processing.
    for (int below = level - 1; !k.tile_dot && below >= 0; --below) {
      WeightKernels lower;
      if (isa_supported(static_cast<Isa>(below)) && kernels_at(weight_type, static_cast<Isa>(below), &lower) &&
          lower.tile_dot && lower.act_type == k.act_type) {
        k.tile_dot = lower.tile_dot;
        k.tile_rows = lower.tile_rows;
        k.tile_cols = lower.tile_cols;
        k.tile_order = lower.tile_order;
      }
    }
    // Panels from the highest level allowed that has them, which may be above
    // the row kernels' (VNNI adds panels only).
    for (int from = static_cast<int>(isa); !k.panel_dot && from >= 0; --from) {
      const Isa panel_isa = static_cast<Isa>(from);
      if (!isa_supported(panel_isa)) continue;
      if (legacy_panel_kernels(weight_type, panel_isa, &k) || kquant_panel_kernels(weight_type, panel_isa, &k))
        k.panel_isa = panel_isa;
    }
    return k;
  }
  throw Error(ErrorCode::kUnsupported,
              "no matmul kernel for weight type " + std::string(dtype_name(weight_type)));
}

bool has_weight_kernels(DType weight_type) {
  WeightKernels k;
  return legacy_weight_kernels(weight_type, Isa::kScalar, &k) ||
         kquant_weight_kernels(weight_type, Isa::kScalar, &k);
}

}  // namespace hearth::cpu
