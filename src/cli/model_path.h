// Where models are found: -m accepts a GGUF path or the name of a model in the
// store ($HEARTH_HOME/models, default ~/.cache/hearth/models); no -m means the
// default model.
#pragma once

#include <string>

namespace hearth::cli {

constexpr const char* kDefaultModelFile = "SmolLM2-135M-Instruct.Q4_1.gguf";

std::string hearth_home();
std::string model_store();
// Throws Error(kNotFound) naming every place it looked.
std::string resolve_model(const std::string& name_or_path);

}  // namespace hearth::cli
