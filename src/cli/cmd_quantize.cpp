// hearth quantize: write a copy of a GGUF model with its weight matrices converted
// to one type, and say what was converted, how big the files are and how long it took.
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "cli/model_path.h"
#include "models/model_quantizer.h"

namespace hearth::cli {
namespace {

struct QuantizeFlags {
  std::string input;
  std::string output;
  std::string type;
  int n_threads = 0;
  bool json = false;
};

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

std::string why(const models::Conversion& c, DType target) {
  switch (c.kind) {
    case models::ConversionKind::kConverted: return "converted";
    case models::ConversionKind::kFallback:
      return "fallback: rows not a multiple of " + std::string(dtype_name(target)) + "'s block of " +
             std::to_string(dtype_info(target).block_elems);
    case models::ConversionKind::kCopied: return "copied: already " + std::string(dtype_name(c.to));
    case models::ConversionKind::kKept: return "kept: not a weight matrix";
  }
  return "";
}

int quantize(const QuantizeFlags& f) {
  models::QuantizeOptions options;
  options.type = models::parse_quantize_type(f.type);
  options.n_threads = f.n_threads;
  const models::QuantizeReport r = models::quantize_model(resolve_model(f.input), f.output, options);

  if (f.json) {
    nlohmann::ordered_json j;
    j["input"] = r.input;
    j["output"] = r.output;
    j["type"] = std::string(dtype_name(r.type));
    j["file_type"] = r.file_type;
    j["n_tensors"] = r.n_tensors;
    nlohmann::ordered_json conversions = nlohmann::ordered_json::array();
    for (const auto& c : r.conversions)
      conversions.push_back({{"from", std::string(dtype_name(c.from))},
                             {"to", std::string(dtype_name(c.to))},
                             {"kind", models::conversion_kind_name(c.kind)},
                             {"count", c.count},
                             {"bytes_in", c.bytes_in},
                             {"bytes_out", c.bytes_out}});
    j["conversions"] = conversions;
    j["bytes_in"] = r.file_bytes_in;
    j["bytes_out"] = r.file_bytes_out;
    j["mib_in"] = mib(r.file_bytes_in);
    j["mib_out"] = mib(r.file_bytes_out);
    j["seconds"] = r.seconds;
    j["threads"] = r.n_threads;
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::printf("quantized %s -> %s as %s (general.file_type %u)\n", r.input.c_str(), r.output.c_str(),
              std::string(dtype_name(r.type)).c_str(), r.file_type);
  for (const auto& c : r.conversions)
    std::printf("  %-5s -> %-5s %5lld tensor%s  %s\n", std::string(dtype_name(c.from)).c_str(),
                std::string(dtype_name(c.to)).c_str(), static_cast<long long>(c.count),
                c.count == 1 ? " " : "s", why(c, r.type).c_str());
  std::printf("size  %.1f MiB -> %.1f MiB\n", mib(r.file_bytes_in), mib(r.file_bytes_out));
  std::printf("time  %.2f s on %d thread%s\n", r.seconds, r.n_threads, r.n_threads == 1 ? "" : "s");
  return 0;
}

}  // namespace

Command add_quantize_command(CLI::App& root) {
  auto flags = std::make_shared<QuantizeFlags>();
  CLI::App* app = root.add_subcommand(
      "quantize", "Write a copy of a GGUF model with its weight matrices converted to TYPE");
  app->add_option("input", flags->input, "GGUF file or model name in the store")->required();
  app->add_option("output", flags->output, "GGUF file to write (must not be the input)")->required();
  app->add_option("type", flags->type, "target type: " + models::quantize_target_names() + " (any case)")
      ->required();
  app->add_option("-t,--threads", flags->n_threads, "threads (0: all cores)")->capture_default_str();
  app->add_flag("--json", flags->json, "print the summary as one JSON object");
  app->footer(
      "2-D weight matrices are converted; norms, biases and other tensors are kept as they are. A K-quant "
      "whose\n"
      "block of 256 does not fit a matrix's rows falls back as llama.cpp does (q4_k -> q5_0, q5_k -> q5_1,\n"
      "q6_k -> q8_0), and to f16 when no block fits.");
  return {app, [flags] { return quantize(*flags); }};
}

}  // namespace hearth::cli
