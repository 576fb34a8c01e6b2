// Model: a loaded language model — the mapped GGUF file, its hyper-parameters,
// tokenizer, chat template and forward-pass graph. Immutable once loaded; many
// sessions may share one.
#pragma once

#include <memory>
#include <string>

#include "formats/gguf.h"
#include "graph/graph.h"
#include "models/hparams.h"
#include "models/tokenizer.h"

namespace hearth::models {

class Model {
 public:
  // Maps path (or reads it, see FileLoadOptions) and builds everything; throws
  // hearth::Error naming the file.
  static std::shared_ptr<const Model> load(const std::string& path, const FileLoadOptions& options = {});

  const std::string& path() const { return file_->path(); }
  const formats::GgufFile& file() const { return *file_; }
  const HParams& hparams() const { return hparams_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const graph::Graph& graph() const { return graph_; }
  // The GGUF's tokenizer.chat_template; empty when the file has none.
  std::string chat_template() const { return file_->get_string_or("tokenizer.chat_template", ""); }
  int64_t weight_bytes() const { return weight_bytes_; }
  double load_ms() const { return load_ms_; }

 private:
  Model() = default;
  std::unique_ptr<formats::GgufFile> file_;
  HParams hparams_;
  std::unique_ptr<Tokenizer> tokenizer_;
  graph::Graph graph_;
  int64_t weight_bytes_ = 0;
  double load_ms_ = 0;
};

}  // namespace hearth::models
