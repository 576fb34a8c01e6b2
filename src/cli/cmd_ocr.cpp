// hearth ocr: the text in an image, through the first OCR plugin found (the
// bundled ocr_tesseract unless --plugin names another). --json prints the
// plugin's whole result: text, word boxes and confidences.
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "plugins/plugin_calls.h"

namespace hearth::cli {
namespace {

struct OcrFlags {
  std::string image;
  std::vector<std::string> dirs;
  std::string plugin;
  std::string language;
  int dpi = 0;
  double timeout = 120;
  bool json = false;
};

int ocr(const OcrFlags& f) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(f.image, ec)) throw Error(ErrorCode::kNotFound, f.image + ": no such image file");
  if (!(f.timeout > 0 && f.timeout <= 86400)) throw Error(ErrorCode::kInvalidArgument, "--timeout must be within (0, 86400] seconds");
  if (f.dpi != 0 && (f.dpi < 70 || f.dpi > 2400)) throw Error(ErrorCode::kInvalidArgument, "--dpi must be within 70..2400");
  plugins::HostOptions o;
  o.plugin_dirs = f.dirs;
  o.call_timeout = std::chrono::milliseconds(static_cast<long long>(f.timeout * 1000));
  plugins::PluginHost host(o);
  plugins::OcrOptions options;
  options.plugin = f.plugin;
  options.language = f.language;
  options.dpi = f.dpi;
  std::string plugin;
  nlohmann::json out = plugins::ocr_image(host, f.image, options, &plugin);
  if (f.json) {
    out["plugin"] = plugin;
    out["image"] = f.image;
    std::cout << out.dump(2) << "\n";
  } else {
    std::string text = out["text"].get<std::string>();
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
    std::cout << text << "\n";
  }
  return 0;
}

}  // namespace

Command add_ocr_command(CLI::App& root) {
  auto f = std::make_shared<OcrFlags>();
  CLI::App* app = root.add_subcommand("ocr", "the text in an image (PNG, JPEG, PPM, ...) through an OCR plugin");
  app->add_option("IMAGE", f->image, "the image file")->required();
  app->add_flag("--json", f->json, "print text, word boxes and confidences as JSON");
  app->add_option("--plugin-dir", f->dirs, "also search this directory for plugins (first; repeatable)");
  app->add_option("--plugin", f->plugin, "the OCR plugin to use (default: the first found)");
  app->add_option("--lang", f->language, "the language model (Tesseract: eng, deu, ...; default eng)");
  app->add_option("--dpi", f->dpi, "the image's resolution when the file does not record one (default 300)");
  app->add_option("--timeout", f->timeout, "seconds before the OCR call is killed")->capture_default_str();
  return {app, [f] { return ocr(*f); }};
}

}  // namespace hearth::cli
