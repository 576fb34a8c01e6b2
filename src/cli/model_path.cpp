#include "cli/model_path.h"

#include <cstdlib>
#include <filesystem>

#include "core/error.h"

namespace hearth::cli {

std::string hearth_home() {
  if (const char* h = std::getenv("HEARTH_HOME"); h && *h) return h;
  const char* home = std::getenv("HOME");
  return std::string(home && *home ? home : ".") + "/.cache/hearth";
}

std::string model_store() { return hearth_home() + "/models"; }

std::string resolve_model(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  if (name_or_path.empty()) {
    const std::string path = model_store() + "/" + kDefaultModelFile;
    if (!fs::exists(path))
      throw Error(ErrorCode::kNotFound, "the default model is not installed (" + path +
                                            "); run scripts/setup.sh or pass -m FILE.gguf");
    return path;
  }
  std::error_code ec;
  if (fs::is_regular_file(name_or_path, ec)) return name_or_path;
  if (fs::is_directory(name_or_path, ec))
    throw Error(ErrorCode::kInvalidArgument, name_or_path + ": is a directory, not a GGUF model file");
  for (const std::string& candidate : {model_store() + "/" + name_or_path, model_store() + "/" + name_or_path + ".gguf"})
    if (fs::is_regular_file(candidate, ec)) return candidate;
  throw Error(ErrorCode::kNotFound, name_or_path + ": no such model file (nor a model of that name in " +
                                        model_store() + ")");
}

}  // namespace hearth::cli
