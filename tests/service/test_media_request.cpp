#include "service/media_request.h"

#include <gtest/gtest.h>

#include "service/openai_request.h"

namespace hearth::service {
namespace {

FormField file(std::string name = "a.wav", std::string content = "RIFF....") {
  return {"file", std::move(name), "audio/wav", std::move(content)};
}
FormField text(std::string name, std::string value) { return {std::move(name), "", "", std::move(value)}; }

// The ApiException's param, or "<none>" when nothing was thrown.
template <typename F>
std::string param_of(F&& f) {
  try {
    f();
  } catch (const ApiException& e) {
    EXPECT_EQ(e.status(), 400) << e.what();
    return e.error().param;
  }
  return "<none>";
}

TEST(TranscriptionRequest, ReadsOpenAiFields) {
  const std::vector<FormField> fields = {file(), text("model", "whisper-1"), text("language", "en"),
                                         text("response_format", "verbose_json"),
                                         text("timestamp_granularities[]", "segment"),
                                         text("timestamp_granularities[]", "word"), text("temperature", "0.2")};
  const TranscriptionRequest r = parse_transcription_request(fields);
  EXPECT_EQ(r.file, &fields[0]);
  EXPECT_EQ(r.model, "whisper-1");
  EXPECT_EQ(r.language, "en");
  EXPECT_EQ(r.format, plugins::TranscriptFormat::kVerboseJson);
  EXPECT_TRUE(r.word_timestamps);
  EXPECT_DOUBLE_EQ(r.temperature, 0.2);
  EXPECT_EQ(parse_transcription_request({file()}).format, plugins::TranscriptFormat::kJson);  // OpenAI's default
}

TEST(TranscriptionRequest, EachMistakeNamesItsField) {
  EXPECT_EQ(param_of([] { parse_transcription_request({text("model", "x")}); }), "file");
  EXPECT_EQ(param_of([] { parse_transcription_request({text("file", "a.wav")}); }), "file");
  EXPECT_EQ(param_of([] { parse_transcription_request({file("a.wav", "")}); }), "file");
  EXPECT_EQ(param_of([] { parse_transcription_request({file(), text("response_format", "mp3")}); }), "response_format");
  EXPECT_EQ(param_of([] { parse_transcription_request({file(), text("language", "EN!")}); }), "language");
  EXPECT_EQ(param_of([] { parse_transcription_request({file(), text("temperature", "1.5")}); }), "temperature");
  EXPECT_EQ(param_of([] { parse_transcription_request({file(), text("temperature", "0.1x")}); }), "temperature");
  EXPECT_EQ(param_of([] { parse_transcription_request({file(), text("stream", "true")}); }), "stream");
  EXPECT_EQ(param_of([] { parse_transcription_request({file(), text("timestamp_granularities[]", "word")}); }),
            "timestamp_granularities[]");
  EXPECT_EQ(param_of([] { parse_transcription_request({file(), text("prompt", std::string(5000, 'a'))}); }), "prompt");
  EXPECT_EQ(param_of([] { parse_transcription_request({file(), {"model", "m.txt", "", "x"}}); }), "model");
}

TEST(OcrRequest, ReadsFieldsAndRefusesBadOnes) {
  const std::vector<FormField> fields = {file("n.png"), text("language", "eng+deu"), text("dpi", "150")};
  const OcrRequest r = parse_ocr_request(fields);
  EXPECT_EQ(r.language, "eng+deu");
  EXPECT_EQ(r.dpi, 150);
  EXPECT_EQ(param_of([] { parse_ocr_request({file("n.png"), text("dpi", "5")}); }), "dpi");
  EXPECT_EQ(param_of([] { parse_ocr_request({file("n.png"), text("language", "../x")}); }), "language");
  EXPECT_EQ(param_of([] { parse_ocr_request({}); }), "file");
}

TEST(PluginTools, ParsedBesideFunctionsAndNotAsThem) {
  const ChatCompletionRequest r = parse_chat_completion(R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
      "tools": [{"type": "function", "function": {"name": "f"}}, {"type": "plugin", "plugin": "word_count"}],
      "tool_choice": {"type": "function", "function": {"name": "word_count"}}})");
  ASSERT_EQ(r.tools.size(), 1u);
  ASSERT_EQ(r.plugin_tools.size(), 1u);
  EXPECT_EQ(r.plugin_tools[0].plugin, "word_count");
  EXPECT_EQ(r.plugin_tools[0].path, "tools[1]");
  EXPECT_EQ(r.tool_choice.mode, ToolChoice::Mode::kFunction);
  EXPECT_EQ(param_of([] {
              parse_chat_completion(R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
                  "tools": [{"type": "plugin", "plugin": "bad name!"}]})");
            }),
            "tools[0].plugin");
  EXPECT_EQ(param_of([] {
              parse_chat_completion(R"({"model": "m", "messages": [{"role": "user", "content": "x"}],
                  "tools": [{"type": "gadget"}]})");
            }),
            "tools[0].type");
}

}  // namespace
}  // namespace hearth::service
