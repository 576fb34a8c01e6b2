// Causal grouped-query attention over the f16 KV cache (sliding window, softcap):
// scalar reference and Highway vector path, threaded over (token, head) pairs.
#undef HWY_TARGET_INCLUDE
#define HWY_TARGET_INCLUDE "backends/cpu/attention.cpp"
#include <hwy/foreach_target.h>  // IWYU pragma: keep
#include <hwy/highway.h>

#include <algorithm>
#include <cstdint>

#include "backends/cpu/ops.h"
#include "backends/cpu/simd_math-inl.h"
#include "core/half.h"

#ifndef HEARTH_BACKENDS_CPU_ATTENTION_COMMON
#define HEARTH_BACKENDS_CPU_ATTENTION_COMMON
namespace hearth::cpu {
namespace {

// Per-thread scratch: the f16-rounded query row, then one score per visible
// position. Both start on 64-byte boundaries when scratch does.
inline int64_t round_up16(int64_t n) { return (n + 15) / 16 * 16; }
inline int64_t query_floats(const AttentionParams& p) { return round_up16(p.head_dim_k); }
inline int64_t thread_floats(const AttentionParams& p) {
  return query_floats(p) + round_up16(p.n_past + p.n_tokens);
}

// Positions [first, last] that the query of new token t sees.
inline void visible_range(const AttentionParams& p, int64_t t, int64_t* first, int64_t* last) {
  *last = p.n_past + t;
  *first = p.sliding_window > 0 ? std::max<int64_t>(0, *last - p.sliding_window + 1) : 0;
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

// out[0..dim) = sum_j probs[j] * v_j for the n value rows starting at v. Blocks of
// four vectors of out stay in registers while the rows stream past.
HWY_INLINE void WeightedValues(const float* probs, const uint16_t* v, size_t stride, size_t n, size_t dim,
                               float* out) {
  const hn::ScalableTag<float> d;
  const size_t N = hn::Lanes(d);
  size_t i = 0;
  for (; i + 4 * N <= dim; i += 4 * N) {
    auto a0 = hn::Zero(d), a1 = hn::Zero(d), a2 = hn::Zero(d), a3 = hn::Zero(d);
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
    auto a = hn::Zero(d);
    const uint16_t* vj = v + i;
    for (size_t j = 0; j < n; ++j, vj += stride) a = hn::MulAdd(hn::Set(d, probs[j]), LoadF16(d, vj), a);
    hn::StoreU(a, d, out + i);
  }
  for (; i < dim; ++i) {
    float a = 0.0f;
    const uint16_t* vj = v + i;
    for (size_t j = 0; j < n; ++j, vj += stride) a += probs[j] * f16_to_f32(*vj);
    out[i] = a;
  }
}

// One (new token t, query head h) pair; scratch is this thread's buffer.
void AttendImpl(const AttentionParams& p, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                float* out, float* scratch, int64_t t, int64_t h) {
  const int64_t kv_head = h / (p.n_head / p.n_head_kv);
  int64_t first, last;
  visible_range(p, t, &first, &last);
  const size_t n = static_cast<size_t>(last - first + 1);
  const size_t dk = static_cast<size_t>(p.head_dim_k), dv = static_cast<size_t>(p.head_dim_v);
  const size_t stride = static_cast<size_t>(p.kv_stride);
  float* qr = scratch;
  float* scores = scratch + query_floats(p);

  // The query is read whole before out is written, so out may be q itself.
  Map1(q + (t * p.n_head + h) * p.head_dim_k, qr, dk, [](auto d, auto v) { return RoundToF16(d, v); });
  QueryKeyScores(qr, k_cache + first * p.kv_stride + kv_head * p.head_dim_k, stride, n, dk, p.scale, scores);
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
  Map1(scores, scores, n, [inv](auto d, auto v) { return RoundToF16(d, hn::Mul(v, hn::Set(d, inv))); });
  WeightedValues(scores, v_cache + first * p.kv_stride + kv_head * p.head_dim_v, stride, n, dv,
                 out + (t * p.n_head + h) * p.head_dim_v);
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
// allow: f16 query, f32 dot products, softmax with a double denominator, f16
// probabilities, f32 weighted sum in position order.
void attend_scalar(const AttentionParams& p, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
                   float* out, float* scratch, int64_t t, int64_t h) {
  const int64_t kv_head = h / (p.n_head / p.n_head_kv);
  int64_t first, last;
  visible_range(p, t, &first, &last);
  const int64_t n = last - first + 1;
  float* qr = scratch;
  float* scores = scratch + query_floats(p);
  const float* qh = q + (t * p.n_head + h) * p.head_dim_k;
  for (int64_t i = 0; i < p.head_dim_k; ++i) qr[i] = f16_to_f32(f32_to_f16(qh[i]));

  float max = -INFINITY;
  for (int64_t j = 0; j < n; ++j) {
    const uint16_t* k = k_cache + (first + j) * p.kv_stride + kv_head * p.head_dim_k;
    float s = 0.0f;
    for (int64_t i = 0; i < p.head_dim_k; ++i) s += qr[i] * f16_to_f32(k[i]);
    s *= p.scale;
    // llama.cpp caps with a multiply by 1/softcap, not a division.
    if (p.softcap > 0.0f) s = std::tanh(s * (1.0f / p.softcap)) * p.softcap;
    scores[j] = s;
    max = std::max(max, s);
  }
  double sum = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    scores[j] = std::exp(scores[j] - max);
    sum += static_cast<double>(scores[j]);
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t j = 0; j < n; ++j) scores[j] = f16_to_f32(f32_to_f16(scores[j] * inv));

  float* o = out + (t * p.n_head + h) * p.head_dim_v;
  for (int64_t i = 0; i < p.head_dim_v; ++i) o[i] = 0.0f;
  for (int64_t j = 0; j < n; ++j) {
    const uint16_t* v = v_cache + (first + j) * p.kv_stride + kv_head * p.head_dim_v;
    for (int64_t i = 0; i < p.head_dim_v; ++i) o[i] += scores[j] * f16_to_f32(v[i]);
  }
}

}  // namespace

int64_t attention_scratch_floats(const AttentionParams& p, int n_threads) {
  return std::max(1, n_threads) * thread_floats(p);
}

void attention(const AttentionParams& p, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
               float* out, float* scratch, ThreadPool* pool) {
  if (p.n_tokens <= 0 || p.n_head <= 0 || p.n_head_kv <= 0) return;
  const int64_t per_thread = thread_floats(p);
  const bool use_ref = detail::use_ref_ops();
  auto task = [&](int64_t task, int thread) {
    const int64_t t = task / p.n_head, h = task % p.n_head;
    float* s = scratch + thread * per_thread;
    if (use_ref) {
      attend_scalar(p, q, k_cache, v_cache, out, s, t, h);
    } else {
      HWY_DYNAMIC_DISPATCH(AttendImpl)(p, q, k_cache, v_cache, out, s, t, h);
    }
  };
  const int64_t n_tasks = p.n_tokens * p.n_head;
  if (pool) {
    pool->parallel_for(n_tasks, task);
  } else {
    for (int64_t i = 0; i < n_tasks; ++i) task(i, 0);
  }
}

namespace ref {

void attention(const AttentionParams& p, const float* q, const uint16_t* k_cache, const uint16_t* v_cache,
               float* out) {
  if (p.n_tokens <= 0 || p.n_head <= 0 || p.n_head_kv <= 0) return;
  std::vector<float> scratch(static_cast<size_t>(thread_floats(p)));
  for (int64_t t = 0; t < p.n_tokens; ++t)
    for (int64_t h = 0; h < p.n_head; ++h) attend_scalar(p, q, k_cache, v_cache, out, scratch.data(), t, h);
}

}  // namespace ref
}  // namespace hearth::cpu

#endif  // HWY_ONCE
