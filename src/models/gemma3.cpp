// Gemma 3: embeddings scaled by sqrt(n_embd), per-head RMSNorm of queries and
// keys, norms after attention and after the feed-forward, a GELU-gated
// feed-forward, and sliding-window attention on five of every six layers
// (whose rotary base is the local 10000, the global layers use rope.freq_base).
#include <cmath>

#include "formats/gguf.h"
#include "models/architectures.h"
#include "models/graph_builder.h"

namespace hearth::models {
namespace {

constexpr int kSlidingWindowPattern = 6;  // every sixth layer attends globally
constexpr float kLocalRopeBase = 10000.0f;

}  // namespace

graph::Graph build_gemma3(const formats::GgufFile& file, const HParams& hp) {
  GraphBuilder b(file, hp);
  const int64_t q_dim = hp.n_head * hp.head_dim_k;
  const int64_t k_dim = hp.n_head_kv * hp.head_dim_k;
  const int64_t v_dim = hp.n_head_kv * hp.head_dim_v;
  const auto pattern = static_cast<int64_t>(
      file.get_uint_or(hp.arch + ".attention.sliding_window_pattern", kSlidingWindowPattern));

  const int32_t tok_embd = b.weight("token_embd.weight", hp.n_embd, hp.n_vocab);
  int32_t x = b.scale(b.embed(tok_embd), std::sqrt(static_cast<float>(hp.n_embd)));
  for (int32_t il = 0; il < hp.n_layer; ++il) {
    const std::string blk = "blk." + std::to_string(il) + ".";
    const bool local = hp.sliding_window > 0 && pattern > 0 && (il + 1) % pattern != 0;
    const float rope_base = local ? kLocalRopeBase : hp.rope_freq_base;
    const float rope_scale = local ? 1.0f : hp.rope_freq_scale;

    int32_t cur = b.rms_norm(x, b.vector(blk + "attn_norm.weight", hp.n_embd), hp.norm_eps);
    int32_t q = b.matmul(cur, b.weight(blk + "attn_q.weight", hp.n_embd, q_dim));
    int32_t k = b.matmul(cur, b.weight(blk + "attn_k.weight", hp.n_embd, k_dim));
    const int32_t v = b.matmul(cur, b.weight(blk + "attn_v.weight", hp.n_embd, v_dim));
    q = b.rms_norm(q, b.vector(blk + "attn_q_norm.weight", hp.head_dim_k), hp.norm_eps, hp.head_dim_k);
    k = b.rms_norm(k, b.vector(blk + "attn_k_norm.weight", hp.head_dim_k), hp.norm_eps, hp.head_dim_k);
    q = b.rope(q, hp.n_head, hp.head_dim_k, hp.n_rot, rope_base, rope_scale, graph::RopeKind::kNeox);
    k = b.rope(k, hp.n_head_kv, hp.head_dim_k, hp.n_rot, rope_base, rope_scale, graph::RopeKind::kNeox);
    // Queries are scaled before attention (1/sqrt(head_dim)), as the reference does.
    q = b.scale(q, 1.0f / std::sqrt(static_cast<float>(hp.head_dim_k)));
    b.store_kv(il, k, v);
    int32_t attn = b.attention(il, q, 1.0f, local ? hp.sliding_window : 0);
    attn = b.matmul(attn, b.weight(blk + "attn_output.weight", hp.n_head * hp.head_dim_v, hp.n_embd));
    attn = b.rms_norm(attn, b.vector(blk + "post_attention_norm.weight", hp.n_embd), hp.norm_eps);
    x = b.add(x, attn);

    cur = b.rms_norm(x, b.vector(blk + "ffn_norm.weight", hp.n_embd), hp.norm_eps);
    const int32_t gate = b.matmul(cur, b.weight(blk + "ffn_gate.weight", hp.n_embd, hp.n_ff));
    const int32_t up = b.matmul(cur, b.weight(blk + "ffn_up.weight", hp.n_embd, hp.n_ff));
    cur = b.matmul(b.geglu(gate, up), b.weight(blk + "ffn_down.weight", hp.n_ff, hp.n_embd));
    cur = b.rms_norm(cur, b.vector(blk + "post_ffw_norm.weight", hp.n_embd), hp.norm_eps);
    x = b.add(x, cur);
  }
  x = b.last_rows(x);
  x = b.rms_norm(x, b.vector("output_norm.weight", hp.n_embd), hp.norm_eps);
  const int32_t output = b.optional_weight("output.weight", hp.n_embd, hp.n_vocab).value_or(tok_embd);
  return b.finish(b.matmul(x, output));
}

}  // namespace hearth::models
