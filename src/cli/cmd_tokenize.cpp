// hearth tokenize: text to token ids with a model's vocabulary.
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/model_path.h"
#include "formats/gguf.h"
#include "models/tokenizer.h"

namespace hearth::cli {
namespace {

struct TokenizeFlags {
  std::string model;
  std::string prompt;
  bool json = false;
  bool no_special = false;
  bool no_parse_special = false;
};

int tokenize(const TokenizeFlags& f) {
  auto file = formats::GgufFile::open(resolve_model(f.model));
  auto tok = models::Tokenizer::from_gguf(*file);
  const std::vector<int32_t> ids = tok->encode(f.prompt, !f.no_special, !f.no_parse_special);
  // A token may be part of a UTF-8 sequence: such bytes print as U+FFFD.
  auto dump = [](const nlohmann::ordered_json& v) {
    return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  };
  if (f.json) {
    nlohmann::ordered_json j;
    j["tokens"] = ids;
    j["decoded"] = tok->decode(ids);
    std::cout << dump(j) << "\n";
  } else {
    for (int32_t id : ids) std::cout << id << "\t" << dump(tok->token_to_piece(id)) << "\n";
  }
  return 0;
}

}  // namespace

Command add_tokenize_command(CLI::App& root) {
  auto flags = std::make_shared<TokenizeFlags>();
  CLI::App* app = root.add_subcommand("tokenize", "Show the token ids of a text");
  app->add_option("-m,--model", flags->model, "GGUF file or model name (default: the default model)");
  app->add_option("-p,--prompt", flags->prompt, "the text")->required();
  app->add_flag("--json", flags->json, "print {\"tokens\": [...], \"decoded\": ...}");
  app->add_flag("--no-special", flags->no_special, "do not add BOS/EOS");
  app->add_flag("--no-parse-special", flags->no_parse_special, "treat special-token texts as plain text");
  return {app, [flags] { return tokenize(*flags); }};
}

}  // namespace hearth::cli
