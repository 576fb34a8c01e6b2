// The panel kernels of dot_panel-inl.h compiled for AVX2 (+FMA, F16C): integer dots
// by maddubs, summed in int16 as long as the format allows, then madd to int32.

// Everything dot_panel-inl.h includes, included here first so that the target
// pragma below applies to the kernels only.
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "backends/cpu/panel.h"
#include "backends/cpu/vec_dot.h"
#include "quant/blocks_kquants.h"
#include "quant/blocks_legacy.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#define HEARTH_PANEL_NS avx2
#define HEARTH_PANEL_VNNI 0
#include "backends/cpu/dot_panel-inl.h"
#undef HEARTH_PANEL_NS
#undef HEARTH_PANEL_VNNI
#pragma GCC pop_options

#else

namespace hearth::cpu::avx2 {
bool legacy_panels(DType, WeightKernels*) { return false; }
bool kquant_panels(DType, WeightKernels*) { return false; }
}  // namespace hearth::cpu::avx2

#endif
