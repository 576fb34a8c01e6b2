// GraphBuilder: what the architecture builders use to turn GGUF tensors into a
// graph. Every weight is looked up by name and checked (shape, dtype, kernel
// support) so a model the runtime cannot run fails at load, naming the tensor.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "graph/graph.h"
#include "models/hparams.h"

namespace hearth::formats {
class GgufFile;
}

namespace hearth::models {

class GraphBuilder {
 public:
  GraphBuilder(const formats::GgufFile& file, const HParams& hp);

  // A weight of the given shape (cols = innermost); throws Error naming it when
  // it is missing, misshapen or of a type without kernels.
  int32_t weight(const std::string& name, int64_t cols, int64_t rows = 1);
  std::optional<int32_t> optional_weight(const std::string& name, int64_t cols, int64_t rows = 1);
  // A norm or bias vector: must be f32.
  int32_t vector(const std::string& name, int64_t n);
  std::optional<int32_t> optional_vector(const std::string& name, int64_t n);

  int32_t embed(int32_t table);
  int32_t rms_norm(int32_t x, std::optional<int32_t> weight, float eps, int64_t group = 0);
  int32_t matmul(int32_t x, int32_t weight);
  int32_t add(int32_t a, int32_t b);
  int32_t add_bias(int32_t x, int32_t bias);
  int32_t scale(int32_t x, float s);
  int32_t rope(int32_t x, int64_t n_head, int64_t head_dim, int64_t n_rot, float freq_base, float freq_scale,
               graph::RopeKind kind, std::optional<int32_t> freq_factors = std::nullopt);
  void store_kv(int32_t layer, int32_t k, int32_t v);
  int32_t attention(int32_t layer, int32_t q, float scale, int64_t sliding_window = 0, float softcap = 0);
  int32_t swiglu(int32_t gate, int32_t up);
  int32_t geglu(int32_t gate, int32_t up);
  int32_t last_rows(int32_t x);

  graph::Graph finish(int32_t logits);

 private:
  int32_t unary(graph::OpKind op, int32_t x, int64_t cols, const graph::NodeParams& p = {}, int32_t w = -1);
  int32_t value_like(int32_t x, int64_t cols, const char* what);

  const formats::GgufFile& file_;
  const HParams& hp_;
  graph::Graph g_;
};

}  // namespace hearth::models
