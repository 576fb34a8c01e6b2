// The llama family: pre-norm transformer with RMSNorm, rotary positions,
// grouped-query attention and a SwiGLU feed-forward. qwen2 adds q/k/v biases
// and rotates in NeoX order.
#include <cmath>

#include "formats/gguf.h"
#include "models/architectures.h"
#include "models/graph_builder.h"

namespace hearth::models {

graph::Graph build_llama_family(const formats::GgufFile& file, const HParams& hp) {
  GraphBuilder b(file, hp);
  const bool qwen2 = hp.arch == "qwen2";
  const graph::RopeKind rope_kind = qwen2 ? graph::RopeKind::kNeox : graph::RopeKind::kNormal;
  const int64_t q_dim = hp.n_head * hp.head_dim_k;
  const int64_t k_dim = hp.n_head_kv * hp.head_dim_k;
  const int64_t v_dim = hp.n_head_kv * hp.head_dim_v;

  const int32_t tok_embd = b.weight("token_embd.weight", hp.n_embd, hp.n_vocab);
  // Llama 3.1-style long-context models divide each rotary frequency by a factor.
  const auto rope_freqs = b.optional_vector("rope_freqs.weight", hp.n_rot / 2);
  int32_t x = b.embed(tok_embd);
  for (int32_t il = 0; il < hp.n_layer; ++il) {
    const std::string blk = "blk." + std::to_string(il) + ".";
    int32_t cur = b.rms_norm(x, b.vector(blk + "attn_norm.weight", hp.n_embd), hp.norm_eps);
    int32_t q = b.matmul(cur, b.weight(blk + "attn_q.weight", hp.n_embd, q_dim));
    int32_t k = b.matmul(cur, b.weight(blk + "attn_k.weight", hp.n_embd, k_dim));
    int32_t v = b.matmul(cur, b.weight(blk + "attn_v.weight", hp.n_embd, v_dim));
    if (auto bq = b.optional_vector(blk + "attn_q.bias", q_dim)) q = b.add_bias(q, *bq);
    if (auto bk = b.optional_vector(blk + "attn_k.bias", k_dim)) k = b.add_bias(k, *bk);
    if (auto bv = b.optional_vector(blk + "attn_v.bias", v_dim)) v = b.add_bias(v, *bv);
    q = b.rope(q, hp.n_head, hp.head_dim_k, hp.n_rot, hp.rope_freq_base, hp.rope_freq_scale, rope_kind, rope_freqs);
    k = b.rope(k, hp.n_head_kv, hp.head_dim_k, hp.n_rot, hp.rope_freq_base, hp.rope_freq_scale, rope_kind, rope_freqs);
    b.store_kv(il, k, v);
    int32_t attn = b.attention(il, q, 1.0f / std::sqrt(static_cast<float>(hp.head_dim_k)), hp.sliding_window);
    attn = b.matmul(attn, b.weight(blk + "attn_output.weight", hp.n_head * hp.head_dim_v, hp.n_embd));
    if (auto bo = b.optional_vector(blk + "attn_output.bias", hp.n_embd)) attn = b.add_bias(attn, *bo);
    x = b.add(x, attn);

    cur = b.rms_norm(x, b.vector(blk + "ffn_norm.weight", hp.n_embd), hp.norm_eps);
    const int32_t gate = b.matmul(cur, b.weight(blk + "ffn_gate.weight", hp.n_embd, hp.n_ff));
    const int32_t up = b.matmul(cur, b.weight(blk + "ffn_up.weight", hp.n_embd, hp.n_ff));
    cur = b.matmul(b.swiglu(gate, up), b.weight(blk + "ffn_down.weight", hp.n_ff, hp.n_embd));
    x = b.add(x, cur);
  }
  x = b.last_rows(x);
  x = b.rms_norm(x, b.vector("output_norm.weight", hp.n_embd), hp.norm_eps);
  const int32_t output = b.optional_weight("output.weight", hp.n_embd, hp.n_vocab).value_or(tok_embd);
  return b.finish(b.matmul(x, output));
}

}  // namespace hearth::models
