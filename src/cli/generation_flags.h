// Flags shared by the commands that generate text (run, chat): model, context,
// threads and sampling, with their validation.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "cli/device_flags.h"
#include "cli/memory_flags.h"
#include "runtime/sampler.h"
#include "runtime/session.h"

namespace hearth::cli {

struct GenerationFlags {
  std::string model;
  int64_t n_predict = 256;
  int64_t n_ctx = 0;
  int64_t n_batch = 256;
  int n_threads = 0;
  float temperature = 0.8f;
  int32_t top_k = 40;
  float top_p = 0.95f;
  float min_p = 0.05f;
  float repeat_penalty = 1.0f;
  int32_t repeat_last_n = 64;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::optional<uint64_t> seed;
  MemoryFlags memory;
  DeviceFlags device;
};

void add_generation_flags(CLI::App* app, GenerationFlags& flags);
// Validates every value (throws Error(kInvalidArgument) naming the flag).
runtime::SamplerParams sampler_params(const GenerationFlags& flags, uint64_t* seed_used);
std::unique_ptr<runtime::Session> open_session(const GenerationFlags& flags);

}  // namespace hearth::cli
