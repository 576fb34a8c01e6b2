// The panel kernels of dot_panel-inl.h compiled for AVX-512 VNNI on 256-bit
// registers: one vpdpbusd per 4 elements of 8 tokens, and the 32 vector registers
// of AVX-512 for a larger tile. 256 bits rather than 512 because the broadcast
// weights then serve two token groups for one unpack, and CPUs that split 512-bit
// operations in two (AMD Zen 4) run the same number of multiply-adds either way.

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
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni,avx2,fma,f16c")
#define HEARTH_PANEL_NS avx512vnni
#define HEARTH_PANEL_VNNI 1
#include "backends/cpu/dot_panel-inl.h"
#undef HEARTH_PANEL_NS
#undef HEARTH_PANEL_VNNI
#pragma GCC pop_options

#else

namespace hearth::cpu::avx512vnni {
bool legacy_panels(DType, WeightKernels*) { return false; }
bool kquant_panels(DType, WeightKernels*) { return false; }
}  // namespace hearth::cpu::avx512vnni

#endif
