// Causal grouped-query attention over a KV cache of f16 or q8_0 rows, contiguous
// or in blocks (sliding window, softcap): scalar reference and Highway vector
// path, threaded over (token, head) pairs.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/attention.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "backends/cpu/ops.h"
#include "backends/cpu/simd_math-inl.h"
#include "core/half.h"
#include "quant/blocks_legacy.h"
#include "quant/quantize.h"

#ifndef HEARTH_BACKENDS_CPU_ATTENTION_COMMON
#define HEARTH_BACKENDS_CPU_ATTENTION_COMMON
namespace hearth::cpu {
namespace {

constexpr int64_t kQ8 = quant::kLegacyBlock;  // values per q8_0 block
constexpr int64_t kMaxHeadDim = 1024;         // q8_0 queries are quantized on the stack

// Per-thread scratch: the query (f16-rounded, or its q8_0 values as floats then
// one scale per block), then one score per visible position. Each part starts on
// a 64-byte boundary when scratch does.
inline int64_t round_up16(int64_t n) { return (n + 15) / 16 * 16; }
inline int64_t query_floats(const AttentionParams& p) {
  return round_up16(p.head_dim_k) + round_up16(p.head_dim_k / kQ8 + 1);
}
inline int64_t thread_floats(const AttentionParams& p) {
  return query_floats(p) + round_up16(p.n_past + p.n_tokens);
}

// Positions [first, last] that the query of new token t sees.
inline void visible_range(const AttentionParams& p, int64_t t, int64_t* first, int64_t* last) {
  *last = p.n_past + t;
  *first = p.sliding_window > 0 ? std::max<int64_t>(0, *last - p.sliding_window + 1) : 0;
}

// Bytes from the start of a cache row to kv head `head`'s part of it.
inline int64_t head_offset(DType type, int64_t head, int64_t head_dim) {
  return type == DType::kQ8_0 ? head * (head_dim / kQ8) * static_cast<int64_t>(sizeof(quant::BlockQ8_0))
                              : head * head_dim * 2;
}

// Calls f(j, n, k_rows, v_rows) for each run of positions first..last that lie
// in one block: j is the run's index counted from first, k_rows and v_rows its
// first rows (row_bytes apart).
template <class F>
inline void for_each_run(const KvLayerView& kv, int64_t first, int64_t last, F&& f) {
  if (kv.block_positions <= 0) {
    f(int64_t{0}, last - first + 1, kv.k + first * kv.row_bytes, kv.v + first * kv.row_bytes);
    return;
  }
  for (int64_t pos = first; pos <= last;) {
    const int64_t n = std::min(kv.block_positions - pos % kv.block_positions, last - pos + 1);
    const int64_t offset = kv.row_offset(pos);
    f(pos - first, n, kv.k + offset, kv.v + offset);
    pos += n;
  }
}

// A query head quantized as the reference runtime quantizes activations for a
// q8_0 dot: its values (small integers, kept as floats) and one scale per block.
inline void quantize_query_q8(const float* q, int64_t dim, float* values, float* scales) {
  quant::BlockQ8_0 blocks[kMaxHeadDim / kQ8];
  quant::quantize_row(DType::kQ8_0, q, blocks, dim);
  for (int64_t b = 0; b < dim / kQ8; ++b) {
    scales[b] = f16_to_f32(blocks[b].d);
    for (int64_t i = 0; i < kQ8; ++i) values[b * kQ8 + i] = blocks[b].qs[i];
  }
}

inline float q8_scale(const uint8_t* block) {
  uint16_t d;
  std::memcpy(&d, block, sizeof d);
  return f16_to_f32(d);
}
inline const int8_t* q8_values(const uint8_t* block) {
  return reinterpret_cast<const int8_t*>(block + offsetof(quant::BlockQ8_0, qs));
}

}  // namespace
}  // namespace hearth::cpu
#endif

HWY_BEFORE_NAMESPACE();
namespace hearth::cpu::HWY_NAMESPACE {

template <class DF>
HWY_INLINE auto LoadF16(DF df, const uint16_t* p) {
  const hn::Rebind<hwy::float16_t, DF> dh;
  return hn::PromoteTo(df, hn::LoadU(dh, reinterpret_cast<const hwy::float16_t*>(p)));
}

// scores[j] = scale * (q . k_j) for the n keys starting at k, stride apart. Four
// keys at a time share each load of q and keep four independent FMA chains.
HWY_INLINE void QueryKeyScores(const float* q, const uint16_t* k, size_t stride, size_t n, size_t dim,
                               float scale, float* scores) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t dim_vec = dim / N * N;
  size_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const uint16_t* k0 = k + j * stride;
    const uint16_t* k1 = k0 + stride;
    const uint16_t* k2 = k1 + stride;
    const uint16_t* k3 = k2 + stride;
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
    for (size_t i = 0; i < dim_vec; i += N) {
      const auto qv = hn::LoadU(d, q + i);
      a0 = hn::MulAdd(qv, LoadF16(d, k0 + i), a0);
      a1 = hn::MulAdd(qv, LoadF16(d, k1 + i), a1);
      a2 = hn::MulAdd(qv, LoadF16(d, k2 + i), a2);
      a3 = hn::MulAdd(qv, LoadF16(d, k3 + i), a3);
    }
    float s0 = hn::GetLane(hn::SumOfLanes(d, a0)), s1 = hn::GetLane(hn::SumOfLanes(d, a1));
    float s2 = hn::GetLane(hn::SumOfLanes(d, a2)), s3 = hn::GetLane(hn::SumOfLanes(d, a3));
    for (size_t i = dim_vec; i < dim; ++i) {
      s0 += q[i] * f16_to_f32(k0[i]);
      s1 += q[i] * f16_to_f32(k1[i]);
      s2 += q[i] * f16_to_f32(k2[i]);
      s3 += q[i] * f16_to_f32(k3[i]);
    }
    scores[j] = s0 * scale;
    scores[j + 1] = s1 * scale;
    scores[j + 2] = s2 * scale;
    scores[j + 3] = s3 * scale;
  }
  for (; j < n; ++j) {
    const uint16_t* kj = k + j * stride;
    auto a = hn::Zero(d);
    for (size_t i = 0; i < dim_vec; i += N) a = hn::MulAdd(hn::LoadU(d, q + i), LoadF16(d, kj + i), a);
    float s = hn::GetLane(hn::SumOfLanes(d, a));
    for (size_t i = dim_vec; i < dim; ++i) s += q[i] * f16_to_f32(kj[i]);
    scores[j] = s * scale;
  }
}

// out[0..dim) += sum_j probs[j] * v_j for the n value rows starting at v, in row
// order. Blocks of four vectors of out stay in registers while the rows stream past.
HWY_INLINE void WeightedValues(const float* probs, const uint16_t* v, size_t stride, size_t n, size_t dim,
                               float* out) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + 4 * N <= dim; i += 4 * N) {
    auto a0 = hn::LoadU(d, out + i), a1 = hn::LoadU(d, out + i + N);
    auto a2 = hn::LoadU(d, out + i + 2 * N), a3 = hn::LoadU(d, out + i + 3 * N);
    const uint16_t* vj = v + i;
    for (size_t j = 0; j < n; ++j, vj += stride) {
      const auto p = hn::Set(d, probs[j]);
      a0 = hn::MulAdd(p, LoadF16(d, vj), a0);
      a1 = hn::MulAdd(p, LoadF16(d, vj + N), a1);
      a2 = hn::MulAdd(p, LoadF16(d, vj + 2 * N), a2);
      a3 = hn::MulAdd(p, LoadF16(d, vj + 3 * N), a3);
    }
    hn::StoreU(a0, d, out + i);
    hn::StoreU(a1, d, out + i + N);
    hn::StoreU(a2, d, out + i + 2 * N);
    hn::StoreU(a3, d, out + i + 3 * N);
  }
  for (; i + N <= dim; i += N) {
    auto a = hn::LoadU(d, out + i);
    const uint16_t* vj = v + i;
    for (size_t j = 0; j < n; ++j, vj += stride) a = hn::MulAdd(hn::Set(d, probs[j]), LoadF16(d, vj), a);
    hn::StoreU(a, d, out + i);
  }
  for (; i < dim; ++i) {
    float a = out[i];
    const uint16_t* vj = v + i;
    for (size_t j = 0; j < n; ++j, vj += stride) a += probs[j] * f16_to_f32(*vj);
    out[i] = a;
  }
}

// The n int8 values at x as floats, N lanes.
template <class DF>
HWY_INLINE auto LoadI8(DF df, const int8_t* x) {
  const hn::Rebind<int32_t, DF> di;
  const hn::Rebind<int8_t, DF> d8;
  return hn::ConvertTo(df, hn::PromoteTo(di, hn::LoadU(d8, x)));
}

// scores[j] = scale * (q . k_j) for n q8_0 key rows starting at k, row_bytes
// apart; q is given as q8_0 values (floats) and one scale per block. Each block's
// integer dot product is exact in f32, as in the reference runtime.
HWY_INLINE void QueryKeyScoresQ8(const float* qv, const float* qd, const uint8_t* k, size_t row_bytes, size_t n,
                                 size_t dim, float scale, float* scores) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  const size_t n_blocks = dim / kQ8;
  for (size_t j = 0; j < n; ++j) {
    const uint8_t* block = k + j * row_bytes;
    float s = 0.0f;
    for (size_t b = 0; b < n_blocks; ++b, block += sizeof(quant::BlockQ8_0)) {
      const int8_t* kv = q8_values(block);
      auto acc = hn::Zero(d);
      for (size_t i = 0; i < kQ8; i += N) acc = hn::MulAdd(hn::LoadU(d, qv + b * kQ8 + i), LoadI8(d, kv + i), acc);
      s += qd[b] * q8_scale(block) * hn::GetLane(hn::SumOfLanes(d, acc));
    }
    scores[j] = s * scale;
  }
}

// out[0..dim) += sum_j probs[j] * v_j for n q8_0 value rows starting at v, in row
// order, one block of 32 outputs at a time.
HWY_INLINE void WeightedValuesQ8(const float* probs, const uint8_t* v, size_t row_bytes, size_t n, size_t dim,
                                 float* out) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  for (size_t b = 0; b < dim / kQ8; ++b) {
    const size_t block_offset = b * sizeof(quant::BlockQ8_0);
    for (size_t i = 0; i < kQ8; i += N) {
      auto a = hn::LoadU(d, out + b * kQ8 + i);
      const uint8_t* block = v + block_offset;
      for (size_t j = 0; j < n; ++j, block += row_bytes)
        a = hn::MulAdd(hn::Set(d, probs[j] * q8_scale(block)), LoadI8(d, q8_values(block) + i), a);
      hn::StoreU(a, d, out + b * kQ8 + i);
    }
  }
}

// One (new token t, query head h) pair; scratch is this thread's buffer.
void AttendImpl(const AttentionParams& p, const float* q, const KvLayerView& kv, float* out, float* scratch,
                int64_t t, int64_t h) {
  const int64_t kv_head = h / (p.n_head / p.n_head_kv);
  int64_t first, last;
  visible_range(p, t, &first, &last);
  const size_t n = static_cast<size_t>(last - first + 1);
  const size_t dk = static_cast<size_t>(p.head_dim_k), dv = static_cast<size_t>(p.head_dim_v);
  const size_t row_bytes = static_cast<size_t>(kv.row_bytes);
  const bool q8 = kv.type == DType::kQ8_0;
  const int64_t k_offset = head_offset(kv.type, kv_head, p.head_dim_k);
  const int64_t v_offset = head_offset(kv.type, kv_head, p.head_dim_v);
  float* qr = scratch;
  float* qd = scratch + round_up16(p.head_dim_k);
  float* scores = scratch + query_floats(p);

  // The query is read whole before out is written, so out may be q itself.
  const float* qh = q + (t * p.n_head + h) * p.head_dim_k;
  if (q8) {
    quantize_query_q8(qh, p.head_dim_k, qr, qd);
  } else {
    Map1(qh, qr, dk, [](auto d, auto v) { return RoundToF16(d, v); });
  }
  for_each_run(kv, first, last, [&](int64_t j, int64_t count, const uint8_t* k_rows, const uint8_t*) {
    if (q8) {
      QueryKeyScoresQ8(qr, qd, k_rows + k_offset, row_bytes, static_cast<size_t>(count), dk, p.scale, scores + j);
    } else {
      QueryKeyScores(qr, reinterpret_cast<const uint16_t*>(k_rows + k_offset), row_bytes / 2,
                     static_cast<size_t>(count), dk, p.scale, scores + j);
    }
  });
  if (p.softcap > 0.0f) {
    const float cap = p.softcap, inv_cap = 1.0f / p.softcap;
    Map1(scores, scores, n, [cap, inv_cap](auto d, auto v) {
      return hn::Mul(hn::Tanh(d, hn::Mul(v, hn::Set(d, inv_cap))), hn::Set(d, cap));
    });
  }
  const float max = MaxOf(scores, n);
  const double sum =
      MapSumF64(scores, scores, n, [max](auto d, auto v) { return ExpF(d, hn::Sub(v, hn::Set(d, max))); });
  const float inv = static_cast<float>(1.0 / sum);
  if (q8) {
    Map1(scores, scores, n, [inv](auto d, auto v) { return hn::Mul(v, hn::Set(d, inv)); });
  } else {
    Map1(scores, scores, n, [inv](auto d, auto v) { return RoundToF16(d, hn::Mul(v, hn::Set(d, inv))); });
  }
  float* o = out + (t * p.n_head + h) * p.head_dim_v;
  std::fill(o, o + dv, 0.0f);
  for_each_run(kv, first, last, [&](int64_t j, int64_t count, const uint8_t*, const uint8_t* v_rows) {
    if (q8) {
      WeightedValuesQ8(scores + j, v_rows + v_offset, row_bytes, static_cast<size_t>(count), dv, o);
    } else {
      WeightedValues(scores + j, reinterpret_cast<const uint16_t*>(v_rows + v_offset), row_bytes / 2,
                     static_cast<size_t>(count), dv, o);
    }
  });
}

}  // namespace hearth::cpu::HWY_NAMESPACE
HWY_AFTER_NAMESPACE();

#if HWY_ONCE

#include <cmath>
#include <vector>

#include "backends/cpu/ops_dispatch.h"
#include "core/thread_pool.h"

namespace hearth::cpu {

HWY_EXPORT(AttendImpl);

namespace {

// The reference for one (token, head) pair, written as plainly as the numerics
// allow: f16 query (or q8_0 with exact integer dots), f32 dot products, softmax
// with a double denominator, f16 probabilities (f32 for q8_0 values), f32
// weighted sum in position order.
void attend_scalar(const AttentionParams& p, const float* q, const KvLayerView& kv, float* out, float* scratch,
                   int64_t t, int64_t h) {
  const int64_t kv_head = h / (p.n_head / p.n_head_kv);
  int64_t first, last;
  visible_range(p, t, &first, &last);
  const int64_t n = last - first + 1;
  const bool q8 = kv.type == DType::kQ8_0;
  const int64_t k_offset = head_offset(kv.type, kv_head, p.head_dim_k);
  const int64_t v_offset = head_offset(kv.type, kv_head, p.head_dim_v);
  float* qr = scratch;
  float* qd = scratch + round_up16(p.head_dim_k);
  float* scores = scratch + query_floats(p);
  const float* qh = q + (t * p.n_head + h) * p.head_dim_k;
  if (q8) {
    quantize_query_q8(qh, p.head_dim_k, qr, qd);
  } else {
    for (int64_t i = 0; i < p.head_dim_k; ++i) qr[i] = f16_to_f32(f32_to_f16(qh[i]));
  }

  float max = -INFINITY;
  for_each_run(kv, first, last, [&](int64_t j0, int64_t count, const uint8_t* k_rows, const uint8_t*) {
    for (int64_t j = j0; j < j0 + count; ++j) {
      const uint8_t* row = k_rows + (j - j0) * kv.row_bytes + k_offset;
      float s = 0.0f;
      if (q8) {
        for (int64_t b = 0; b < p.head_dim_k / kQ8; ++b) {
          const uint8_t* block = row + b * static_cast<int64_t>(sizeof(quant::BlockQ8_0));
          int32_t dot = 0;
          for (int64_t i = 0; i < kQ8; ++i) dot += static_cast<int32_t>(qr[b * kQ8 + i]) * q8_values(block)[i];
          s += qd[b] * q8_scale(block) * static_cast<float>(dot);
        }
      } else {
        const auto* k = reinterpret_cast<const uint16_t*>(row);
        for (int64_t i = 0; i < p.head_dim_k; ++i) s += qr[i] * f16_to_f32(k[i]);
      }
      s *= p.scale;
      // llama.cpp caps with a multiply by 1/softcap, not a division.
      if (p.softcap > 0.0f) s = std::tanh(s * (1.0f / p.softcap)) * p.softcap;
      scores[j] = s;
      max = std::max(max, s);
    }
  });
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    scores[j] = exp_f32(scores[j] - max);
    sum += static_cast<double>(scores[j]);
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) scores[j] = q8 ? scores[j] * inv : f16_to_f32(f32_to_f16(scores[j] * inv));

  float* o = out + (t * p.n_head + h) * p.head_dim_v;
  for (int64_t i = 0; i < p.head_dim_v; ++i) o[i] = 0.0f;
  for_each_run(kv, first, last, [&](int64_t j0, int64_t count, const uint8_t*, const uint8_t* v_rows) {
    for (int64_t j = j0; j < j0 + count; ++j) {
      const uint8_t* row = v_rows + (j - j0) * kv.row_bytes + v_offset;
      if (q8) {
        for (int64_t b = 0; b < p.head_dim_v / kQ8; ++b) {
          const uint8_t* block = row + b * static_cast<int64_t>(sizeof(quant::BlockQ8_0));
          const float w = scores[j] * q8_scale(block);
          for (int64_t i = 0; i < kQ8; ++i) o[b * kQ8 + i] += w * static_cast<float>(q8_values(block)[i]);
        }
      } else {
        const auto* v = reinterpret_cast<const uint16_t*>(row);
        for (int64_t i = 0; i < p.head_dim_v; ++i) o[i] += scores[j] * f16_to_f32(v[i]);
      }
    }
  });
}

}  // namespace

bool attention_supports(DType type, int64_t head_dim_k, int64_t head_dim_v) {
  if (type == DType::kF16) return true;
  return type == DType::kQ8_0 && head_dim_k % kQ8 == 0 && head_dim_v % kQ8 == 0 && head_dim_k <= kMaxHeadDim;
}

int64_t attention_scratch_floats(const AttentionParams& p, int n_threads) {
  return std::max(1, n_threads) * thread_floats(p);
}

void attention_batch(std::span<const AttentionJob> jobs, float* scratch, ThreadPool* pool) {
  int64_t per_thread = 0, n_tasks = 0;
  for (const AttentionJob& j : jobs) {
    if (j.params.n_tokens <= 0 || j.params.n_head <= 0 || j.params.n_head_kv <= 0) continue;
    per_thread = std::max(per_thread, thread_floats(j.params));
    n_tasks += j.params.n_tokens * j.params.n_head;
  }
  if (n_tasks == 0) return;
  const bool use_ref = detail::use_ref_ops();
  auto task = [&](int64_t task, int thread) {
    // Jobs are few (one per sequence): a scan finds the task's job.
    size_t i = 0;
    for (;; ++i) {
      const AttentionParams& p = jobs[i].params;
      const int64_t count = p.n_tokens > 0 && p.n_head > 0 && p.n_head_kv > 0 ? p.n_tokens * p.n_head : 0;
      if (task < count) break;
      task -= count;
    }
    const AttentionJob& j = jobs[i];
    const int64_t t = task / j.params.n_head, h = task % j.params.n_head;
    float* s = scratch + thread * per_thread;
    if (use_ref) {
      attend_scalar(j.params, j.q, j.kv, j.out, s, t, h);
    } else {
      HWY_DYNAMIC_DISPATCH(AttendImpl)(j.params, j.q, j.kv, j.out, s, t, h);
    }
  };
  if (pool) {
    pool->parallel_for(n_tasks, task);
  } else {
    for (int64_t i = 0; i < n_tasks; ++i) task(i, 0);
  }
}

void attention(const AttentionParams& p, const float* q, const KvLayerView& kv, float* out, float* scratch,
               ThreadPool* pool) {
  const AttentionJob job{p, q, kv, out};
  attention_batch(std::span(&job, 1), scratch, pool);
}

namespace ref {

void attention(const AttentionParams& p, const float* q, const KvLayerView& kv, float* out) {
  if (p.n_tokens <= 0 || p.n_head <= 0 || p.n_head_kv <= 0) return;
  std::vector<float> scratch(static_cast<size_t>(thread_floats(p)));
  for (int64_t t = 0; t < p.n_tokens; ++t)
    for (int64_t h = 0; h < p.n_head; ++h) attend_scalar(p, q, kv, out, scratch.data(), t, h);
}

}  // namespace ref
}  // namespace hearth::cpu

#endif  // HWY_ONCE
