#include "core/cpu_features.h"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace hearth {
namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool fma = c & (1u << 12), osxsave = c & (1u << 27), f16c = c & (1u << 29);
  if (!osxsave) return f;
  unsigned xlo, xhi;
  __asm__("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  const bool ymm_os = (xlo & 0x6u) == 0x6u;
  const bool zmm_os = (xlo & 0xe6u) == 0xe6u;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = ymm_os && fma && f16c && (b & (1u << 5));
  const bool avx512f = b & (1u << 16), avx512dq = b & (1u << 17), avx512bw = b & (1u << 30),
             avx512vl = b & (1u << 31);
  f.avx512 = f.avx2 && zmm_os && avx512f && avx512dq && avx512bw && avx512vl;
  f.avx512_vnni = f.avx512 && (c & (1u << 11));
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) f.avx_vnni = f.avx2 && (a & (1u << 4));
#endif
  return f;
}

Isa detect_best() {
  const CpuFeatures& f = cpu_features();
  Isa best = Isa::kScalar;
  if (f.avx2) best = Isa::kAvx2;
  if (f.avx512) best = Isa::kAvx512;
  if (f.avx512_vnni) best = Isa::kAvx512Vnni;
  if (const char* cap = std::getenv("HEARTH_ISA")) {
    Isa limit = best;
    if (!std::strcmp(cap, "scalar")) limit = Isa::kScalar;
    else if (!std::strcmp(cap, "avx2")) limit = Isa::kAvx2;
    else if (!std::strcmp(cap, "avx512")) limit = Isa::kAvx512;
    else if (!std::strcmp(cap, "avx512vnni")) limit = Isa::kAvx512Vnni;
    if (limit < best) best = limit;
  }
  return best;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

Isa best_isa() {
  static const Isa isa = detect_best();
  return isa;
}

bool isa_supported(Isa isa) {
  const CpuFeatures& f = cpu_features();
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return f.avx2;
    case Isa::kAvx512: return f.avx512;
    case Isa::kAvx512Vnni: return f.avx512_vnni;
  }
  return false;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
    case Isa::kAvx512Vnni: return "avx512vnni";
  }
  return "?";
}

}  // namespace hearth
