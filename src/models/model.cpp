#include "models/model.h"

#include <chrono>
#include <functional>

#include "graph/regrouped_weight.h"
#include "models/architectures.h"

namespace hearth::models {

std::shared_ptr<const Model> Model::load(const std::string& path, const FileLoadOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<Model> m(new Model());
  m->file_ = formats::GgufFile::open(path, options);
  m->hparams_ = read_hparams(*m->file_);
  m->tokenizer_ = Tokenizer::from_gguf(*m->file_);
  m->graph_ = build_graph(*m->file_, m->hparams_);
  std::function<void(const void*, size_t)> release;  // a mapping drops the pages its copies replace
  if (const MappedFile* mapping = m->file_->mapping())
    release = [mapping](const void* p, size_t n) { mapping->release(p, n); };
  graph::mark_regroupable(m->graph_, release);
  for (const auto& t : m->file_->tensors()) m->weight_bytes_ += t.n_bytes();
  m->load_ms_ = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return m;
}

}  // namespace hearth::models
