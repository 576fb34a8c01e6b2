// asr_whisper: Hearth's speech-recognition plugin. Reads a WAV file itself
// (wav_reader), resamples it to 16 kHz mono (resampler) and hands the samples
// to a Python helper running faster-whisper (Whisper base, CTranslate2, int8 on
// the CPU), whose JSON it checks and returns. Sees Hearth only through
// include/hearth/plugin.h. Nothing is downloaded at run time.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "hearth/plugin.h"
#include "helper_process.h"
#include "resampler.h"
#include "wav_reader.h"

namespace {

using nlohmann::json;

constexpr int kModelRate = 16000;
constexpr int kDefaultBeamSize = 5;
constexpr const char* kModelDirName = "whisper-base-ct2";
constexpr const char* kHelperName = "whisper_helper.py";
constexpr const char* kSetupHint = "run scripts/setup.sh --asr";

const char kInputSchema[] = R"({
  "type": "object", "required": ["audio_path"], "additionalProperties": false,
  "properties": {
    "audio_path": {"type": "string"},
    "language": {"type": "string"},
    "word_timestamps": {"type": "boolean"},
    "threads": {"type": "integer", "minimum": 0, "maximum": 256},
    "beam_size": {"type": "integer", "minimum": 1, "maximum": 16}
  }})";

const char kOutputSchema[] = R"({
  "type": "object", "required": ["text", "language", "duration", "segments"],
  "properties": {
    "text": {"type": "string"},
    "language": {"type": "string"},
    "language_probability": {"type": "number"},
    "duration": {"type": "number"},
    "engine": {"type": "string"},
    "model": {"type": "string"},
    "audio": {"type": "object"},
    "segments": {"type": "array", "items": {
      "type": "object", "required": ["id", "start", "end", "text"],
      "properties": {
        "id": {"type": "integer"}, "seek": {"type": "integer"},
        "start": {"type": "number"}, "end": {"type": "number"},
        "text": {"type": "string"},
        "tokens": {"type": "array", "items": {"type": "integer"}},
        "temperature": {"type": "number"}, "avg_logprob": {"type": "number"},
        "compression_ratio": {"type": "number"}, "no_speech_prob": {"type": "number"},
        "words": {"type": "array", "items": {
          "type": "object", "required": ["word", "start", "end", "probability"],
          "properties": {"word": {"type": "string"}, "start": {"type": "number"},
                         "end": {"type": "number"}, "probability": {"type": "number"}}}}}}}
  }})";

std::string g_plugin_dir;  // from init: where the manifest and the helper script are

char* copy_text(const std::string& s) {
  char* p = static_cast<char*>(std::malloc(s.size() + 1));
  if (p) std::memcpy(p, s.c_str(), s.size() + 1);
  return p;
}

void fail(hearth_result* r, int32_t status, const std::string& message) {
  r->status = status;
  r->error_message = copy_text(message);
}

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

std::string hearth_home() {
  const char* home = std::getenv("HOME");
  return env_or("HEARTH_HOME", std::string(home ? home : ".") + "/.cache/hearth");
}

bool is_file(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The last non-empty line of the helper's stderr: its own one-line reason, or
// the last line of a Python traceback.
std::string last_line(const std::string& text) {
  std::size_t end = text.find_last_not_of(" \r\n\t");
  if (end == std::string::npos) return "";
  std::size_t begin = text.rfind('\n', end);
  begin = begin == std::string::npos ? 0 : begin + 1;
  return text.substr(begin, end - begin + 1);
}

std::string float_bytes(const std::vector<float>& samples) {
  return std::string(reinterpret_cast<const char*>(samples.data()), samples.size() * sizeof(float));
}

// The helper's JSON, or an empty object after filling *r with why not.
json parse_helper_output(const std::string& out, hearth_result* r) {
  json j;
  try {
    j = json::parse(out);
  } catch (const std::exception& e) {
    fail(r, HEARTH_STATUS_INTERNAL, std::string("the whisper helper printed something that is not JSON (") + e.what() + ")");
    return json();
  }
  if (!j.is_object() || !j.contains("text") || !j["text"].is_string() || !j.contains("segments") ||
      !j["segments"].is_array() || !j.contains("language") || !j["language"].is_string()) {
    fail(r, HEARTH_STATUS_INTERNAL, "the whisper helper's JSON lacks \"text\", \"language\" or \"segments\"");
    return json();
  }
  return j;
}

void transcribe_call(const char* input_json, hearth_result* r) {
  try {
    const json in = json::parse(input_json);
    const std::string path = in.at("audio_path").get<std::string>();
    const std::string language = in.value("language", std::string("auto"));
    const bool words = in.value("word_timestamps", true);
    int threads = in.value("threads", 0);
    if (threads == 0) threads = int(std::min(4u, std::max(1u, std::thread::hardware_concurrency())));
    const int beam = in.value("beam_size", kDefaultBeamSize);

    asr_audio::WavAudio audio;
    try {
      audio = asr_audio::read_wav_file(path);
    } catch (const asr_audio::AudioError& e) {
      fail(r, e.kind() == asr_audio::AudioError::Kind::kNotFound ? HEARTH_STATUS_NOT_FOUND : HEARTH_STATUS_INVALID_INPUT,
           e.what());
      return;
    }

    const std::string home = hearth_home();
    const std::string python = env_or("HEARTH_WHISPER_PYTHON", home + "/venv/bin/python");
    const std::string model = env_or("HEARTH_WHISPER_MODEL", home + "/models/" + kModelDirName);
    const std::string helper = g_plugin_dir + "/" + kHelperName;
    if (::access(python.c_str(), X_OK) != 0) {
      fail(r, HEARTH_STATUS_UNSUPPORTED, "no Python interpreter at " + python + " for faster-whisper: " + kSetupHint +
                                             " (or set HEARTH_WHISPER_PYTHON)");
      return;
    }
    if (!is_file(model + "/model.bin") || !is_file(model + "/tokenizer.json")) {
      fail(r, HEARTH_STATUS_UNSUPPORTED, "no Whisper model (model.bin, tokenizer.json) in " + model + ": " + kSetupHint +
                                             " (or set HEARTH_WHISPER_MODEL)");
      return;
    }
    if (!is_file(helper)) {
      fail(r, HEARTH_STATUS_INTERNAL, "the plugin's helper script " + helper + " is missing (reinstall the plugin)");
      return;
    }

    const std::vector<float> samples = asr_audio::resample(audio.samples, audio.sample_rate, kModelRate);
    const std::vector<std::string> argv = {python, helper, "--model", model, "--language", language,
                                           "--word-timestamps", words ? "1" : "0", "--threads", std::to_string(threads),
                                           "--beam-size", std::to_string(beam), "--compute-type", "int8"};
    const asr_whisper::HelperResult h =
        asr_whisper::run_helper(argv, {"HF_HUB_OFFLINE=1", "PYTHONDONTWRITEBYTECODE=1"}, float_bytes(samples));
    if (!h.started) {
      fail(r, HEARTH_STATUS_INTERNAL, "the whisper helper did not start: " + h.error);
      return;
    }
    const std::string why = last_line(h.err);
    if (h.signal) {
      fail(r, HEARTH_STATUS_INTERNAL, "the whisper helper was killed by signal " + std::to_string(h.signal) +
                                          (why.empty() ? "" : " (" + why + ")"));
      return;
    }
    switch (h.exit_code) {
      case 0: break;
      case 2: fail(r, HEARTH_STATUS_INVALID_INPUT, path + ": " + why); return;
      case 3: fail(r, HEARTH_STATUS_UNSUPPORTED, why + ": " + kSetupHint); return;
      case 4: fail(r, HEARTH_STATUS_INTERNAL, why + " (" + kSetupHint + " to reinstall it)"); return;
      default:
        fail(r, HEARTH_STATUS_INTERNAL, "the whisper helper failed (exit status " + std::to_string(h.exit_code) + ")" +
                                            (why.empty() ? "" : ": " + why));
        return;
    }
    json out = parse_helper_output(h.out, r);
    if (out.is_null()) return;
    out["duration"] = audio.duration();
    out["engine"] = "faster-whisper";
    out["model"] = "whisper-base (CTranslate2, int8, beam " + std::to_string(beam) + ")";
    out["audio"] = {{"sample_rate", audio.sample_rate}, {"channels", audio.channels}, {"encoding", audio.encoding}};
    r->status = HEARTH_STATUS_OK;
    r->output_json = copy_text(out.dump());
    if (!r->output_json) fail(r, HEARTH_STATUS_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    fail(r, HEARTH_STATUS_INTERNAL, std::string("asr_whisper: ") + e.what());
  }
}

void asr_init(const char* config_json, hearth_result* r) {
  try {
    g_plugin_dir = json::parse(config_json).value("plugin_dir", std::string("."));
    r->status = HEARTH_STATUS_OK;
  } catch (const std::exception& e) {
    fail(r, HEARTH_STATUS_INTERNAL, std::string("asr_whisper: bad init config: ") + e.what());
  }
}

void free_text(char* text) { std::free(text); }

const hearth_capability kCapabilities[] = {
    {"transcribe", HEARTH_CAPABILITY_ASR,
     "Transcribes speech in a WAV file to text, with timed segments and words (Whisper base).", kInputSchema,
     kOutputSchema, transcribe_call},
};

const hearth_plugin kPlugin = {
    HEARTH_PLUGIN_ABI_VERSION,
    sizeof(hearth_plugin),
    "asr_whisper",
    "1.0.0",
    "Speech recognition with Whisper (faster-whisper, base model): WAV audio to text with segment and word timestamps.",
    1,
    kCapabilities,
    asr_init,
    nullptr,
    free_text,
};

}  // namespace

extern "C" HEARTH_PLUGIN_EXPORT const hearth_plugin* hearth_plugin_entry(void) { return &kPlugin; }
