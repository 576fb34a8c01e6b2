// The shared KV block pool: block accounting, sequences growing and shrinking,
// sessions sharing one pool (their logits must be those of sessions with their
// own), the q8_0 cache type, exhaustion as a clear error, and the waste figure
// for many concurrent sequences.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>

#include "core/error.h"
#include "runtime/kv_pool.h"
#include "runtime/session.h"
#include "temp_model.h"

namespace hearth::runtime {
namespace {

KvPoolShape shape(DType type = DType::kF16, int64_t block = 4) {
  KvPoolShape s;
  s.n_layers = 2;
  s.kv_dim = 64;
  s.type = type;
  s.block_positions = block;
  return s;
}

template <class F>
void expect_error(F&& f, ErrorCode code, const std::string& fragment) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << fragment << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(KvPool, BlockBytesFollowTheShape) {
  EXPECT_EQ(kv_block_bytes(shape()), 2 * 2 * 4 * 64 * 2);                // layers * (k, v) * positions * row
  EXPECT_EQ(kv_block_bytes(shape(DType::kQ8_0)), 2 * 2 * 4 * (2 * 34));  // two q8_0 blocks per row
  EXPECT_EQ(kv_bytes_for(shape(), 9), 3 * kv_block_bytes(shape()));
  EXPECT_EQ(parse_kv_type("q8_0"), DType::kQ8_0);
  expect_error([] { parse_kv_type("q4_0"); }, ErrorCode::kInvalidArgument, "q4_0");
  KvPoolShape odd = shape(DType::kQ8_0);
  odd.kv_dim = 48;
  expect_error([&] { kv_block_bytes(odd); }, ErrorCode::kUnsupported, "multiple of 32");
  expect_error([] { kv_block_bytes(shape(DType::kQ4_0)); }, ErrorCode::kUnsupported, "q4_0");
  expect_error([] { kv_block_bytes(shape(DType::kF16, 0)); }, ErrorCode::kInvalidArgument, "block size");
  expect_error([] { KvPool(shape(), 0); }, ErrorCode::kInvalidArgument, "blocks");
  expect_error([] { KvPool(shape(), int64_t{1} << 40); }, ErrorCode::kInvalidArgument, "blocks");
}

TEST(KvPool, TakesAllOrNothingAndReusesLowBlocksFirst) {
  KvPool pool(shape(), 5);
  std::vector<int32_t> a, b;
  ASSERT_TRUE(pool.take(3, a));
  EXPECT_EQ(a, (std::vector<int32_t>{0, 1, 2}));
  EXPECT_FALSE(pool.take(3, b));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(pool.free_blocks(), 2);
  pool.give_back(2, a);  // gives 2 and 1 back
  EXPECT_EQ(a, (std::vector<int32_t>{0}));
  ASSERT_TRUE(pool.take(2, b));
  EXPECT_EQ(b, (std::vector<int32_t>{1, 2}));
  const KvPoolStats s = pool.stats();
  EXPECT_EQ(s.blocks, 5);
  EXPECT_EQ(s.blocks_in_use, 3);
  EXPECT_EQ(s.peak_blocks_in_use, 3);
  EXPECT_EQ(s.bytes, 5 * pool.block_bytes());
}

TEST(KvSequence, GrowsShrinksAndGivesEverythingBack) {
  auto pool = std::make_shared<KvPool>(shape(), 6);
  {
    KvSequence seq(pool);
    seq.resize(5);
    EXPECT_EQ(seq.capacity(), 8);
    EXPECT_EQ(seq.view().n_blocks, 2);
    EXPECT_EQ(seq.view().blocks, seq.blocks().data());
    seq.set_filled(5);
    KvPoolStats s = pool->stats();
    EXPECT_EQ(s.positions_held, 5);
    EXPECT_DOUBLE_EQ(s.wasted_fraction(), 3.0 / 8.0);
    seq.resize(2);  // drops a block and the filled positions past 2
    EXPECT_EQ(seq.capacity(), 4);
    EXPECT_EQ(seq.filled(), 2);
    EXPECT_EQ(pool->stats().positions_held, 2);
    expect_error([&] { seq.set_filled(5); }, ErrorCode::kInvalidArgument, "5 positions");
    KvSequence other(pool);
    EXPECT_FALSE(other.try_resize(21));  // 6 blocks needed, 5 free
    EXPECT_EQ(other.capacity(), 0);
    expect_error([&] { other.resize(21); }, ErrorCode::kOutOfMemory, "5 of 6 are free");
    other.resize(20);
    EXPECT_EQ(pool->free_blocks(), 0);
  }
  const KvPoolStats s = pool->stats();
  EXPECT_EQ(s.blocks_in_use, 0);
  EXPECT_EQ(s.positions_held, 0);
  EXPECT_EQ(s.peak_blocks_in_use, 6);
}

class KvSessions : public ::testing::Test {
 protected:

  SessionOptions options(int64_t n_ctx = 256) const {
    SessionOptions o;
    o.n_ctx = n_ctx;
    o.n_batch = 8;
    o.n_threads = 2;
    return o;
  }
  std::vector<int32_t> tokens(int64_t n, int32_t seed) const {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((seed * 7919 + i * 131) % 250 + 1);
    return t;
  }
  static std::vector<float> copy(std::span<const float> s) { return {s.begin(), s.end()}; }

  test_env::TempModel file_{test_env::small_spec(DType::kQ8_0), "kv"};
  const std::shared_ptr<const models::Model>& model_ = file_.model();
};

// Two sessions taking blocks from one pool in turn end up with interleaved,
// non-contiguous block tables; their logits must be bit for bit those of a
// session holding its whole context in its own pool.
TEST_F(KvSessions, SharedPoolGivesTheLogitsOfOwnPools) {
  const auto a_tokens = tokens(37, 1), b_tokens = tokens(29, 2);
  std::vector<std::vector<float>> want_a, want_b;
  {
    SessionOptions own = options();
    own.kv_block_positions = 256;  // one block: a contiguous cache
    Session a(model_, own), b(model_, own);
    for (size_t i = 0; i < a_tokens.size(); i += 5)
      want_a.push_back(copy(a.decode(std::span(a_tokens).subspan(i, std::min<size_t>(5, a_tokens.size() - i)))));
    for (size_t i = 0; i < b_tokens.size(); i += 3)
      want_b.push_back(copy(b.decode(std::span(b_tokens).subspan(i, std::min<size_t>(3, b_tokens.size() - i)))));
  }
  SessionOptions shared = options();
  shared.kv_block_positions = 4;
  shared.kv_pool = std::make_shared<KvPool>(kv_pool_shape(*model_, shared), 64);
  Session a(model_, shared), b(model_, shared);
  size_t ia = 0, ib = 0, step_a = 0, step_b = 0;
  while (ia < a_tokens.size() || ib < b_tokens.size()) {
    if (ia < a_tokens.size()) {
      const size_t n = std::min<size_t>(5, a_tokens.size() - ia);
      EXPECT_EQ(copy(a.decode(std::span(a_tokens).subspan(ia, n))), want_a[step_a++]) << "a at " << ia;
      ia += n;
    }
    if (ib < b_tokens.size()) {
      const size_t n = std::min<size_t>(3, b_tokens.size() - ib);
      EXPECT_EQ(copy(b.decode(std::span(b_tokens).subspan(ib, n))), want_b[step_b++]) << "b at " << ib;
      ib += n;
    }
  }
  std::vector<int32_t> all(a.kv().blocks());
  all.insert(all.end(), b.kv().blocks().begin(), b.kv().blocks().end());
  std::sort(all.begin(), all.end());
  EXPECT_EQ(std::adjacent_find(all.begin(), all.end()), all.end()) << "a block is in two sequences";
  EXPECT_EQ(shared.kv_pool->stats().positions_held, 37 + 29);
}

// After truncating, the positions past the cut are written afresh: decoding the
// same tokens again gives the same logits.
TEST_F(KvSessions, TruncateGivesBlocksBackAndRedecodesTheSame) {
  SessionOptions o = options();
  o.kv_block_positions = 4;
  Session s(model_, o);
  const auto t = tokens(30, 3);
  s.decode(std::span(t).first(20));
  const auto want = copy(s.decode(std::span(t).subspan(20)));
  EXPECT_EQ(s.kv().capacity(), 32);
  s.truncate(9);
  EXPECT_EQ(s.kv().capacity(), 12);
  EXPECT_EQ(s.kv().filled(), 9);
  s.decode(std::span(t).subspan(9, 11));
  EXPECT_EQ(copy(s.decode(std::span(t).subspan(20))), want);
}

// q8_0 keys and values: close to the f16 cache's logits, but not the same bits
// (so the q8_0 path really ran), in half the memory or so.
TEST_F(KvSessions, Q8CacheIsCloseToF16) {
  const auto t = tokens(40, 4);
  SessionOptions f16 = options(), q8 = options();
  q8.kv_type = DType::kQ8_0;
  Session a(model_, f16), b(model_, q8);
  const auto want = copy(a.decode(t));
  const auto got = copy(b.decode(t));
  double max_diff = 0, max_abs = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    max_diff = std::max(max_diff, static_cast<double>(std::fabs(got[i] - want[i])));
    max_abs = std::max(max_abs, static_cast<double>(std::fabs(want[i])));
  }
  EXPECT_GT(max_diff, 0.0);
  EXPECT_LT(max_diff, 0.05 * max_abs) << "largest logit " << max_abs;
  EXPECT_LT(kv_block_bytes(kv_pool_shape(*model_, q8)) * 1.8, kv_block_bytes(kv_pool_shape(*model_, f16)));
}

TEST_F(KvSessions, AFullSharedPoolIsAClearError) {
  SessionOptions o = options();
  o.kv_block_positions = 4;
  o.kv_pool = std::make_shared<KvPool>(kv_pool_shape(*model_, o), 3);
  Session a(model_, o);
  a.decode(tokens(10, 5));
  {
    Session b(model_, o);
    expect_error([&] { b.decode(tokens(5, 6)); }, ErrorCode::kOutOfMemory, "KV cache pool is full");
    EXPECT_EQ(b.n_past(), 0);
  }
  EXPECT_EQ(o.kv_pool->free_blocks(), 0);  // a holds 3 blocks; b's failed attempt took nothing
  SessionOptions other = o;
  other.kv_type = DType::kQ8_0;
  expect_error([&] { Session(model_, other); }, ErrorCode::kInvalidArgument, "another model or KV type");
}

// The figure: eight sequences of 1024 positions share one pool sized
// for exactly them, and less than 10% of the blocks they take is empty.
TEST_F(KvSessions, EightSequencesOf1024FitOnePoolWithLittleWaste) {
  SessionOptions o = options(1024);
  o.n_batch = 256;
  o.kv_pool = std::make_shared<KvPool>(kv_pool_shape(*model_, o), 8 * 1024 / o.kv_block_positions);
  std::vector<std::unique_ptr<Session>> sessions;
  for (int i = 0; i < 8; ++i) sessions.push_back(std::make_unique<Session>(model_, o));
  // Uneven lengths first (1000 + i), so some last blocks are partly filled.
  for (int i = 0; i < 8; ++i) sessions[i]->decode(tokens(1000 + i, 10 + i));
  KvPoolStats s = o.kv_pool->stats();
  EXPECT_EQ(s.positions_held, 8 * 1000 + 28);
  EXPECT_LT(s.wasted_fraction(), 0.10);
  for (int i = 0; i < 8; ++i) sessions[i]->decode(tokens(24 - i, 20 + i));
  s = o.kv_pool->stats();
  EXPECT_EQ(s.positions_held, 8 * 1024);
  EXPECT_EQ(s.blocks_in_use, s.blocks);
  EXPECT_DOUBLE_EQ(s.wasted_fraction(), 0.0);
}

}  // namespace
}  // namespace hearth::runtime
