// Several sequences in one forward pass (continuous batching): each row goes
// to its own sequence's cache and attends over that cache only, so a batch of
// sequences gives each the logits it gets when run alone.
#include <gtest/gtest.h>

#include <cmath>

#include "core/error.h"
#include "core/thread_pool.h"
#include "graph/executor.h"
#include "runtime/kv_pool.h"
#include "runtime/session.h"
#include "temp_model.h"

namespace hearth::runtime {
namespace {

struct Sequence {
  Sequence(std::shared_ptr<KvPool> pool, std::vector<int32_t> all) : kv(std::move(pool), 256), tokens(std::move(all)) {}
  KvSequence kv;
  std::vector<int32_t> tokens;  // all of them, fed in steps
  int64_t done = 0;
};

std::vector<int32_t> some_tokens(int64_t n, int32_t seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((seed * 7919 + i * 131) % 250 + 1);
  return t;
}

// Largest difference over the largest magnitude.
float relative_diff(const float* got, const float* want, int64_t n) {
  float d = 0, scale = 0;
  for (int64_t i = 0; i < n; ++i) {
    d = std::max(d, std::fabs(got[i] - want[i]));
    scale = std::max(scale, std::fabs(want[i]));
  }
  return d / scale;
}

class BatchedSequences : public ::testing::TestWithParam<DType> {};

// Three sequences with prompts of different lengths are prefilled in one batch,
// then decode one token each per batch; one more joins halfway (as a new
// request would). Every output row must match the same sequence run alone.
TEST_P(BatchedSequences, EachSequenceGetsItsOwnLogits) {
  // f32 weights: no activation quantization, whose rounding steps would turn
  // the kernels' different summation orders into visible jumps.
  const test_env::TempModel file(test_env::small_spec(DType::kF32), "batched");
  const auto& model = file.model();
  const graph::Graph& g = model->graph();
  SessionOptions o;
  o.kv_type = GetParam();
  o.kv_block_positions = 8;
  auto pool = std::make_shared<KvPool>(kv_pool_shape(*model, o), 64);
  ThreadPool threads(2);
  graph::Executor batched(g, 64, 256, &threads, /*max_outputs=*/4);
  const int64_t n_vocab = batched.n_vocab();

  // The expected logits: each sequence alone, token by token after its prompt.
  const std::vector<int64_t> prompt_lengths = {11, 3, 20, 6};
  const int64_t n_steps = 5;
  std::vector<std::vector<std::vector<float>>> alone(prompt_lengths.size());
  {
    graph::Executor solo(g, 64, 256, &threads, 1);
    for (size_t s = 0; s < prompt_lengths.size(); ++s) {
      KvSequence kv(pool, 256);
      const auto tokens = some_tokens(prompt_lengths[s] + n_steps, static_cast<int32_t>(s));
      int64_t done = 0;
      for (int64_t step = 0; step <= n_steps; ++step) {
        const int64_t n = step == 0 ? prompt_lengths[s] : 1;
        kv.resize(done + n);
        std::vector<int32_t> positions(static_cast<size_t>(n));
        for (int64_t i = 0; i < n; ++i) positions[i] = static_cast<int32_t>(done + i);
        graph::Batch b;
        b.tokens = tokens.data() + done;
        b.positions = positions.data();
        b.n_tokens = n;
        b.n_past = done;
        b.kv = &kv.view();
        const float* logits = solo.run(b);
        alone[s].emplace_back(logits, logits + n_vocab);
        done += n;
      }
    }
  }

  std::vector<std::unique_ptr<Sequence>> seqs;
  for (size_t s = 0; s < prompt_lengths.size(); ++s) {
    seqs.push_back(
        std::make_unique<Sequence>(pool, some_tokens(prompt_lengths[s] + n_steps, static_cast<int32_t>(s))));
  }
  // Step k: sequences 0-2 are active from the start, sequence 3 joins at step 2.
  std::vector<int64_t> steps_done(seqs.size(), 0);
  for (int64_t round = 0; round < n_steps + 3; ++round) {
    std::vector<int32_t> tokens, positions, output_rows;
    std::vector<graph::BatchSequence> parts;
    std::vector<size_t> who;
    for (size_t s = 0; s < seqs.size(); ++s) {
      if (s == 3 && round < 2) continue;
      if (steps_done[s] > n_steps) continue;
      Sequence& q = *seqs[s];
      const int64_t n = steps_done[s] == 0 ? prompt_lengths[s] : 1;
      q.kv.resize(q.done + n);
      graph::BatchSequence part;
      part.first = static_cast<int64_t>(tokens.size());
      part.n_tokens = n;
      part.n_past = q.done;
      part.kv = &q.kv.view();
      for (int64_t i = 0; i < n; ++i) {
        tokens.push_back(q.tokens[q.done + i]);
        positions.push_back(static_cast<int32_t>(q.done + i));
      }
      output_rows.push_back(static_cast<int32_t>(tokens.size() - 1));
      parts.push_back(part);
      who.push_back(s);
    }
    if (parts.empty()) break;
    graph::Batch b;
    b.tokens = tokens.data();
    b.positions = positions.data();
    b.n_tokens = static_cast<int64_t>(tokens.size());
    b.sequences = parts.data();
    b.n_sequences = static_cast<int64_t>(parts.size());
    b.n_outputs = static_cast<int64_t>(output_rows.size());
    b.output_rows = output_rows.data();
    const float* logits = batched.run(b);
    for (size_t i = 0; i < who.size(); ++i) {
      const size_t s = who[i];
      const std::vector<float>& want = alone[s][static_cast<size_t>(steps_done[s])];
      // Rows of a bigger matmul may take other kernels than a lone row: the
      // same sums in another order, so near, not equal. A row attending over
      // another sequence's cache would be off by the logits' whole scale.
      EXPECT_LT(relative_diff(logits + i * n_vocab, want.data(), n_vocab), 1e-4f)
          << "sequence " << s << " step " << steps_done[s] << " round " << round;
      seqs[s]->done += parts[i].n_tokens;
      ++steps_done[s];
    }
  }
  for (size_t s = 0; s < seqs.size(); ++s) EXPECT_EQ(steps_done[s], n_steps + 1) << s;
}

INSTANTIATE_TEST_SUITE_P(KvTypes, BatchedSequences, ::testing::Values(DType::kF16, DType::kQ8_0),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST(BatchedSequencesErrors, MalformedBatchesAreRefused) {
  const test_env::TempModel file(test_env::small_spec(DType::kQ8_0), "batched_bad");
  const auto& model = file.model();
  SessionOptions o;
  auto pool = std::make_shared<KvPool>(kv_pool_shape(*model, o), 8);
  KvSequence a(pool, 64), b(pool, 64);
  a.resize(4);
  b.resize(4);
  graph::Executor ex(model->graph(), 16, 64, nullptr, 2);
  const std::vector<int32_t> tokens = {1, 2, 3, 4};
  std::vector<int32_t> positions = {0, 1, 0, 1};
  graph::BatchSequence parts[2] = {{0, 2, 0, &a.view()}, {2, 2, 0, &b.view()}};
  const int32_t outputs[2] = {1, 3};
  graph::Batch batch;
  batch.tokens = tokens.data();
  batch.positions = positions.data();
  batch.n_tokens = 4;
  batch.sequences = parts;
  batch.n_sequences = 2;
  batch.n_outputs = 2;
  batch.output_rows = outputs;
  EXPECT_NO_THROW(ex.run(batch));
  auto refused = [&](const char* fragment) {
    try {
      ex.run(batch);
      ADD_FAILURE() << "accepted; expected '" << fragment << "'";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  };
  parts[1].first = 3;
  refused("cover its rows in order");
  parts[1].first = 2;
  positions[3] = 7;
  refused("has position 7, expected 1");
  positions[3] = 1;
  const int32_t bad_outputs[2] = {1, 9};
  batch.output_rows = bad_outputs;
  refused("output row 9");
  batch.output_rows = outputs;
  batch.n_outputs = 3;
  refused("at most 2");
}

}  // namespace
}  // namespace hearth::runtime
