#include "cli/memory_flags.h"

#include <cstdio>
#include <filesystem>

#include "cli/model_path.h"
#include "core/byte_size.h"
#include "core/error.h"
#include "runtime/kv_pool.h"
#include "runtime/memory_budget.h"

namespace hearth::cli {
namespace {

int64_t budget(const MemoryFlags& f) {
  return f.max_memory.empty() ? runtime::default_memory_budget() : parse_byte_size(f.max_memory);
}

}  // namespace

void add_memory_flags(CLI::App* app, MemoryFlags& f) {
  app->add_option("--kv-type", f.kv_type, "KV cache storage: f16 or q8_0 (about half the memory)")
      ->capture_default_str();
  app->add_option("--max-memory", f.max_memory,
                  "memory budget, e.g. 6G or 512MiB; a model that would not fit is refused before loading "
                  "(default: physical RAM)");
  app->add_flag("--no-mmap", f.no_mmap, "read the weights into memory instead of mapping the file");
  app->add_flag("--mlock", f.mlock, "lock the weights in RAM so they are never paged out");
}

std::shared_ptr<const models::Model> load_model(const std::string& name_or_path, const MemoryFlags& f) {
  const std::string path = resolve_model(name_or_path);
  const int64_t limit = budget(f);
  if (f.no_mmap) {
    std::error_code ec;
    const auto size = static_cast<int64_t>(std::filesystem::file_size(path, ec));
    if (!ec && size > limit)
      throw Error(ErrorCode::kOutOfMemory, path + ": reading " + format_bytes(size) +
                                               " into memory is over the memory budget of " + format_bytes(limit) +
                                               "; leave out --no-mmap or raise --max-memory");
  }
  FileLoadOptions options;
  options.read_into_heap = f.no_mmap;
  options.lock = f.mlock;
  auto model = models::Model::load(path, options);
  const MappedFile* file = model->file().mapping();
  if (f.mlock && file && !file->locked())
    std::fprintf(stderr, "warning: --mlock: cannot lock %s of weights in RAM (%s); raise the limit with "
                         "'ulimit -l'\n", format_bytes(static_cast<int64_t>(file->size())).c_str(),
                 file->lock_error().c_str());
  return model;
}

void apply_memory_flags(const models::Model& model, const MemoryFlags& f, runtime::SessionOptions& options) {
  options.kv_type = runtime::parse_kv_type(f.kv_type);
  const int64_t limit = budget(f);
  runtime::check_memory_budget(runtime::estimate_memory(model, options), limit, options.kv_type);
}

}  // namespace hearth::cli
