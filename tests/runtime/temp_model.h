// A small random-weight model written to a temporary file for a test, and
// removed with the object.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <unistd.h>

#include "models/model.h"
#include "models/synth.h"

namespace hearth::test_env {

class TempModel {
 public:
  TempModel(const models::SynthSpec& spec, const std::string& tag)
      : path_(std::filesystem::temp_directory_path() /
              ("hearth_" + tag + "_" + std::to_string(::getpid()) + ".gguf")) {
    models::write_synthetic_model(spec, path_.string());
    model_ = models::Model::load(path_.string());
  }
  ~TempModel() {
    model_.reset();
    std::filesystem::remove(path_);
  }
  TempModel(const TempModel&) = delete;
  TempModel& operator=(const TempModel&) = delete;

  std::string path() const { return path_.string(); }
  const std::shared_ptr<const models::Model>& model() const { return model_; }

 private:
  std::filesystem::path path_;
  std::shared_ptr<const models::Model> model_;
};

// The spec most runtime tests use: two layers of the given weight type.
inline models::SynthSpec small_spec(DType weights) {
  models::SynthSpec spec;
  spec.n_layer = 2;
  spec.weight_type = weights;
  return spec;
}

}  // namespace hearth::test_env
