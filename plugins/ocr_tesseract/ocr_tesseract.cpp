// ocr_tesseract: Hearth's OCR plugin on Tesseract. An image file, read by
// Leptonica (PNG, JPEG, PNM/PPM, TIFF, BMP, GIF, WebP), to its text, with each
// word's box and confidence. Sees Hearth only through include/hearth/plugin.h.
#include <leptonica/allheaders.h>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "hearth/plugin.h"

namespace {

using nlohmann::json;

const char kInputSchema[] = R"({
  "type": "object", "required": ["image_path"], "additionalProperties": false,
  "properties": {
    "image_path": {"type": "string"},
    "language": {"type": "string"},
    "dpi": {"type": "integer", "minimum": 70, "maximum": 2400}
  }})";

const char kOutputSchema[] = R"({
  "type": "object", "required": ["text", "words", "width", "height", "language"],
  "properties": {
    "text": {"type": "string"},
    "language": {"type": "string"},
    "width": {"type": "integer"}, "height": {"type": "integer"},
    "mean_confidence": {"type": "number"},
    "words": {"type": "array", "items": {
      "type": "object", "required": ["text", "confidence", "box"],
      "properties": {
        "text": {"type": "string"},
        "confidence": {"type": "number", "minimum": 0, "maximum": 100},
        "box": {"type": "object", "required": ["x", "y", "width", "height"],
                "properties": {"x": {"type": "integer"}, "y": {"type": "integer"},
                               "width": {"type": "integer"}, "height": {"type": "integer"}}}}}}
  }})";

char* copy_text(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

void fail(hearth_result* r, int32_t status, const std::string& message) {
  r->status = status;
  r->error_message = copy_text(message);
}

struct PixFree {
  void operator()(Pix* p) const { pixDestroy(&p); }
};

// Reads the image or says, in one line naming the file, why it cannot.
std::unique_ptr<Pix, PixFree> read_image(const std::string& path, hearth_result* r) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    fail(r, HEARTH_STATUS_NOT_FOUND, path + ": no such image file");
    return nullptr;
  }
  if (std::filesystem::is_directory(path, ec)) {
    fail(r, HEARTH_STATUS_INVALID_INPUT, path + ": is a directory, not an image");
    return nullptr;
  }
  if (std::filesystem::file_size(path, ec) == 0) {
    fail(r, HEARTH_STATUS_INVALID_INPUT, path + ": the image file is empty");
    return nullptr;
  }
  l_int32 format = IFF_UNKNOWN;
  if (findFileFormat(path.c_str(), &format) != 0 || format == IFF_UNKNOWN) {
    fail(r, HEARTH_STATUS_INVALID_INPUT,
         path + ": not an image format this plugin reads (PNG, JPEG, PNM/PPM, TIFF, BMP, GIF, WebP)");
    return nullptr;
  }
  std::unique_ptr<Pix, PixFree> pix(pixRead(path.c_str()));
  if (!pix) {
    const char* ext = getFormatExtension(format);
    fail(r, HEARTH_STATUS_INVALID_INPUT,
         path + ": a " + std::string(ext ? ext : "image") + " file that cannot be decoded (corrupt or truncated)");
    return nullptr;
  }
  return pix;
}

json recognise(tesseract::TessBaseAPI& api, Pix* pix, const std::string& language) {
  json out;
  out["language"] = language;
  out["width"] = pixGetWidth(pix);
  out["height"] = pixGetHeight(pix);
  std::unique_ptr<char[]> text(api.GetUTF8Text());
  out["text"] = text ? std::string(text.get()) : std::string();
  out["mean_confidence"] = api.MeanTextConf();
  out["words"] = json::array();
  std::unique_ptr<tesseract::ResultIterator> it(api.GetIterator());
  if (it) {
    do {
      std::unique_ptr<char[]> word(it->GetUTF8Text(tesseract::RIL_WORD));
      if (!word || !*word.get()) continue;
      int left = 0, top = 0, right = 0, bottom = 0;
      it->BoundingBox(tesseract::RIL_WORD, &left, &top, &right, &bottom);
      float conf = it->Confidence(tesseract::RIL_WORD);
      if (conf < 0) conf = 0;
      if (conf > 100) conf = 100;
      out["words"].push_back({{"text", std::string(word.get())},
                              {"confidence", conf},
                              {"box", {{"x", left}, {"y", top}, {"width", right - left}, {"height", bottom - top}}}});
    } while (it->Next(tesseract::RIL_WORD));
  }
  return out;
}

void ocr_call(const char* input_json, hearth_result* r) {
  // Nothing may unwind through the C boundary.
  try {
    const json in = json::parse(input_json);
    const std::string path = in.at("image_path").get<std::string>();
    const std::string language = in.value("language", std::string("eng"));
    auto pix = read_image(path, r);
    if (!pix) return;
    tesseract::TessBaseAPI api;
    if (api.Init(nullptr, language.c_str()) != 0) {
      fail(r, HEARTH_STATUS_UNSUPPORTED,
           "Tesseract has no model for language '" + language + "' (install tesseract-ocr-" + language + ")");
      return;
    }
    api.SetImage(pix.get());
    // Leptonica reads the resolution a file records; without one Tesseract
    // guesses (and says so on stderr), which is worse than an explicit value.
    if (in.contains("dpi")) {
      api.SetSourceResolution(in["dpi"].get<int>());
    } else if (pixGetXRes(pix.get()) <= 0) {
      api.SetSourceResolution(300);
    }
    if (api.Recognize(nullptr) != 0) {
      fail(r, HEARTH_STATUS_INTERNAL, path + ": Tesseract failed to recognise the image");
      return;
    }
    const std::string out = recognise(api, pix.get(), language).dump();
    api.End();
    r->status = HEARTH_STATUS_OK;
    r->output_json = copy_text(out);
    if (!r->output_json) fail(r, HEARTH_STATUS_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    fail(r, HEARTH_STATUS_INTERNAL, std::string("ocr_tesseract: ") + e.what());
  }
}

void ocr_init(const char*, hearth_result* r) {
  // Leptonica reports read errors on stderr; the plugin reports them itself.
  setMsgSeverity(L_SEVERITY_NONE);
  r->status = HEARTH_STATUS_OK;
}

void free_text(char* text) { std::free(text); }

const hearth_capability kCapabilities[] = {
    {"ocr", HEARTH_CAPABILITY_OCR, "Reads the text in an image, with each word's box and confidence.", kInputSchema,
     kOutputSchema, ocr_call},
};

const hearth_plugin kPlugin = {
    HEARTH_PLUGIN_ABI_VERSION,
    sizeof(hearth_plugin),
    "ocr_tesseract",
    "1.0.0",
    "Optical character recognition with Tesseract: image (PNG, JPEG, PPM, TIFF, ...) to text, word boxes and "
    "confidences.",
    1,
    kCapabilities,
    ocr_init,
    nullptr,
    free_text,
};

}  // namespace

extern "C" HEARTH_PLUGIN_EXPORT const hearth_plugin* hearth_plugin_entry(void) { return &kPlugin; }
