// The memory estimate of a session against what a session really allocates,
// refusals when the budget is too small (with advice that is itself right), and
// the memory report.
#include <gtest/gtest.h>


#include "core/error.h"
#include "runtime/memory_budget.h"
#include "runtime/memory_report.h"
#include "runtime/session.h"
#include "temp_model.h"

namespace hearth::runtime {
namespace {

class MemoryBudget : public ::testing::Test {
 protected:
  static SessionOptions options(int64_t n_ctx, DType kv = DType::kF16) {
    SessionOptions o;
    o.n_ctx = n_ctx;
    o.n_batch = 64;
    o.n_threads = 2;
    o.kv_type = kv;
    return o;
  }
  static std::string refusal(const MemoryEstimate& e, int64_t budget, DType kv) {
    try {
      check_memory_budget(e, budget, kv);
    } catch (const Error& err) {
      EXPECT_EQ(err.code(), ErrorCode::kOutOfMemory);
      return err.what();
    }
    return "";
  }
  test_env::TempModel file_{test_env::small_spec(DType::kQ4_0), "budget"};
  const std::shared_ptr<const models::Model>& model_ = file_.model();
};

TEST_F(MemoryBudget, EstimateIsWhatASessionAllocates) {
  const SessionOptions o = options(1000);
  const MemoryEstimate e = estimate_memory(*model_, o);
  Session s(model_, o);
  const MemoryReport r = memory_report(s);
  EXPECT_EQ(e.weights, model_->weight_bytes());
  EXPECT_EQ(e.arena, r.arena);
  EXPECT_EQ(e.arena_naive, r.arena_naive);
  EXPECT_EQ(e.scratch, r.scratch);
  EXPECT_EQ(e.kv, r.kv_pool);
  EXPECT_EQ(e.kv, kv_bytes_for(kv_pool_shape(*model_, o), 1000));
  EXPECT_EQ(e.kv_per_position * 16, kv_block_bytes(kv_pool_shape(*model_, o)));
  EXPECT_EQ(e.n_ctx, 1000);
  // A shared pool is counted where it is made, not per session.
  SessionOptions shared = o;
  shared.kv_pool = std::make_shared<KvPool>(kv_pool_shape(*model_, o), 4);
  EXPECT_EQ(estimate_memory(*model_, shared).kv, 0);
}

TEST_F(MemoryBudget, FitsWhenTheBudgetCoversTheEstimate) {
  const MemoryEstimate e = estimate_memory(*model_, options(2048));
  EXPECT_NO_THROW(check_memory_budget(e, e.total(), DType::kF16));
  EXPECT_NE(refusal(e, e.total() - 1, DType::kF16), "");
}

TEST_F(MemoryBudget, TooSmallForTheWeightsSaysSo) {
  const MemoryEstimate e = estimate_memory(*model_, options(2048));
  const std::string msg = refusal(e, e.weights / 2, DType::kF16);
  EXPECT_NE(msg.find("weights alone do not fit"), std::string::npos) << msg;
  EXPECT_NE(msg.find("memory budget of"), std::string::npos) << msg;
}

// The advice must be right: the context it names fits the same budget, and the
// q8_0 cache it suggests does too.
TEST_F(MemoryBudget, SuggestedContextAndKvTypeReallyFit) {
  const MemoryEstimate e = estimate_memory(*model_, options(4096));
  const int64_t budget = e.total() - e.kv / 3;  // room for about 2/3 of the cache
  const std::string msg = refusal(e, budget, DType::kF16);
  const size_t at = msg.find("(-c ");
  ASSERT_NE(at, std::string::npos) << msg;
  const int64_t suggested = std::stoll(msg.substr(at + 4));
  EXPECT_GT(suggested, 2000);
  EXPECT_LT(suggested, 4096);
  EXPECT_NO_THROW(check_memory_budget(estimate_memory(*model_, options(suggested)), budget, DType::kF16));
  ASSERT_NE(msg.find("--kv-type q8_0"), std::string::npos) << msg;
  EXPECT_NO_THROW(check_memory_budget(estimate_memory(*model_, options(4096, DType::kQ8_0)), budget, DType::kQ8_0));
}

TEST_F(MemoryBudget, ReportShowsThePlannedArenaAndTheKvInUse) {
  Session s(model_, options(512));
  std::vector<int32_t> tokens(40, 7);
  s.decode(tokens);
  const MemoryReport r = memory_report(s);
  EXPECT_GT(r.weights_mapped, model_->weight_bytes());  // the file: tensors and metadata
  EXPECT_EQ(r.weights_heap, 0);
  EXPECT_GT(r.weights_resident, 0);
  EXPECT_LE(r.weights_resident, r.weights_mapped);
  EXPECT_LT(r.arena, r.arena_naive / 4);
  EXPECT_EQ(r.kv_in_use, 3 * s.kv().pool().block_bytes());  // 40 positions in blocks of 16
  EXPECT_NEAR(r.kv_wasted, 8.0 / 48.0, 1e-12);
  EXPECT_GT(r.peak_rss, 0);
  const std::string text = format_memory_report(r);
  for (const char* label : {"weights mapped", "activation arena", "naive", "KV pool", "peak"})
    EXPECT_NE(text.find(label), std::string::npos) << label << " in\n" << text;
  EXPECT_EQ(memory_report_json(r)["arena_naive"], r.arena_naive);
}

}  // namespace
}  // namespace hearth::runtime
