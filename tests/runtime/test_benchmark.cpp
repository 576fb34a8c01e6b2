// The speed benchmark's bookkeeping (not its speed: that is measured, never
// asserted): statistics, run counts, option checks, the weight bytes a token
// reads, and the memory bandwidth probe's answer being a plausible figure.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "backends/cpu/memory_bandwidth.h"
#include "core/error.h"
#include "graph/graph.h"
#include "models/model.h"
#include "models/synth.h"
#include "runtime/benchmark.h"
#include "temp_model.h"

namespace hearth::runtime {
namespace {

TEST(Benchmark, SummarizeGivesMedianSpreadAndRange) {
  const BenchSeries s = summarize({3.0, 1.0, 2.0, 10.0});
  EXPECT_DOUBLE_EQ(s.median, 2.5);
  EXPECT_DOUBLE_EQ(s.min, 1.0);
  EXPECT_DOUBLE_EQ(s.max, 10.0);
  EXPECT_NEAR(s.stddev, 4.0825, 1e-3);  // sample standard deviation: sqrt(50 / 3)
  ASSERT_EQ(s.tps.size(), 4u);
  EXPECT_DOUBLE_EQ(s.tps[0], 3.0);  // run order kept
  EXPECT_DOUBLE_EQ(summarize({5.0}).stddev, 0.0);
  EXPECT_DOUBLE_EQ(summarize({}).median, 0.0);
}

class BenchmarkModel : public ::testing::Test {
 protected:
  test_env::TempModel file_{test_env::small_spec(DType::kQ4_1), "bench"};
  const std::shared_ptr<const models::Model>& model_ = file_.model();
};

TEST_F(BenchmarkModel, RunsEveryRepetitionOfBothTests) {
  BenchOptions o;
  o.n_prompt = 24;
  o.n_gen = 5;
  o.reps = 3;
  o.n_threads = 2;
  int calls = 0;
  const BenchResult r = run_benchmark(model_, o, [&](const std::string&, double tps) {
    EXPECT_GT(tps, 0.0);
    ++calls;
  });
  EXPECT_EQ(calls, 6);
  ASSERT_EQ(r.pp.tps.size(), 3u);
  ASSERT_EQ(r.tg.tps.size(), 3u);
  EXPECT_GT(r.pp.median, 0.0);
  EXPECT_GT(r.tg.median, 0.0);
  EXPECT_EQ(r.n_threads, 2);
}

TEST_F(BenchmarkModel, ParallelGenerationRunsEveryRepetition) {
  BenchOptions o;
  o.n_gen = 6;
  o.reps = 2;
  o.n_threads = 2;
  for (int sequences : {1, 5}) {
    const BenchSeries s = run_parallel_generation(model_, o, sequences);
    ASSERT_EQ(s.tps.size(), 2u) << sequences;
    EXPECT_GT(s.min, 0.0) << sequences;
  }
  for (int bad : {0, 257}) {
    try {
      run_parallel_generation(model_, o, bad);
      ADD_FAILURE() << bad << " sequences accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    }
  }
}

TEST_F(BenchmarkModel, ATestOfSizeZeroIsSkipped) {
  BenchOptions o;
  o.n_prompt = 0;
  o.n_gen = 3;
  o.reps = 2;
  const BenchResult r = run_benchmark(model_, o);
  EXPECT_TRUE(r.pp.tps.empty());
  EXPECT_EQ(r.tg.tps.size(), 2u);
}

TEST_F(BenchmarkModel, AbsurdOptionsAreRefused) {
  auto refused = [&](BenchOptions o) {
    try {
      run_benchmark(model_, o);
    } catch (const Error& e) {
      return e.code() == ErrorCode::kInvalidArgument;
    }
    return false;
  };
  BenchOptions o;
  o.n_prompt = 0, o.n_gen = 0;
  EXPECT_TRUE(refused(o));
  o = {}, o.reps = 0;
  EXPECT_TRUE(refused(o));
  o = {}, o.n_batch = 0;
  EXPECT_TRUE(refused(o));
  o = {}, o.n_prompt = -1;
  EXPECT_TRUE(refused(o));
  o = {}, o.n_prompt = 1 << 19;  // past the model's training context
  EXPECT_TRUE(refused(o));
}

TEST_F(BenchmarkModel, WeightBytesPerTokenCountEmbeddingRowsOnce) {
  // Tied output: the embedding table is read whole as the LM head, so every
  // weight byte is read once per token.
  const graph::Graph& g = model_->graph();
  int64_t all = 0;
  for (const graph::Weight& w : g.weights) all += dtype_row_bytes(w.type, w.cols) * w.rows;
  EXPECT_EQ(graph::weight_bytes_read_per_token(g), all);
}

TEST(MemoryBandwidth, MeasuresAPlausibleFigureAndRefusesAbsurdBuffers) {
  ThreadPool pool(2);
  cpu::BandwidthOptions o;
  o.buffer_bytes = size_t{64} << 20;
  o.passes = 3;
  const double bw = cpu::measure_read_bandwidth(pool, o);
  EXPECT_GT(bw, 1e8);   // 0.1 GB/s: any machine that runs this suite
  EXPECT_LT(bw, 1e13);  // 10 TB/s: no machine
  o.buffer_bytes = 1000;
  EXPECT_THROW(cpu::measure_read_bandwidth(pool, o), Error);
}

}  // namespace
}  // namespace hearth::runtime
