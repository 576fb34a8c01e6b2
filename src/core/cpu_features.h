// Run-time CPU feature detection: which SIMD instruction sets kernels may use here.
#pragma once

#include <string>

namespace hearth {

// Levels of one architecture are ordered: each implies the ones before it of
// the same architecture (x86: avx2 < avx512 < avx512vnni; aarch64: neon <
// neondot) and scalar, which every CPU has. A CPU supports no level of the
// other architecture, so walking down from any level skips them.
enum class Isa { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3, kNeon = 4, kNeonDot = 5 };
// Every level, lowest first.
inline constexpr Isa kAllIsas[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kNeon, Isa::kNeonDot};

struct CpuFeatures {
  // x86-64
  bool avx2 = false;  // with FMA and F16C
  bool avx512 = false;  // F, BW, VL, DQ
  bool avx512_vnni = false;
  bool avx_vnni = false;
  // aarch64
  bool neon = false;     // Advanced SIMD (every AArch64 CPU)
  bool dotprod = false;  // SDOT/UDOT (ARMv8.2 option, ARMv8.4 and Apple M1 on)
};

const CpuFeatures& cpu_features();
// The best ISA level usable here, capped by HEARTH_ISA (scalar|avx2|avx512|
// avx512vnni|neon|neondot) if set: the best supported level not above the cap.
Isa best_isa();
bool isa_supported(Isa isa);
const char* isa_name(Isa isa);

}  // namespace hearth
