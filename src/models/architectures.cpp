#include "models/architectures.h"

#include "core/error.h"
#include "formats/gguf.h"

namespace hearth::models {

std::vector<std::string> supported_architectures() { return {"llama", "mistral", "qwen2", "gemma3"}; }

graph::Graph build_graph(const formats::GgufFile& file, const HParams& hp) {
  if (hp.arch == "llama" || hp.arch == "mistral" || hp.arch == "qwen2") return build_llama_family(file, hp);
  if (hp.arch == "gemma3") return build_gemma3(file, hp);
  std::string known;
  for (const auto& a : supported_architectures()) known += (known.empty() ? "" : ", ") + a;
  throw Error(ErrorCode::kUnsupported,
              file.path() + ": architecture '" + hp.arch + "' is not supported (supported: " + known + ")");
}

}  // namespace hearth::models
