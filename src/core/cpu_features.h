// Run-time CPU feature detection: which SIMD instruction sets kernels may use here.
#pragma once

#include <string>

namespace hearth {

// Ordered: each level implies the ones before it.
enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3 };

struct CpuFeatures {
  bool avx2 = false;  // with FMA and F16C
  bool avx512 = false;  // F, BW, VL, DQ
  bool avx512_vnni = false;
  bool avx_vnni = false;
};

const CpuFeatures& cpu_features();
// The best ISA level usable here, capped by HEARTH_ISA (scalar|avx2|avx512|avx512vnni) if set.
Isa best_isa();
bool isa_supported(Isa isa);
const char* isa_name(Isa isa);

}  // namespace hearth
