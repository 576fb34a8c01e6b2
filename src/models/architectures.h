// Architecture builders: GGUF metadata and tensors → the forward-pass graph.
#pragma once

#include <string>
#include <vector>

#include "graph/graph.h"
#include "models/hparams.h"

namespace hearth::formats {
class GgufFile;
}

namespace hearth::models {

// Builds the graph for file's general.architecture; throws Error(kUnsupported)
// naming the architecture when there is no builder for it.
graph::Graph build_graph(const formats::GgufFile& file, const HParams& hp);
std::vector<std::string> supported_architectures();

// One builder per family (llama.cpp: llama, mistral, qwen2; gemma3.cpp: gemma3).
graph::Graph build_llama_family(const formats::GgufFile& file, const HParams& hp);
graph::Graph build_gemma3(const formats::GgufFile& file, const HParams& hp);

}  // namespace hearth::models
