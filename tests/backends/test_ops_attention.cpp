// Tests of causal attention over the KV cache: the threaded vector path against
// ref::, ref:: against naive softmax attention in double, causality, the sliding
// window, softcap, scratch bounds and grouped-query head mapping; caches in
// blocks against contiguous ones (bit for bit), and q8_0 caches.
#include <gtest/gtest.h>

#include <cmath>
#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <tuple>
#include <utility>

#include "backends/cpu/ops.h"
#include "core/half.h"
#include "core/thread_pool.h"
#include "quant/quantize.h"
#include "test_ops_util.h"

namespace hearth::cpu {
namespace {

using testing::random_floats;

constexpr uint16_t kF16NaN = 0x7e00;

// Attention parameters and the layout of a contiguous f16 test cache: kv_stride
// elements per position (the rows may carry padding).
struct CacheParams : AttentionParams {
  int64_t kv_stride = 0;
};

// A cache for positions 0 .. n_past+n_tokens-1 with a few padding elements at the
// end of every position and a few unwritten positions after the last, all NaN:
// a kernel that reads anything it should not turns its output into NaN.
struct Problem {
  CacheParams p;
  std::vector<float> q;
  std::vector<uint16_t> k, v;

  Problem(CacheParams params, uint32_t seed, float q_range = 1.0f) : p(params) {
    const int64_t n_ctx = p.n_past + p.n_tokens;
    q = random_floats(p.n_tokens * p.n_head * p.head_dim_k, -q_range, q_range, seed);
    const int64_t slots = (n_ctx + 3) * p.kv_stride;
    k.assign(slots, kF16NaN);
    v.assign(slots, kF16NaN);
    const auto kr = random_floats(slots, -1.0f, 1.0f, seed + 1);
    const auto vr = random_floats(slots, -1.0f, 1.0f, seed + 2);
    for (int64_t pos = 0; pos < n_ctx; ++pos) {
      for (int64_t i = 0; i < p.n_head_kv * p.head_dim_k; ++i) k[pos * p.kv_stride + i] = f32_to_f16(kr[pos * p.kv_stride + i]);
      for (int64_t i = 0; i < p.n_head_kv * p.head_dim_v; ++i) v[pos * p.kv_stride + i] = f32_to_f16(vr[pos * p.kv_stride + i]);
    }
  }
  int64_t out_size() const { return p.n_tokens * p.n_head * p.head_dim_v; }
  KvLayerView view() const {
    KvLayerView kv;
    kv.k = reinterpret_cast<const uint8_t*>(k.data());
    kv.v = reinterpret_cast<const uint8_t*>(v.data());
    kv.row_bytes = p.kv_stride * 2;
    return kv;
  }

  std::vector<float> run_ref() const {
    std::vector<float> out(out_size(), -1.0f);
    ref::attention(p, q.data(), view(), out.data());
    return out;
  }
  // The public function, with exactly the scratch it asks for plus a guard zone
  // that must come back untouched.
  std::vector<float> run(ThreadPool* pool) const {
    const int threads = pool ? pool->size() : 1;
    const int64_t need = attention_scratch_floats(p, threads);
    std::vector<float> scratch(need + 64, 12345.0f);
    std::vector<float> out(out_size(), -1.0f);
    attention(p, q.data(), view(), out.data(), scratch.data(), pool);
    for (int64_t i = need; i < need + 64; ++i) EXPECT_EQ(scratch[i], 12345.0f) << "scratch overrun";
    return out;
  }
};

CacheParams params(int64_t n_head, int64_t n_head_kv, int64_t head_dim, int64_t n_past, int64_t n_tokens,
                       int64_t window = 0, float softcap = 0.0f, int64_t pad = 8) {
  CacheParams p;
  p.n_tokens = n_tokens;
  p.n_past = n_past;
  p.n_head = n_head;
  p.n_head_kv = n_head_kv;
  p.head_dim_k = head_dim;
  p.head_dim_v = head_dim;
  p.kv_stride = n_head_kv * head_dim + pad;
  p.scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  p.sliding_window = window;
  p.softcap = softcap;
  return p;
}

std::string describe(const AttentionParams& p) {
  return "heads " + std::to_string(p.n_head) + "/" + std::to_string(p.n_head_kv) + " dim " +
         std::to_string(p.head_dim_k) + "/" + std::to_string(p.head_dim_v) + " past " + std::to_string(p.n_past) + " tokens " +
         std::to_string(p.n_tokens) + " window " + std::to_string(p.sliding_window) + " softcap " +
         std::to_string(p.softcap);
}

// Outputs are averages of values in [-1, 1]. Each probability is rounded to f16,
// so where the two paths' f32 scores differ by an ulp a probability can land on the
// neighbouring f16 value: at most 2^-10 of itself, so at most ~1e-3 for the whole
// output. Such flips are rare, so the mean error must stay near f32 rounding
// (observed ~1e-7; skipping either f16 rounding gives ~1e-5).
// With a softcap, tanh's few ulp (Highway's vs libm's) times the cap move scores
// by ~1e-5 absolute, so the mean bound is looser there.
void expect_close_to_ref(const std::vector<float>& got, const std::vector<float>& want, const std::string& what,
                         double mean_bound = 1e-6) {
  ASSERT_EQ(got.size(), want.size());
  double total = 0.0;
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_FALSE(std::isnan(got[i])) << what << " i=" << i;
    ASSERT_NEAR(got[i], want[i], 1e-3f) << what << " i=" << i;
    total += std::fabs(got[i] - want[i]);
  }
  EXPECT_LT(total / got.size(), mean_bound) << what;
}

class AttentionPath : public testing::VectorPathTest {};

TEST_P(AttentionPath, ThreadedMatchesReference) {
  ThreadPool pool(3);
  const CacheParams cases[] = {
      params(9, 3, 64, 0, 1),       params(9, 3, 64, 0, 7),       params(9, 3, 64, 37, 1),
      params(9, 3, 64, 100, 13),    params(4, 1, 128, 0, 5),      params(4, 1, 128, 300, 1),
      params(4, 1, 80, 21, 3),      params(2, 2, 40, 5, 4),       params(3, 1, 7, 9, 2),
      params(9, 3, 64, 100, 9, 17), params(4, 1, 64, 50, 6, 5),   params(4, 2, 64, 0, 20, 3),
      params(9, 3, 64, 60, 4, 0, 50.0f), params(4, 1, 256, 40, 3, 0, 30.0f), params(4, 4, 64, 30, 3, 9, 20.0f),
  };
  // Keys and values of different widths (the cache stride fits the wider).
  CacheParams narrow_v = params(6, 2, 64, 30, 3);
  narrow_v.head_dim_v = 24;
  CacheParams wide_v = params(4, 2, 32, 12, 2, 7);
  wide_v.head_dim_v = 72;
  wide_v.kv_stride = 2 * 72 + 3;
  std::vector<CacheParams> all(std::begin(cases), std::end(cases));
  all.push_back(narrow_v);
  all.push_back(wide_v);
  for (const CacheParams& p : all) {
    // Softcap cases get large scores so that the cap actually bends them.
    const Problem prob(p, 50 + p.head_dim_k + p.n_past, p.softcap > 0.0f ? 40.0f : 1.0f);
    const auto want = prob.run_ref();
    const double mean_bound = p.softcap > 0.0f ? 1e-5 : 1e-6;
    expect_close_to_ref(prob.run(&pool), want, describe(p) + " pool", mean_bound);
    expect_close_to_ref(prob.run(nullptr), want, describe(p) + " inline", mean_bound);
  }
}

TEST_P(AttentionPath, LongContextMatchesReference) {
  ThreadPool pool(2);
  const Problem prob(params(4, 1, 64, 4000, 2), 60);
  expect_close_to_ref(prob.run(&pool), prob.run_ref(), "4002 positions");
}

// Several sequences of different lengths in one call give each the very bits
// a call of its own gives it.
TEST_P(AttentionPath, BatchOfSequencesIsBitIdenticalToSeparateCalls) {
  ThreadPool pool(3);
  const std::vector<Problem> seqs = {Problem(params(9, 3, 64, 0, 1), 71), Problem(params(9, 3, 64, 40, 1), 72),
                                     Problem(params(9, 3, 64, 7, 5), 73), Problem(params(9, 3, 64, 120, 1), 74),
                                     Problem(params(9, 3, 64, 3, 12), 75)};
  std::vector<AttentionJob> jobs;
  std::vector<std::vector<float>> outs;
  int64_t scratch_floats = 0;
  for (const Problem& s : seqs) {
    outs.emplace_back(s.out_size(), -1.0f);
    scratch_floats = std::max(scratch_floats, attention_scratch_floats(s.p, pool.size()));
  }
  for (size_t i = 0; i < seqs.size(); ++i) jobs.push_back({seqs[i].p, seqs[i].q.data(), seqs[i].view(), outs[i].data()});
  std::vector<float> scratch(scratch_floats + 64, 12345.0f);
  attention_batch(jobs, scratch.data(), &pool);
  for (int64_t i = scratch_floats; i < scratch_floats + 64; ++i) ASSERT_EQ(scratch[i], 12345.0f) << "scratch overrun";
  for (size_t i = 0; i < seqs.size(); ++i) {
    const std::vector<float> alone = seqs[i].run(&pool);
    ASSERT_EQ(outs[i].size(), alone.size());
    for (size_t e = 0; e < alone.size(); ++e) ASSERT_EQ(outs[i][e], alone[e]) << "sequence " << i << " element " << e;
  }
}

TEST_P(AttentionPath, OutputMayBeTheQueryBuffer) {
  const Problem prob(params(9, 3, 64, 20, 3), 61);
  const auto want = prob.run(nullptr);
  auto q = prob.q;
  const int64_t need = attention_scratch_floats(prob.p, 1);
  std::vector<float> scratch(need);
  attention(prob.p, q.data(), prob.view(), q.data(), scratch.data(), nullptr);
  EXPECT_EQ(q, want);
}

// A key or value at a later position must not reach an earlier token's output.
TEST_P(AttentionPath, IsCausal) {
  const CacheParams p = params(4, 2, 64, 10, 6);
  Problem prob(p, 62);
  const auto before_vec = prob.run(nullptr), before_ref = prob.run_ref();
  const int64_t changed_token = 3, pos = p.n_past + changed_token;
  for (int64_t i = 0; i < p.n_head_kv * p.head_dim_k; ++i) {
    prob.k[pos * p.kv_stride + i] = f32_to_f16(5.0f);
    prob.v[pos * p.kv_stride + i] = f32_to_f16(-3.0f);
  }
  for (const auto& [before, after] : {std::pair(before_vec, prob.run(nullptr)), std::pair(before_ref, prob.run_ref())}) {
    const int64_t row = p.n_head * p.head_dim_v;
    for (int64_t t = 0; t < p.n_tokens; ++t) {
      bool same = true;
      for (int64_t i = 0; i < row; ++i) same &= after[t * row + i] == before[t * row + i];
      if (t < changed_token) {
        EXPECT_TRUE(same) << "token " << t << " saw position " << pos;
      } else {
        EXPECT_FALSE(same) << "token " << t << " did not see position " << pos;
      }
    }
  }
}

// A query at position P sees P-window < pos <= P: changing position P-window leaves
// it alone, changing P-window+1 does not.
TEST_P(AttentionPath, SlidingWindowBounds) {
  const int64_t window = 6;
  const CacheParams p = params(2, 1, 32, 20, 1, window);
  const int64_t query_pos = p.n_past;
  for (int64_t pos : {query_pos - window, query_pos - window + 1}) {
    Problem prob(p, 63);
    const auto before_vec = prob.run(nullptr), before_ref = prob.run_ref();
    for (int64_t i = 0; i < p.head_dim_k; ++i) prob.v[pos * p.kv_stride + i] = f32_to_f16(0.9f);
    for (const auto& [before, after] :
         {std::pair(before_vec, prob.run(nullptr)), std::pair(before_ref, prob.run_ref())}) {
      if (pos <= query_pos - window) {
        EXPECT_EQ(after, before) << "position " << pos << " is outside the window";
      } else {
        EXPECT_NE(after, before) << "position " << pos << " is inside the window";
      }
    }
  }
  // A window of one sees only itself: the output is its value row, exactly.
  const CacheParams self = params(3, 3, 16, 7, 2, 1);
  const Problem prob(self, 64);
  for (const auto& out : {prob.run(nullptr), prob.run_ref()}) {
    for (int64_t t = 0; t < self.n_tokens; ++t)
      for (int64_t h = 0; h < self.n_head; ++h)
        for (int64_t i = 0; i < self.head_dim_v; ++i)
          ASSERT_EQ(out[(t * self.n_head + h) * self.head_dim_v + i],
                    f16_to_f32(prob.v[(self.n_past + t) * self.kv_stride + h * self.head_dim_v + i]));
  }
}

// The f16 roundings are part of the definition (they decide parity with the
// reference runtime), so check that each one happens.
TEST_P(AttentionPath, RoundsQueryAndProbabilitiesToF16) {
  // Equal scores over three positions: every probability is f16(1/3) and, with all
  // values 1, the output is 3 * f16(1/3) = 0.999755859375 rather than 1.
  {
    CacheParams p = params(1, 1, 8, 2, 1, 0, 0.0f, 0);
    Problem prob(p, 80);
    std::fill(prob.q.begin(), prob.q.end(), 0.0f);
    std::fill(prob.v.begin(), prob.v.begin() + 3 * p.kv_stride, f32_to_f16(1.0f));
    const float want = 3.0f * f16_to_f32(f32_to_f16(1.0f / 3.0f));
    for (const auto& out : {prob.run(nullptr), prob.run_ref()})
      for (float o : out) EXPECT_EQ(o, want);
  }
  // q = (0.3, 0.25): f16(0.3) = 0.300048828125. Key 0 = (0, 1200) scores 300 exactly,
  // key 1 = (1000, 0) scores 300.049 with the f16 query but 300 with the f32 one,
  // so the weight of value 1 (ones; value 0 is zeros) is f16(sigmoid(0.0488)) ~ 0.512, not 0.5.
  {
    CacheParams p = params(1, 1, 2, 1, 1, 0, 0.0f, 0);
    p.scale = 1.0f;
    Problem prob(p, 81);
    prob.q = {0.3f, 0.25f};
    prob.k[0] = f32_to_f16(0.0f);
    prob.k[1] = f32_to_f16(1200.0f);
    prob.k[2] = f32_to_f16(1000.0f);
    prob.k[3] = f32_to_f16(0.0f);
    prob.v[0] = prob.v[1] = f32_to_f16(0.0f);
    prob.v[2] = prob.v[3] = f32_to_f16(1.0f);
    const double gap = 1000.0 * f16_to_f32(f32_to_f16(0.3f)) - 300.0;
    const float want = f16_to_f32(f32_to_f16(static_cast<float>(1.0 / (1.0 + std::exp(-gap)))));
    for (const auto& out : {prob.run(nullptr), prob.run_ref()}) {
      EXPECT_NEAR(out[0], want, 1e-3f);
      EXPECT_NEAR(out[1], want, 1e-3f);
    }
  }
}

// ---- caches in blocks, q8_0 caches ----

// The public function or the reference on any cache view.
std::vector<float> attend(const CacheParams& p, const std::vector<float>& q, const KvLayerView& kv, ThreadPool* pool,
                          bool reference) {
  std::vector<float> out(p.n_tokens * p.n_head * p.head_dim_v, -1.0f);
  if (reference) {
    ref::attention(p, q.data(), kv, out.data());
  } else {
    std::vector<float> scratch(attention_scratch_floats(p, pool ? pool->size() : 1));
    attention(p, q.data(), kv, out.data(), scratch.data(), pool);
  }
  return out;
}

// A contiguous cache's first n rows moved into blocks of block_positions, in a
// shuffled block order, keys then values in each block as runtime::KvPool lays
// them out, with 0xff bytes (NaN in f16 and as a q8_0 scale) everywhere else.
struct BlockedCache {
  std::vector<uint8_t> bytes;
  std::vector<int32_t> blocks;
  KvLayerView view;

  BlockedCache(const KvLayerView& from, int64_t n, int64_t block_positions, uint32_t seed) {
    const int64_t n_blocks = (n + block_positions - 1) / block_positions;
    blocks.resize(n_blocks);
    for (int64_t b = 0; b < n_blocks; ++b) blocks[b] = static_cast<int32_t>(b);
    std::shuffle(blocks.begin(), blocks.end(), std::mt19937(seed));
    const int64_t stride = 2 * block_positions * from.row_bytes + 64;
    bytes.assign(n_blocks * stride, 0xff);
    for (int64_t pos = 0; pos < n; ++pos) {
      uint8_t* row = bytes.data() + blocks[pos / block_positions] * stride + (pos % block_positions) * from.row_bytes;
      std::memcpy(row, from.k + pos * from.row_bytes, from.row_bytes);
      std::memcpy(row + block_positions * from.row_bytes, from.v + pos * from.row_bytes, from.row_bytes);
    }
    view = from;
    view.k = bytes.data();
    view.v = bytes.data() + block_positions * from.row_bytes;
    view.block_positions = block_positions;
    view.block_stride = stride;
    view.blocks = blocks.data();
  }
};

// The f16 cache of a problem re-quantized to q8_0 rows (keys and values of equal
// width), and the values those rows stand for.
struct Q8Cache {
  std::vector<uint8_t> k, v;
  std::vector<float> k_values, v_values;  // dequantized, [position][kv_dim]
  int64_t kv_dim = 0, row_bytes = 0;

  explicit Q8Cache(const Problem& prob) {
    const CacheParams& p = prob.p;
    kv_dim = p.n_head_kv * p.head_dim_k;
    row_bytes = dtype_row_bytes(DType::kQ8_0, kv_dim);
    const int64_t n = p.n_past + p.n_tokens;
    k.resize(n * row_bytes);
    v.resize(n * row_bytes);
    k_values.resize(n * kv_dim);
    v_values.resize(n * kv_dim);
    std::vector<float> row(kv_dim);
    for (int64_t pos = 0; pos < n; ++pos) {
      for (auto [src, dst, values] : {std::tuple(&prob.k, &k, &k_values), std::tuple(&prob.v, &v, &v_values)}) {
        for (int64_t i = 0; i < kv_dim; ++i) row[i] = f16_to_f32((*src)[pos * p.kv_stride + i]);
        quant::quantize_row(DType::kQ8_0, row.data(), dst->data() + pos * row_bytes, kv_dim);
        quant::dequantize_row(DType::kQ8_0, dst->data() + pos * row_bytes, values->data() + pos * kv_dim, kv_dim);
      }
    }
  }
  KvLayerView view() const {
    KvLayerView kv;
    kv.type = DType::kQ8_0;
    kv.k = k.data();
    kv.v = v.data();
    kv.row_bytes = row_bytes;
    return kv;
  }
};

const CacheParams kBlockCases[] = {
    params(9, 3, 64, 0, 7),          params(9, 3, 64, 37, 1),  params(4, 1, 128, 60, 5, 0, 0.0f, 0),
    params(4, 2, 64, 40, 6, 9),      params(4, 1, 32, 30, 3, 0, 30.0f, 0),
};

TEST_P(AttentionPath, BlockedCacheIsBitIdenticalToContiguous) {
  ThreadPool pool(2);
  for (const CacheParams& p : kBlockCases) {
    const Problem prob(p, 90 + p.n_past, p.softcap > 0.0f ? 40.0f : 1.0f);
    const Q8Cache q8(prob);
    const int64_t n = p.n_past + p.n_tokens;
    for (const KvLayerView& contiguous : {prob.view(), q8.view()}) {
      for (int64_t block : {1, 3, 16}) {
        const BlockedCache blocked(contiguous, n, block, static_cast<uint32_t>(block));
        const std::string what = describe(p) + " " + std::string(dtype_name(contiguous.type)) + " blocks of " +
                                 std::to_string(block);
        for (bool reference : {false, true})
          EXPECT_EQ(attend(p, prob.q, blocked.view, &pool, reference),
                    attend(p, prob.q, contiguous, &pool, reference))
              << what << (reference ? " ref" : " vector");
      }
    }
  }
}

TEST_P(AttentionPath, Q8CacheMatchesReference) {
  ThreadPool pool(3);
  for (const CacheParams& p : kBlockCases) {
    const Problem prob(p, 100 + p.n_past, p.softcap > 0.0f ? 40.0f : 1.0f);
    const Q8Cache q8(prob);
    const auto want = attend(p, prob.q, q8.view(), nullptr, true);
    expect_close_to_ref(attend(p, prob.q, q8.view(), &pool, false), want, describe(p) + " q8_0",
                        p.softcap > 0.0f ? 1e-5 : 1e-6);
  }
}

INSTANTIATE_TEST_SUITE_P(Paths, AttentionPath, ::testing::ValuesIn(testing::all_vector_paths()),
                         testing::path_name);

// Softmax attention with everything in double and no rounding of q or of the
// probabilities. key(pos, i) and value(pos, i) read the cache as stored, i
// counting across the kv heads.
template <class Key, class Val>
std::vector<double> naive_attention(const CacheParams& p, const std::vector<float>& q, Key key, Val value) {
  std::vector<double> out(p.n_tokens * p.n_head * p.head_dim_v, 0.0);
  for (int64_t t = 0; t < p.n_tokens; ++t) {
    const int64_t query_pos = p.n_past + t;
    for (int64_t h = 0; h < p.n_head; ++h) {
      const int64_t kvh = h * p.n_head_kv / p.n_head;
      std::vector<double> w;
      std::vector<int64_t> where;
      for (int64_t pos = 0; pos <= query_pos; ++pos) {
        if (p.sliding_window > 0 && pos <= query_pos - p.sliding_window) continue;
        double s = 0.0;
        for (int64_t i = 0; i < p.head_dim_k; ++i)
          s += static_cast<double>(q[(t * p.n_head + h) * p.head_dim_k + i]) * key(pos, kvh * p.head_dim_k + i);
        s *= p.scale;
        if (p.softcap > 0.0f) s = p.softcap * std::tanh(s / p.softcap);
        w.push_back(s);
        where.push_back(pos);
      }
      double mx = -1e300, sum = 0.0;
      for (double s : w) mx = std::max(mx, s);
      for (double& s : w) sum += (s = std::exp(s - mx));
      for (size_t j = 0; j < w.size(); ++j)
        for (int64_t i = 0; i < p.head_dim_v; ++i)
          out[(t * p.n_head + h) * p.head_dim_v + i] += w[j] / sum * value(where[j], kvh * p.head_dim_v + i);
    }
  }
  return out;
}

// The same over a problem's f16 cache.
std::vector<double> naive_attention(const Problem& prob) {
  const CacheParams& p = prob.p;
  return naive_attention(
      p, prob.q, [&](int64_t pos, int64_t i) { return f16_to_f32(prob.k[pos * p.kv_stride + i]); },
      [&](int64_t pos, int64_t i) { return f16_to_f32(prob.v[pos * p.kv_stride + i]); });
}

// The f16 query moves each score by up to ~2^-11 of |q||k| scale, and each f16
// probability is off by up to 2^-11 of itself: with values in [-1, 1] that bounds
// the output error near 2e-3, while a wrong head, position or window would be off
// by a sizeable fraction of a value.
TEST(OpsReference, AttentionMatchesNaiveDoubleSoftmax) {
  const CacheParams cases[] = {
      params(9, 3, 64, 0, 4), params(9, 3, 64, 33, 5), params(4, 1, 128, 200, 2), params(6, 2, 32, 10, 6, 4),
      params(4, 1, 64, 50, 3, 0, 10.0f),
  };
  for (const CacheParams& p : cases) {
    const Problem prob(p, 70 + p.n_past, p.softcap > 0.0f ? 20.0f : 3.0f);
    const auto got = prob.run_ref();
    const auto want = naive_attention(prob);
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 3e-3) << describe(p) << " i=" << i;
  }
}

// The q8_0 path against softmax attention in double over the values the q8_0
// rows stand for: only the query's own q8_0 rounding (about 1/254 of its largest
// element per block) separates them.
TEST(OpsReference, Q8CacheAttentionMatchesNaiveDoubleSoftmax) {
  for (const CacheParams& p : kBlockCases) {
    const Problem prob(p, 110 + p.n_past);
    const Q8Cache q8(prob);
    const auto got = attend(p, prob.q, q8.view(), nullptr, true);
    const auto want = naive_attention(
        p, prob.q, [&](int64_t pos, int64_t i) { return q8.k_values[pos * q8.kv_dim + i]; },
        [&](int64_t pos, int64_t i) { return q8.v_values[pos * q8.kv_dim + i]; });
    for (size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-2) << describe(p) << " i=" << i;
  }
}

TEST(OpsReference, AttentionSupportsQ8OnlyForWholeBlocks) {
  EXPECT_TRUE(attention_supports(DType::kF16, 80, 80));
  EXPECT_TRUE(attention_supports(DType::kQ8_0, 64, 128));
  EXPECT_FALSE(attention_supports(DType::kQ8_0, 80, 80));
  EXPECT_FALSE(attention_supports(DType::kQ4_0, 64, 64));
}

TEST(OpsReference, AttentionScratchCoversEveryThread) {
  const AttentionParams p = params(9, 3, 64, 1000, 24);
  EXPECT_GE(attention_scratch_floats(p, 4), 4 * (1024 + 64));
  EXPECT_EQ(attention_scratch_floats(p, 4), 4 * attention_scratch_floats(p, 1));
}

}  // namespace
}  // namespace hearth::cpu
