// Engine (continuous batching): sequences decoded together give the tokens
// each gets alone; requests join while others run; long prompts are chunked
// beside decoding sequences; cancelled or finished sequences give their KV
// blocks back; a full queue and impossible requests are refused.
#include <gtest/gtest.h>

#include <chrono>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "runtime/engine.h"
#include "runtime/generator.h"
#include "runtime/json_schema_grammar.h"
#include "temp_model.h"

namespace hearth::runtime {
namespace {

using namespace std::chrono_literals;

std::vector<int32_t> some_tokens(int64_t n, int32_t seed) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((seed * 7919 + i * 131) % 250 + 1);
  return t;
}

// Polls until pred holds; false after the timeout (so that a test fails instead of hanging).
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = 30s) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

GenerateOptions greedy(int32_t max_tokens) {
  GenerateOptions o;
  o.max_tokens = max_tokens;
  o.sampling.temperature = 0;
  o.stop_at_end_of_generation = false;  // random weights: run to the limit
  return o;
}

// Collects what the engine reports for one request.
struct Outcome {
  std::mutex mutex;
  std::condition_variable cv;
  bool done = false;
  EngineResult result;
  std::string streamed;
  std::vector<int64_t> steps_at_token;  // engine steps when each event came

  EngineRequest request(std::vector<int32_t> prompt, GenerateOptions options, const Engine* engine = nullptr) {
    EngineRequest r;
    r.prompt = std::move(prompt);
    r.options = std::move(options);
    r.on_event = [this, engine](const EngineEvent& e) {
      std::lock_guard<std::mutex> lock(mutex);
      streamed += e.text;
      if (engine) steps_at_token.push_back(engine->stats().steps);
      return true;
    };
    r.on_done = [this](EngineResult&& res) {
      std::lock_guard<std::mutex> lock(mutex);
      result = std::move(res);
      done = true;
      cv.notify_all();
    };
    return r;
  }
  bool wait(std::chrono::milliseconds timeout = 60s) {
    std::unique_lock<std::mutex> lock(mutex);
    return cv.wait_for(lock, timeout, [&] { return done; });
  }
};

class EngineTest : public ::testing::Test {
 protected:
  // f32 weights: batched and solo passes then differ only in summation order,
  // far below the gaps between a random model's top logits.
  EngineTest() : file_(test_env::small_spec(DType::kF32), "engine") {}
  const std::shared_ptr<const models::Model>& model() const { return file_.model(); }

  std::vector<int32_t> solo(const std::vector<int32_t>& prompt, int32_t n) {
    SessionOptions so;
    so.n_ctx = 256;
    so.n_threads = 2;
    Session session(model(), so);
    return generate(session, prompt, greedy(n)).tokens;
  }

  test_env::TempModel file_;
};

TEST_F(EngineTest, SequencesDecodedTogetherGetTheirSoloTokens) {
  EngineOptions eo;
  eo.max_sequences = 4;
  eo.n_ctx = 256;
  eo.step_tokens = 32;  // the 45-token prompt takes two steps beside the others
  eo.n_threads = 2;
  Engine engine(model(), eo);
  const std::vector<std::vector<int32_t>> prompts = {some_tokens(11, 1), some_tokens(3, 2), some_tokens(45, 3),
                                                     some_tokens(6, 4), some_tokens(20, 5)};
  std::vector<std::unique_ptr<Outcome>> outcomes;
  for (size_t i = 0; i < prompts.size(); ++i) {
    outcomes.push_back(std::make_unique<Outcome>());
    engine.submit(outcomes.back()->request(prompts[i], greedy(12 + static_cast<int32_t>(i))));
    if (i == 2) std::this_thread::sleep_for(20ms);  // later ones join running sequences
  }
  for (size_t i = 0; i < prompts.size(); ++i) {
    ASSERT_TRUE(outcomes[i]->wait()) << "request " << i;
    const EngineResult& r = outcomes[i]->result;
    EXPECT_EQ(r.finish_reason, "length");
    EXPECT_EQ(r.prompt_tokens, static_cast<int64_t>(prompts[i].size()));
    EXPECT_EQ(r.tokens, solo(prompts[i], 12 + static_cast<int32_t>(i))) << "request " << i;
    EXPECT_EQ(outcomes[i]->streamed, r.text);
    EXPECT_GE(r.first_token_ms, r.queued_ms);
    EXPECT_GE(r.total_ms, r.first_token_ms);
  }
  // The fifth waited for a free sequence; all blocks are back once done.
  const EngineStats st = engine.stats();
  EXPECT_EQ(st.active, 0);
  EXPECT_EQ(st.kv_blocks_in_use, 0);
  EXPECT_EQ(st.kv_blocks_reserved, 0);
  EXPECT_EQ(st.generated_tokens, 12 + 13 + 14 + 15 + 16);
}

TEST_F(EngineTest, LongPromptsAreChunkedBesideDecodingSequences) {
  EngineOptions eo;
  eo.max_sequences = 2;
  eo.n_ctx = 256;
  eo.step_tokens = 16;
  eo.n_threads = 2;
  Engine engine(model(), eo);
  Outcome decoding, long_prompt;
  // The decoding sequence is held inside its second event until the long
  // prompt is queued, so that it is still decoding when the prompt joins
  // (a tiny model could otherwise finish its 40 tokens first).
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::atomic<int> events{0};
  EngineRequest first = decoding.request(some_tokens(4, 7), greedy(40), &engine);
  first.on_event = [&, record = first.on_event](const EngineEvent& e) {
    record(e);
    if (++events == 2) {
      std::unique_lock<std::mutex> lock(m);
      cv.wait_for(lock, 30s, [&] { return release; });
    }
    return true;
  };
  engine.submit(std::move(first));
  ASSERT_TRUE(eventually([&] { return events.load() >= 2; }));
  const int64_t steps_before = engine.stats().steps;
  engine.submit(long_prompt.request(some_tokens(160, 8), greedy(2), &engine));
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(long_prompt.wait());
  ASSERT_TRUE(decoding.wait());
  // The 160-token prompt needs at least 160 / 15 steps; in every one of them the
  // decoding sequence got its token, so it never stalled.
  const int64_t steps_prefill = long_prompt.steps_at_token.front() - steps_before;
  EXPECT_GE(steps_prefill, 10);
  int64_t tokens_during = 0;
  for (int64_t s : decoding.steps_at_token)
    if (s > steps_before && s <= long_prompt.steps_at_token.front()) ++tokens_during;
  EXPECT_GE(tokens_during, steps_prefill - 1);
  EXPECT_EQ(long_prompt.result.tokens, solo(some_tokens(160, 8), 2));
  EXPECT_EQ(decoding.result.tokens, solo(some_tokens(4, 7), 40));
}

TEST_F(EngineTest, CancellingFreesTheSequenceAtOnce) {
  EngineOptions eo;
  eo.max_sequences = 2;
  eo.n_ctx = 256;
  eo.n_threads = 2;
  Engine engine(model(), eo);
  Outcome a, b;
  const uint64_t id = engine.submit(a.request(some_tokens(40, 1), greedy(200)));
  ASSERT_TRUE(eventually([&] { return engine.stats().generated_tokens >= 3; }));
  EXPECT_GT(engine.stats().kv_blocks_in_use, 0);
  engine.cancel(id);
  ASSERT_TRUE(a.wait());
  EXPECT_EQ(a.result.finish_reason, "cancelled");
  EXPECT_LT(a.result.tokens.size(), 200u);
  // Its blocks are back (the worker drops the sequence right after finishing it).
  EXPECT_TRUE(eventually([&] { return engine.stats().kv_blocks_in_use == 0; }, 1s));
  EXPECT_EQ(engine.stats().kv_blocks_reserved, 0);

  // An event callback that returns false cancels too.
  EngineRequest r = b.request(some_tokens(5, 2), greedy(100));
  int seen = 0;
  r.on_event = [&seen](const EngineEvent& e) {
    EXPECT_EQ(e.n_generated, seen + 1);  // one event per token
    return ++seen < 3;
  };
  engine.submit(std::move(r));
  ASSERT_TRUE(b.wait());
  EXPECT_EQ(b.result.finish_reason, "cancelled");
  engine.cancel(12345);  // unknown ids are ignored
}

TEST_F(EngineTest, RefusesWhatCanNeverRunAndAFullQueue) {
  EngineOptions eo;
  eo.max_sequences = 1;
  eo.n_ctx = 64;
  eo.max_waiting = 1;
  eo.n_threads = 1;
  Engine engine(model(), eo);
  Outcome dummy;
  auto code_of = [&](std::vector<int32_t> prompt, GenerateOptions o) {
    try {
      engine.submit(dummy.request(std::move(prompt), std::move(o)));
    } catch (const Error& e) {
      return e.code();
    }
    return ErrorCode::kInternal;
  };
  EXPECT_EQ(code_of({}, greedy(4)), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of(some_tokens(65, 1), greedy(4)), ErrorCode::kInvalidArgument);  // longer than the context
  EXPECT_EQ(code_of({1, 2, 999999}, greedy(4)), ErrorCode::kInvalidArgument);      // not in the vocabulary
  GenerateOptions bad = greedy(4);
  bad.sampling.top_p = 7;
  EXPECT_EQ(code_of({1, 2}, bad), ErrorCode::kInvalidArgument);
  bad = greedy(4);
  bad.stop = {""};
  EXPECT_EQ(code_of({1, 2}, bad), ErrorCode::kInvalidArgument);

  // One running (held inside its first event), one waiting: the third is refused as busy.
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  std::atomic<bool> started{false};
  Outcome running, waiting;
  EngineRequest first = running.request(some_tokens(8, 1), greedy(5));
  first.on_event = [&](const EngineEvent&) {
    started = true;
    std::unique_lock<std::mutex> lock(m);
    cv.wait_for(lock, 30s, [&] { return release; });
    return true;
  };
  engine.submit(std::move(first));
  ASSERT_TRUE(eventually([&] { return started.load(); }));
  engine.submit(waiting.request(some_tokens(8, 2), greedy(2)));
  EXPECT_EQ(code_of(some_tokens(8, 3), greedy(2)), ErrorCode::kBusy);
  {
    std::lock_guard<std::mutex> lock(m);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(running.wait());
  ASSERT_TRUE(waiting.wait());
  EXPECT_EQ(running.result.finish_reason, "length");
  EXPECT_EQ(waiting.result.finish_reason, "length");
  EXPECT_GT(waiting.result.queued_ms, 0.0);
}

TEST_F(EngineTest, LimitsAndStopStrings) {
  EngineOptions eo;
  eo.max_sequences = 2;
  eo.n_ctx = 32;
  eo.n_threads = 1;
  Engine engine(model(), eo);
  // A prompt that fills the context still gets one token; a limit beyond the
  // context ends at the context.
  Outcome full, beyond, zero;
  engine.submit(full.request(some_tokens(32, 1), greedy(10)));
  engine.submit(beyond.request(some_tokens(30, 2), greedy(100)));
  engine.submit(zero.request(some_tokens(5, 3), greedy(0)));
  ASSERT_TRUE(full.wait());
  ASSERT_TRUE(beyond.wait());
  ASSERT_TRUE(zero.wait());
  EXPECT_EQ(full.result.tokens.size(), 1u);
  EXPECT_EQ(beyond.result.tokens.size(), 3u);
  EXPECT_EQ(beyond.result.finish_reason, "length");
  EXPECT_TRUE(zero.result.tokens.empty());
  EXPECT_EQ(zero.result.finish_reason, "length");

  // A stop string taken from what greedy decoding produces ends it there.
  Outcome free_run;
  engine.submit(free_run.request(some_tokens(4, 9), greedy(20)));
  ASSERT_TRUE(free_run.wait());
  const std::string text = free_run.result.text;
  ASSERT_GE(text.size(), 6u);
  GenerateOptions stop = greedy(20);
  stop.stop = {text.substr(3, 2)};
  Outcome stopped;
  engine.submit(stopped.request(some_tokens(4, 9), stop));
  ASSERT_TRUE(stopped.wait());
  EXPECT_EQ(stopped.result.finish_reason, "stop");
  EXPECT_EQ(stopped.result.text, text.substr(0, text.find(stop.stop[0])));
  EXPECT_EQ(stopped.streamed, stopped.result.text);
}

TEST_F(EngineTest, AConstraintCanWaitForItsTrigger) {
  EngineOptions eo;
  eo.max_sequences = 2;
  eo.n_ctx = 256;
  eo.n_threads = 1;
  Engine engine(model(), eo);
  auto grammar = std::make_shared<const Grammar>(json_value_grammar());
  auto vocabulary = std::make_shared<const TokenVocabulary>(model()->tokenizer());
  // Free output first: its first token's text becomes the trigger.
  Outcome free_run;
  engine.submit(free_run.request(some_tokens(6, 4), greedy(40)));
  ASSERT_TRUE(free_run.wait());
  const std::string trigger = model()->tokenizer().token_to_piece(free_run.result.tokens.at(0));
  ASSERT_FALSE(trigger.empty());

  GenerateOptions o = greedy(120);
  Outcome lazy;
  EngineRequest r = lazy.request(some_tokens(6, 4), o);
  r.constraint = std::make_unique<TokenConstraint>(grammar, vocabulary);
  r.constraint_after = trigger;
  engine.submit(std::move(r));
  ASSERT_TRUE(lazy.wait());
  // Up to the trigger the output is the free one; after it, JSON.
  const std::string& text = lazy.result.text;
  ASSERT_EQ(text.rfind(trigger, 0), 0u) << text;
  EXPECT_EQ(lazy.result.tokens.at(0), free_run.result.tokens.at(0));
  const std::string after = text.substr(trigger.size());
  if (lazy.result.finish_reason == "stop") {
    EXPECT_TRUE(nlohmann::json::accept(after)) << after;
  }
  TokenConstraint check(grammar, vocabulary);
  EXPECT_NO_THROW(check.accept_text(after)) << after;  // at least a prefix of a JSON value

  // Constrained from the start when there is no trigger.
  Outcome strict;
  EngineRequest from_start = strict.request(some_tokens(6, 4), greedy(120));
  from_start.constraint = std::make_unique<TokenConstraint>(grammar, vocabulary);
  engine.submit(std::move(from_start));
  ASSERT_TRUE(strict.wait());
  TokenConstraint whole(grammar, vocabulary);
  EXPECT_NO_THROW(whole.accept_text(strict.result.text)) << strict.result.text;
}

TEST_F(EngineTest, DrainFinishesOrCancelsAndThenRefuses) {
  EngineOptions eo;
  eo.max_sequences = 1;
  eo.n_ctx = 256;
  eo.n_threads = 1;
  Engine engine(model(), eo);
  Outcome quick, slow;
  engine.submit(quick.request(some_tokens(4, 1), greedy(3)));
  engine.submit(slow.request(some_tokens(4, 2), greedy(250)));
  engine.drain(0ms);
  ASSERT_TRUE(quick.wait(0ms) || quick.wait());
  ASSERT_TRUE(slow.wait());
  EXPECT_EQ(slow.result.finish_reason, "cancelled");
  Outcome late;
  EXPECT_THROW(engine.submit(late.request(some_tokens(4, 3), greedy(3))), Error);
}

TEST_F(EngineTest, DestroyingTheEngineEndsEveryRequest) {
  Outcome a, b;
  {
    EngineOptions eo;
    eo.max_sequences = 1;
    eo.n_ctx = 256;
    eo.n_threads = 1;
    Engine engine(model(), eo);
    engine.submit(a.request(some_tokens(4, 1), greedy(250)));
    engine.submit(b.request(some_tokens(4, 2), greedy(250)));
  }
  EXPECT_TRUE(a.done);
  EXPECT_TRUE(b.done);
  EXPECT_EQ(b.result.finish_reason, "cancelled");
}

TEST_F(EngineTest, MemoryEstimateMatchesWhatItAllocates) {
  EngineOptions eo;
  eo.max_sequences = 3;
  eo.n_ctx = 128;
  eo.n_threads = 2;
  const MemoryEstimate e = estimate_engine_memory(*model(), eo);
  Engine engine(model(), eo);
  EXPECT_EQ(e.arena + e.scratch + e.kv, engine.allocated_bytes());
  EXPECT_EQ(engine.shape().kv_blocks * engine.shape().kv.block_positions, 3 * 128);
  EngineOptions bad = eo;
  bad.max_sequences = 0;
  EXPECT_THROW(engine_shape(*model(), bad), Error);
  bad = eo;
  bad.kv_positions = 10;  // smaller than one context
  EXPECT_THROW(engine_shape(*model(), bad), Error);
}

}  // namespace
}  // namespace hearth::runtime
