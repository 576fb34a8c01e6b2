// transcript_format: timestamps, the five response formats and malformed plugin output.
#include "plugins/transcript_format.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace hearth::plugins {
namespace {

using nlohmann::json;

json sample_output() {
  return json::parse(R"({
    "text": "Hello there. How are you?", "language": "en", "duration": 3725.5,
    "segments": [
      {"id": 0, "seek": 0, "start": 0.0, "end": 1.25, "text": " Hello there.", "tokens": [1, 2],
       "avg_logprob": -0.2, "no_speech_prob": 0.01, "temperature": 0.0, "compression_ratio": 1.1,
       "words": [{"word": " Hello", "start": 0.0, "end": 0.5, "probability": 0.9},
                 {"word": " there.", "start": 0.5, "end": 1.25, "probability": 0.8}]},
      {"id": 1, "start": 3723.0004, "end": 3725.4996, "text": " How are you?",
       "words": [{"word": " How", "start": 3723.0, "end": 3723.5, "probability": 0.7}]}
    ]})");
}

TEST(transcript_format, TimestampsRoundToMillisecondsAndCarry) {
  EXPECT_EQ(srt_timestamp(0), "00:00:00,000");
  EXPECT_EQ(vtt_timestamp(0), "00:00:00.000");
  EXPECT_EQ(srt_timestamp(3723.0004), "01:02:03,000");
  EXPECT_EQ(srt_timestamp(59.9996), "00:01:00,000");  // carries into the minute
  EXPECT_EQ(vtt_timestamp(1.2344), "00:00:01.234");
  EXPECT_EQ(vtt_timestamp(1.2346), "00:00:01.235");
  EXPECT_EQ(vtt_timestamp(-3), "00:00:00.000");
  EXPECT_EQ(srt_timestamp(360000.5), "100:00:00,500");  // hours beyond 99 stay whole
}

TEST(transcript_format, ParsesFormatNamesAndRejectsOthers) {
  EXPECT_EQ(parse_transcript_format("text"), TranscriptFormat::kText);
  EXPECT_EQ(parse_transcript_format("json"), TranscriptFormat::kJson);
  EXPECT_EQ(parse_transcript_format("verbose_json"), TranscriptFormat::kVerboseJson);
  EXPECT_EQ(parse_transcript_format("srt"), TranscriptFormat::kSrt);
  EXPECT_EQ(parse_transcript_format("vtt"), TranscriptFormat::kVtt);
  try {
    parse_transcript_format("mp3");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'mp3'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("verbose_json"), std::string::npos) << e.what();
  }
  EXPECT_STREQ(transcript_content_type(TranscriptFormat::kVtt), "text/vtt; charset=utf-8");
  EXPECT_STREQ(transcript_content_type(TranscriptFormat::kJson), "application/json");
}

TEST(transcript_format, SrtHasNumberedCuesWithCommaTimestamps) {
  const Transcript t = transcript_from_json(sample_output(), "test");
  EXPECT_EQ(render_srt(t),
            "1\n00:00:00,000 --> 00:00:01,250\nHello there.\n\n"
            "2\n01:02:03,000 --> 01:02:05,500\nHow are you?\n\n");
}

TEST(transcript_format, VttHasHeaderAndDotTimestamps) {
  const Transcript t = transcript_from_json(sample_output(), "test");
  EXPECT_EQ(render_vtt(t),
            "WEBVTT\n\n"
            "00:00:00.000 --> 00:00:01.250\nHello there.\n\n"
            "01:02:03.000 --> 01:02:05.500\nHow are you?\n\n");
}

TEST(transcript_format, CuesSkipEmptySegmentsAndBlankLines) {
  json o = json::parse(R"({"text": "a b", "segments": [
      {"start": 0, "end": 1, "text": "  "},
      {"start": 1, "end": 2, "text": " a\n\n\nb "}]})");
  const Transcript t = transcript_from_json(o, "test");
  EXPECT_EQ(render_srt(t), "1\n00:00:01,000 --> 00:00:02,000\na\nb\n\n");
  EXPECT_EQ(render_vtt(t), "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\na\nb\n\n");
}

TEST(transcript_format, TextAndJson) {
  const Transcript t = transcript_from_json(sample_output(), "test");
  EXPECT_EQ(render_text(t), "Hello there. How are you?\n");
  EXPECT_EQ(render_json(t), json({{"text", "Hello there. How are you?"}}));
  EXPECT_EQ(render_transcript(t, TranscriptFormat::kJson), "{\"text\":\"Hello there. How are you?\"}\n");
}

TEST(transcript_format, VerboseJsonFollowsOpenAiShape) {
  const Transcript t = transcript_from_json(sample_output(), "test");
  const json v = render_verbose_json(t, true);
  EXPECT_EQ(v["task"], "transcribe");
  EXPECT_EQ(v["language"], "en");
  EXPECT_DOUBLE_EQ(v["duration"].get<double>(), 3725.5);
  EXPECT_EQ(v["text"], "Hello there. How are you?");
  ASSERT_EQ(v["segments"].size(), 2u);
  const json& s0 = v["segments"][0];
  for (const char* key : {"id", "seek", "start", "end", "text", "tokens", "temperature", "avg_logprob",
                          "compression_ratio", "no_speech_prob"})
    EXPECT_TRUE(s0.contains(key)) << key;
  EXPECT_EQ(s0["tokens"], json::array({1, 2}));
  EXPECT_DOUBLE_EQ(s0["avg_logprob"].get<double>(), -0.2);
  EXPECT_EQ(v["segments"][1]["id"], 1);
  ASSERT_TRUE(v.contains("words"));
  ASSERT_EQ(v["words"].size(), 3u);  // every segment's words, in order
  EXPECT_EQ(v["words"][2], json({{"word", " How"}, {"start", 3723.0}, {"end", 3723.5}}));
  EXPECT_FALSE(render_verbose_json(t, false).contains("words"));
}

TEST(transcript_format, NoWordsWithoutWordTimestamps) {
  const Transcript t = transcript_from_json(json::parse(R"({"text": "x", "segments": [{"start": 0, "end": 1, "text": "x"}]})"), "p");
  EXPECT_FALSE(t.has_words);
  EXPECT_FALSE(render_verbose_json(t, true).contains("words"));
  EXPECT_EQ(t.segments[0].id, 0);  // defaulted to the position
}

void expect_format_error(const char* text, const std::string& fragment) {
  try {
    transcript_from_json(json::parse(text), "plugin 'p'");
    ADD_FAILURE() << "no error for " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    const std::string m = e.what();
    EXPECT_NE(m.find("plugin 'p'"), std::string::npos) << m;
    EXPECT_NE(m.find(fragment), std::string::npos) << m;
  }
}

TEST(transcript_format, MalformedOutputNamesTheField) {
  expect_format_error(R"([1])", "transcription output is an array, not an object");
  expect_format_error(R"({"segments": []})", "lacks \"text\"");
  expect_format_error(R"({"text": 3})", "\"text\" as an integer, not a string");
  expect_format_error(R"({"text": "", "segments": {}})", "\"segments\"");
  expect_format_error(R"({"text": "", "segments": [{"end": 1, "text": ""}]})", "segment 0 lacks \"start\"");
  expect_format_error(R"({"text": "", "segments": [{"start": "0", "end": 1, "text": ""}]})", "\"start\" as a string, not a number");
  expect_format_error(R"({"text": "", "segments": [{"start": 2, "end": 1, "text": ""}]})", "ends before it starts");
  expect_format_error(R"({"text": "", "segments": [{"start": 0, "end": 1, "text": "", "words": [{"word": "a", "start": 0}]}]})",
                      "segment 0 word 0 lacks \"end\"");
}

}  // namespace
}  // namespace hearth::plugins
