// Row kernels of the integer block formats (dot_neon-inl.h) for CPUs with the
// dot-product extension (SDOT: four int8 products per lane in one instruction).
// Only the functions after the target pragma use it, so nothing else in the
// program can pick up its instructions.
#include "backends/cpu/dot_neon.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#include <cstdint>
#include <type_traits>

#include "core/half.h"
#include "quant/blocks_kquants.h"
#include "quant/blocks_legacy.h"

#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")

namespace hearth::cpu {
namespace {

inline int32x4_t dot_i8x16(int32x4_t acc, int8x16_t a, int8x16_t b) { return vdotq_s32(acc, a, b); }

}  // namespace
}  // namespace hearth::cpu

#include "backends/cpu/dot_neon-inl.h"

namespace hearth::cpu {

// Float weights have no dot-product variant: the Advanced SIMD ones serve.
VecDotFn vec_dot_neondot(DType weight_type) { return block_vec_dot(weight_type); }

}  // namespace hearth::cpu

#pragma GCC pop_options

#else

namespace hearth::cpu {
VecDotFn vec_dot_neondot(DType) { return nullptr; }
}  // namespace hearth::cpu

#endif
