// Element-wise, normalisation, rotary and attention kernels of the CPU backend.
// Each has a plain scalar reference (namespace ref) and a vectorised path chosen
// at run time; the public functions below dispatch to the best one.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/dtype.h"

namespace hearth {
class ThreadPool;
}

namespace hearth::cpu {

// ---- element-wise (activation.cpp, elementwise.cpp) ----
// Here and in rms_norm the output may be the very buffer of an input (in place),
// but must not overlap one partly.
void add(const float* a, const float* b, float* y, int64_t n);         // y = a + b
void mul(const float* a, const float* b, float* y, int64_t n);         // y = a * b
void scale(const float* x, float s, float* y, int64_t n);              // y = x * s
// y[r*n + i] = x[r*n + i] + b[i] for each of n_rows rows (bias add)
void add_row_broadcast(const float* x, const float* b, float* y, int64_t n_rows, int64_t n);
void silu(const float* x, float* y, int64_t n);                        // x * sigmoid(x)
void gelu(const float* x, float* y, int64_t n);                        // tanh approximation
void swiglu(const float* gate, const float* up, float* y, int64_t n);  // silu(gate) * up
void geglu(const float* gate, const float* up, float* y, int64_t n);   // gelu(gate) * up
// y = x rounded to the nearest f16 value (ties to even), kept as f32: what storing
// to an f16 cache and reading back gives.
void round_to_f16(const float* x, float* y, int64_t n);

// ---- normalisation (norm.cpp) ----
// Each of n_rows rows of n: y = x / sqrt(mean(x^2) + eps) * weight (weight may be null).
void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n, float eps);

// ---- softmax (softmax.cpp) ----
// In place over n values: subtract the max, exponentiate, normalise.
void softmax(float* x, int64_t n);

// ---- rotary position embedding (rope.cpp) ----
enum class RopeMode {
  kNormal,  // rotate adjacent pairs (x[2i], x[2i+1]): llama, mistral
  kNeox,    // rotate (x[i], x[i + n_rot/2]): qwen2, gemma, neox
};
// In place on x laid out [n_tokens][n_heads][head_dim]; the first n_rot dims of each
// head rotate by angle positions[t] * freq_scale * freq_base^(-2i/n_rot), the rest stay.
// freq_factors (n_rot/2 values, may be null) divide each pair's angle: the
// frequency correction of Llama 3.1-style long-context models (rope_freqs.weight).
void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_rot,
          const int32_t* positions, float freq_base, float freq_scale, RopeMode mode,
          const float* freq_factors = nullptr);
// The cos and sin rope rotates pair i of position t by, for i < n_rot / 2:
// out[2 * (t * (n_rot / 2) + i)] = cos, the next float sin. Another backend that
// rotates by these (x0 * c - x1 * s, x0 * s + x1 * c, each product rounded) gives
// rope's bits.
void rope_cos_sin(int64_t n_tokens, int64_t n_rot, const int32_t* positions, float freq_base, float freq_scale,
                  const float* freq_factors, float* out);

// ---- attention (attention.cpp) ----
struct AttentionParams {
  int64_t n_tokens = 0;   // new query tokens
  int64_t n_past = 0;     // tokens already in the cache before these
  int64_t n_head = 0;     // query heads
  int64_t n_head_kv = 0;  // key/value heads (n_head % n_head_kv == 0: grouped-query)
  int64_t head_dim_k = 0;
  int64_t head_dim_v = 0;
  float scale = 1.0f;     // applied to q.k before softmax
  int64_t sliding_window = 0;  // >0: a query at position p sees keys at p-window < pos <= p
  float softcap = 0.0f;        // >0: scores = softcap * tanh(scores / softcap)
};

// Where one layer's cached keys and values are. A row holds one position's keys
// (or values) of every kv head, head h at h * head_dim elements: f16 bits, or
// q8_0 blocks of 32 (head sizes then multiples of 32). Positions come in blocks
// of block_positions rows, row_bytes apart; position p is row p % block_positions
// of block blocks[p / block_positions], blocks being block_stride bytes apart.
// block_positions == 0 means one contiguous run: position p at p * row_bytes.
struct KvLayerView {
  DType type = DType::kF16;    // kF16 or kQ8_0, keys and values alike
  const uint8_t* k = nullptr;  // block 0, row 0 of the keys
  const uint8_t* v = nullptr;  // block 0, row 0 of the values
  int64_t row_bytes = 0;
  int64_t block_positions = 0;
  int64_t block_stride = 0;
  const int32_t* blocks = nullptr;

  // Bytes from k (or v) to position p's row.
  int64_t row_offset(int64_t p) const {
    if (block_positions <= 0) return p * row_bytes;
    return blocks[p / block_positions] * block_stride + (p % block_positions) * row_bytes;
  }
};
// True when attention can read a cache of this type with these head sizes.
bool attention_supports(DType type, int64_t head_dim_k, int64_t head_dim_v);

// Causal attention of the new tokens (positions n_past .. n_past+n_tokens-1) over
// the cache, which already holds keys/values for positions 0 .. n_past+n_tokens-1.
//   q:   f32 [n_tokens][n_head][head_dim_k]
//   out: f32 [n_tokens][n_head][head_dim_v]
// Query head h uses kv head h / (n_head / n_head_kv). Numerics follow the GGUF
// reference runtime: for f16 caches q is rounded to f16 before q.k and the
// probabilities are rounded to f16 before the weighted sum of v; for q8_0 caches
// q is quantized to q8_0 (integer dot products, exact) and the probabilities stay
// f32. Accumulation is f32, in position order, so a cache in blocks gives the
// very same bits as a contiguous one.
// scratch must hold attention_scratch_floats(params, pool threads) floats.
// out may be q itself when head_dim_k == head_dim_v. Scores are scale * q.k, then
// softcap * tanh(score * (1/softcap)) when softcap > 0: the cap sees scaled scores,
// as with gemma2's pre-scaled queries in llama.cpp.
int64_t attention_scratch_floats(const AttentionParams& p, int n_threads);
void attention(const AttentionParams& p, const float* q, const KvLayerView& kv, float* out, float* scratch,
               ThreadPool* pool);

// One sequence's part of a batch (continuous batching): its queries over its cache.
struct AttentionJob {
  AttentionParams params;
  const float* q = nullptr;
  KvLayerView kv;
  float* out = nullptr;
};
// attention() of every job in one parallel loop over all (job, token, head)
// pairs, so that many short sequences cost one fork-join, not one each; each
// job's output is bit for bit what attention() gives it. scratch must hold
// attention_scratch_floats of the job that sees the most positions.
void attention_batch(std::span<const AttentionJob> jobs, float* scratch, ThreadPool* pool);

// ---- which implementation runs (tests, benchmarks) ----
// The vector paths are Google Highway code compiled for several targets. These are
// the ones this CPU can run, best first: "AVX3", "AVX2", "SSE4", "SCALAR" (the last
// is Highway's one-lane fallback, not the ref:: functions).
std::vector<std::string> ops_vector_targets();
// Makes the public functions above run one path: a name from ops_vector_targets(),
// "ref" for the scalar references, or "" for the automatic choice (the best target,
// capped by HEARTH_ISA; HEARTH_ISA=scalar means ref). Returns false for a name it
// cannot run. Process-wide and not thread-safe: for tests and benchmarks.
bool set_ops_path(const std::string& name);
// The path the public functions run now ("ref" or a target name).
std::string ops_active_path();

// Scalar references of everything above, for tests and as the fallback.
namespace ref {
void add(const float* a, const float* b, float* y, int64_t n);
void mul(const float* a, const float* b, float* y, int64_t n);
void scale(const float* x, float s, float* y, int64_t n);
void add_row_broadcast(const float* x, const float* b, float* y, int64_t n_rows, int64_t n);
void silu(const float* x, float* y, int64_t n);
void gelu(const float* x, float* y, int64_t n);
void swiglu(const float* gate, const float* up, float* y, int64_t n);
void geglu(const float* gate, const float* up, float* y, int64_t n);
void round_to_f16(const float* x, float* y, int64_t n);
void rms_norm(const float* x, const float* weight, float* y, int64_t n_rows, int64_t n, float eps);
void softmax(float* x, int64_t n);
void rope(float* x, int64_t n_tokens, int64_t n_heads, int64_t head_dim, int64_t n_rot,
          const int32_t* positions, float freq_base, float freq_scale, RopeMode mode,
          const float* freq_factors = nullptr);
void attention(const AttentionParams& p, const float* q, const KvLayerView& kv, float* out);
}  // namespace ref

}  // namespace hearth::cpu
