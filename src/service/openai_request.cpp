#include "service/openai_request.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <utility>

namespace hearth::service {
namespace {

using json = nlohmann::ordered_json;

[[noreturn]] void fail(std::string message, std::string param, const char* code) {
  throw ApiException(ApiError::invalid(std::move(message), std::move(param), code));
}

[[noreturn]] void unsupported(const std::string& param, const std::string& detail) {
  fail("Unsupported value for '" + param + "': " + detail + ".", param, "unsupported_value");
}

[[noreturn]] void missing(const std::string& param, const std::string& detail = {}) {
  fail("Missing required parameter: '" + param + "'" + detail + ".", param, "missing_required_parameter");
}

// `allowed` lists the choices, e.g. "'a', 'b' and 'c'".
[[noreturn]] void not_one_of(const std::string& param, const std::string& value, const char* allowed) {
  fail("Invalid value for '" + param + "': " + quote_for_error(value) + ". Supported values are " + allowed + ".",
       param, "invalid_value");
}

std::string member(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}
std::string element(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// Bytes of raw (possibly invalid) input shown in a message: printable ASCII
// only (whitespace as spaces, anything else as '?'), at most max_bytes.
std::string printable(std::string_view text, size_t max_bytes) {
  std::string out;
  for (size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    const char c = text[i];
    out += c >= 0x20 && c < 0x7f ? c : c == '\n' || c == '\r' || c == '\t' ? ' ' : '?';
  }
  if (text.size() > max_bytes) out += "...";
  return out;
}

std::string format_number(double x) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", x);
  return text;
}

// ---- JSON types ---------------------------------------------------------

enum class Kind { kString, kBoolean, kInteger, kNumber, kObject, kArray };

struct KindInfo {
  const char* name;
  bool (json::*is)() const noexcept;
};
constexpr KindInfo kKinds[] = {
    {"a string", &json::is_string},          {"a boolean", &json::is_boolean}, {"an integer", &json::is_number_integer},
    {"a number", &json::is_number},          {"an object", &json::is_object},  {"an array", &json::is_array},
};

const char* type_name(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "an integer";
    case json::value_t::number_float: return "a decimal number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "an unknown value";
  }
}

[[noreturn]] void wrong_type(const std::string& path, const std::string& expected, const json& got) {
  fail("Invalid type for '" + path + "': expected " + expected + ", but got " + type_name(got) + " instead.", path,
       "invalid_type");
}

const json& expect(const json& v, Kind kind, const std::string& path) {
  const KindInfo& k = kKinds[static_cast<int>(kind)];
  if (!(v.*k.is)()) wrong_type(path, k.name, v);
  return v;
}

// An object's members, each checked for type and range, errors naming them
// by path. Null counts as absent.
class Fields {
 public:
  Fields(const json& object, std::string path) : object_(expect(object, Kind::kObject, path)), path_(std::move(path)) {}

  std::string path(std::string_view key) const { return member(path_, key); }

  const json* get(const char* key) const {
    const auto it = object_.find(key);
    return it == object_.end() || it->is_null() ? nullptr : &*it;
  }
  const json* get(const char* key, Kind kind) const {
    const json* v = get(key);
    return v ? &expect(*v, kind, path(key)) : nullptr;
  }
  const json& require(const char* key, Kind kind, const std::string& detail = {}) const {
    const json* v = get(key);
    if (!v) missing(path(key), detail);
    return expect(*v, kind, path(key));
  }
  std::string require_string(const char* key) const { return require(key, Kind::kString).get<std::string>(); }

  std::optional<std::string> string(const char* key) const {
    const json* v = get(key, Kind::kString);
    return v ? std::optional(v->get<std::string>()) : std::nullopt;
  }
  std::optional<bool> boolean(const char* key) const {
    const json* v = get(key, Kind::kBoolean);
    return v ? std::optional(v->get<bool>()) : std::nullopt;
  }
  std::optional<int64_t> integer(const char* key, int64_t lo = std::numeric_limits<int64_t>::min(),
                                 int64_t hi = std::numeric_limits<int64_t>::max()) const {
    const json* v = get(key, Kind::kInteger);
    if (!v) return std::nullopt;
    const bool fits = !v->is_number_unsigned() || v->get<uint64_t>() <= uint64_t(std::numeric_limits<int64_t>::max());
    if (!fits || v->get<int64_t>() < lo || v->get<int64_t>() > hi)
      out_of_range(key, *v, "an integer within [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    return v->get<int64_t>();
  }
  std::optional<double> number(const char* key, double lo, double hi, bool lo_open) const {
    const json* v = get(key, Kind::kNumber);
    if (!v) return std::nullopt;
    const double x = v->get<double>();
    if (!std::isfinite(x) || (lo_open ? x <= lo : x < lo) || x > hi)
      out_of_range(key, *v, std::string("a number within ") + (lo_open ? "(" : "[") + format_number(lo) + ", " +
                                format_number(hi) + "]");
    return x;
  }

 private:
  [[noreturn]] void out_of_range(const char* key, const json& v, const std::string& expected) const {
    fail("Invalid value for '" + path(key) + "': expected " + expected + ", but got " + printable(v.dump(), 40) + ".",
         path(key), "invalid_value");
  }

  const json& object_;
  std::string path_;
};

// ---- the body -----------------------------------------------------------

// Refuses nesting deeper than kMaxJsonDepth before the parser sees it. Up to
// the first syntax error (where the parser stops) this depth is exact.
void check_depth(std::string_view body) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (const char c : body) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth)
        fail("The JSON body nests arrays and objects more than " + std::to_string(kMaxJsonDepth) + " levels deep.", "",
             "invalid_json");
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
}

std::string syntax_error_message(std::string_view body, const json::parse_error& e) {
  const size_t pos = std::min(e.byte > 0 ? e.byte - 1 : 0, body.size());
  size_t line = 1, line_start = 0;
  for (size_t i = 0; i < pos; ++i)
    if (body[i] == '\n') ++line, line_start = i + 1;
  // nlohmann's "[json.exception...] parse error at ...: <reason>; last read: '<token>'" minus the token,
  // which may be the whole body.
  std::string reason = e.what();
  if (const size_t colon = reason.find(": "); colon != std::string::npos) reason.erase(0, colon + 2);
  if (const size_t last = reason.find("; last read"); last != std::string::npos) reason.erase(last);
  const size_t from = pos > 40 ? pos - 40 : 0;
  return "We could not parse the JSON body of your request: " + printable(reason, 160) + " at line " +
         std::to_string(line) + ", column " + std::to_string(pos - line_start + 1) + ", near '" +
         printable(body.substr(from, 80), 80) + "'.";
}

// ---- shared fields ------------------------------------------------------

// [a-zA-Z0-9_-]{1,64}: tool and schema names.
void check_name(const std::string& name, const std::string& path) {
  const bool ok = !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
  if (!ok)
    fail("Invalid value for '" + path + "': " + quote_for_error(name) +
             " must be 1 to 64 characters of a-z, A-Z, 0-9, underscores and dashes.",
         path, "invalid_value");
}

struct SamplingRule {
  const char* key;
  double lo, hi;
  bool lo_open;
  float runtime::SamplerParams::*field;
};
constexpr SamplingRule kSamplingRules[] = {
    {"temperature", 0, 2, false, &runtime::SamplerParams::temperature},
    {"top_p", 0, 1, true, &runtime::SamplerParams::top_p},
    {"presence_penalty", -2, 2, false, &runtime::SamplerParams::presence_penalty},
    {"frequency_penalty", -2, 2, false, &runtime::SamplerParams::frequency_penalty},
};

std::vector<std::string> parse_stop(const Fields& f) {
  const json* v = f.get("stop");
  if (!v) return {};
  auto non_empty = [](const json& s, const std::string& path) {
    if (s.get_ref<const std::string&>().empty())
      fail("Invalid value for '" + path + "': a stop sequence must not be empty.", path, "invalid_value");
    return s.get<std::string>();
  };
  if (v->is_string()) return {non_empty(*v, "stop")};
  if (!v->is_array()) wrong_type("stop", "a string or an array of strings", *v);
  if (v->size() > kMaxStopStrings)
    fail("Invalid value for 'stop': at most " + std::to_string(kMaxStopStrings) + " stop sequences are allowed, got " +
             std::to_string(v->size()) + ".",
         "stop", "invalid_value");
  std::vector<std::string> stop;
  for (size_t i = 0; i < v->size(); ++i)
    stop.push_back(non_empty(expect((*v)[i], Kind::kString, element("stop", i)), element("stop", i)));
  return stop;
}

// The fields chat and text completions share (Request has the same members).
template <class Request>
void parse_common(const Fields& f, Request& r) {
  r.model = f.require_string("model");
  if (r.model.empty()) fail("Invalid value for 'model': it must not be empty.", "model", "invalid_value");
  for (const SamplingRule& rule : kSamplingRules)
    if (const auto x = f.number(rule.key, rule.lo, rule.hi, rule.lo_open)) r.sampling.*rule.field = float(*x);
  r.seed = f.integer("seed");
  if (r.seed) r.sampling.seed = static_cast<uint64_t>(*r.seed);
  r.stop = parse_stop(f);
  if (const auto n = f.integer("n"); n && *n != 1) unsupported("n", "only n=1 (one choice) is supported");
  r.stream = f.boolean("stream").value_or(false);
  if (const json* options = f.get("stream_options", Kind::kObject)) {
    if (!r.stream)
      fail("Invalid value for 'stream_options': it is only allowed when 'stream' is true.", "stream_options",
           "invalid_value");
    r.include_usage = Fields(*options, "stream_options").boolean("include_usage").value_or(false);
  }
  f.string("user");  // accepted, unused
  if (const json* bias = f.get("logit_bias", Kind::kObject); bias && !bias->empty())
    unsupported("logit_bias", "logit bias is not supported");
}

// ---- chat ---------------------------------------------------------------

constexpr std::pair<const char*, const char*> kRoles[] = {
    {"system", "system"}, {"developer", "system"}, {"user", "user"}, {"assistant", "assistant"}, {"tool", "tool"},
};

std::string parse_content(const json& v, const std::string& path) {
  if (v.is_string()) return v.get<std::string>();
  if (!v.is_array()) wrong_type(path, "a string or an array of content parts", v);
  std::string text;
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string part_path = element(path, i);
    const Fields part(v[i], part_path);
    const std::string type = part.require_string("type");
    if (type != "text")
      fail("Unsupported content part '" + part_path + "' of type " + quote_for_error(type) +
               ": this server accepts only text parts.",
           part_path, "unsupported_value");
    text += part.require("text", Kind::kString).get_ref<const std::string&>();
  }
  return text;
}

// [{id, type: "function", function: {name, arguments}}], as an assistant's reply carried them.
void check_tool_calls(const json& calls, const std::string& path) {
  for (size_t i = 0; i < calls.size(); ++i) {
    const Fields call(calls[i], element(path, i));
    call.require("id", Kind::kString);
    if (const auto type = call.string("type"); type && *type != "function")
      not_one_of(call.path("type"), *type, "'function'");
    const Fields function(call.require("function", Kind::kObject), call.path("function"));
    function.require("name", Kind::kString);
    function.require("arguments", Kind::kString);
  }
}

Message parse_message(const json& v, const std::string& path) {
  const Fields f(v, path);
  Message m;
  const std::string role = f.require_string("role");
  const auto known = std::find_if(std::begin(kRoles), std::end(kRoles), [&](const auto& r) { return role == r.first; });
  if (known == std::end(kRoles))
    not_one_of(f.path("role"), role, "'system', 'developer', 'user', 'assistant' and 'tool'");
  m.role = known->second;
  m.name = f.string("name");
  if (const json* calls = f.get("tool_calls", Kind::kArray)) {
    if (m.role != "assistant")
      fail("Invalid parameter '" + f.path("tool_calls") + "': only assistant messages can carry tool calls.",
           f.path("tool_calls"), "invalid_value");
    check_tool_calls(*calls, f.path("tool_calls"));
    if (!calls->empty()) m.tool_calls = *calls;
  }
  if (m.role == "tool") m.tool_call_id = f.require_string("tool_call_id");
  const json* content = f.get("content");
  if (!content) {
    if (!m.tool_calls.is_null()) return m;
    missing(f.path("content"), m.role == "assistant" ? " (an assistant message needs content or tool_calls)" : "");
  }
  m.content = parse_content(*content, f.path("content"));
  return m;
}

ResponseFormat parse_response_format(const Fields& f) {
  ResponseFormat format;
  const json* v = f.get("response_format", Kind::kObject);
  if (!v) return format;
  const Fields o(*v, "response_format");
  const std::string type = o.require_string("type");
  if (type == "text") return format;
  if (type == "json_object") {
    format.type = ResponseFormat::Type::kJsonObject;
    return format;
  }
  if (type != "json_schema") not_one_of(o.path("type"), type, "'text', 'json_object' and 'json_schema'");
  format.type = ResponseFormat::Type::kJsonSchema;
  const Fields s(o.require("json_schema", Kind::kObject), o.path("json_schema"));
  format.name = s.require_string("name");
  check_name(format.name, s.path("name"));
  format.description = s.string("description").value_or("");
  if (const json* schema = s.get("schema", Kind::kObject)) format.schema = *schema;
  format.strict = s.boolean("strict").value_or(false);
  return format;
}

std::vector<Tool> parse_tools(const Fields& f, std::vector<PluginToolRef>& plugin_tools) {
  const json* v = f.get("tools", Kind::kArray);
  if (!v) return {};
  if (v->empty())
    fail("Invalid value for 'tools': an empty array; give at least one tool or leave 'tools' out.", "tools",
         "invalid_value");
  std::vector<Tool> tools;
  for (size_t i = 0; i < v->size(); ++i) {
    const Fields t((*v)[i], element("tools", i));
    const std::string type = t.require_string("type");
    if (type == "plugin") {
      PluginToolRef ref;
      ref.path = element("tools", i);
      ref.plugin = t.require_string("plugin");
      check_name(ref.plugin, t.path("plugin"));
      ref.capability = t.string("capability").value_or("");
      if (!ref.capability.empty()) check_name(ref.capability, t.path("capability"));
      plugin_tools.push_back(std::move(ref));
      continue;
    }
    if (type != "function") not_one_of(t.path("type"), type, "'function' or 'plugin'");
    const Fields function(t.require("function", Kind::kObject), t.path("function"));
    Tool tool;
    tool.name = function.require_string("name");
    check_name(tool.name, function.path("name"));
    for (const Tool& other : tools)
      if (other.name == tool.name)
        fail("Invalid value for '" + function.path("name") + "': another tool is already named " +
                 quote_for_error(tool.name) + ".",
             function.path("name"), "invalid_value");
    tool.description = function.string("description").value_or("");
    const json* parameters = function.get("parameters", Kind::kObject);
    tool.parameters = parameters ? *parameters : json{{"type", "object"}, {"properties", json::object()}};
    tool.strict = function.boolean("strict").value_or(false);
    tools.push_back(std::move(tool));
  }
  return tools;
}

ToolChoice parse_tool_choice(const Fields& f, const std::vector<Tool>& tools, bool plugin_tools) {
  ToolChoice choice;
  choice.mode = tools.empty() && !plugin_tools ? ToolChoice::Mode::kNone : ToolChoice::Mode::kAuto;
  const json* v = f.get("tool_choice");
  if (!v) return choice;
  if (tools.empty() && !plugin_tools)
    fail("Invalid value for 'tool_choice': it is only allowed when 'tools' are given.", "tool_choice",
         "invalid_value");
  if (v->is_string()) {
    const std::string mode = v->get<std::string>();
    if (mode == "none") choice.mode = ToolChoice::Mode::kNone;
    else if (mode == "auto") choice.mode = ToolChoice::Mode::kAuto;
    else if (mode == "required") choice.mode = ToolChoice::Mode::kRequired;
    else not_one_of("tool_choice", mode, "'none', 'auto', 'required' or an object naming a function");
    return choice;
  }
  if (!v->is_object()) wrong_type("tool_choice", "a string or an object", *v);
  const Fields o(*v, "tool_choice");
  if (const std::string type = o.require_string("type"); type != "function")
    not_one_of(o.path("type"), type, "'function'");
  const Fields function(o.require("function", Kind::kObject), o.path("function"));
  choice.mode = ToolChoice::Mode::kFunction;
  choice.function = function.require_string("name");
  if (!plugin_tools && std::none_of(tools.begin(), tools.end(), [&](const Tool& t) { return t.name == choice.function; }))
    fail("Invalid value for '" + function.path("name") + "': no tool in 'tools' is named " +
             quote_for_error(choice.function) + ".",
         function.path("name"), "invalid_value");
  return choice;
}

}  // namespace

runtime::SamplerParams openai_sampling_defaults() {
  runtime::SamplerParams p;
  p.temperature = 1.0f;
  p.top_p = 1.0f;
  p.top_k = 0;
  p.min_p = 0.0f;
  p.repeat_penalty = 1.0f;
  p.presence_penalty = 0.0f;
  p.frequency_penalty = 0.0f;
  return p;
}

nlohmann::ordered_json parse_json_body(std::string_view body) {
  if (body.size() > kMaxBodyBytes) throw ApiException(ApiError::too_large(kMaxBodyBytes));
  check_depth(body);
  json v;
  try {
    v = json::parse(body.begin(), body.end());
  } catch (const json::parse_error& e) {
    fail(syntax_error_message(body, e), "", "invalid_json");
  } catch (const json::exception& e) {  // a number too large for a double
    std::string what = e.what();
    if (const size_t bracket = what.find("] "); bracket != std::string::npos) what.erase(0, bracket + 2);
    fail("We could not parse the JSON body of your request: " + printable(what, 160) + ".", "", "invalid_json");
  }
  if (!v.is_object())
    fail(std::string("The request body must be a JSON object, but it is ") + type_name(v) + ".", "", "invalid_json");
  return v;
}

ChatCompletionRequest parse_chat_completion(std::string_view body) {
  const json root = parse_json_body(body);
  const Fields f(root, "");
  ChatCompletionRequest r;
  parse_common(f, r);

  const json& messages = f.require("messages", Kind::kArray);
  if (messages.empty())
    fail("Invalid value for 'messages': an empty array; give at least one message.", "messages", "invalid_value");
  for (size_t i = 0; i < messages.size(); ++i) r.messages.push_back(parse_message(messages[i], element("messages", i)));

  const auto max_tokens = f.integer("max_tokens", 1, kMaxTokensCap);
  const auto max_completion_tokens = f.integer("max_completion_tokens", 1, kMaxTokensCap);
  if (max_tokens && max_completion_tokens && *max_tokens != *max_completion_tokens)
    fail("Invalid value for 'max_completion_tokens': it differs from 'max_tokens'; give one of them.",
         "max_completion_tokens", "invalid_value");
  if (max_completion_tokens) r.max_tokens = int32_t(*max_completion_tokens);
  else if (max_tokens) r.max_tokens = int32_t(*max_tokens);

  r.response_format = parse_response_format(f);
  r.tools = parse_tools(f, r.plugin_tools);
  r.tool_choice = parse_tool_choice(f, r.tools, !r.plugin_tools.empty());
  r.parallel_tool_calls = f.boolean("parallel_tool_calls").value_or(true);

  if (f.boolean("logprobs").value_or(false)) unsupported("logprobs", "log probabilities are not supported");
  if (f.get("top_logprobs")) unsupported("top_logprobs", "log probabilities are not supported");
  if (f.get("functions")) unsupported("functions", "the deprecated 'functions' is not supported; use 'tools'");
  if (f.get("function_call"))
    unsupported("function_call", "the deprecated 'function_call' is not supported; use 'tool_choice'");
  return r;
}

CompletionRequest parse_completion(std::string_view body) {
  const json root = parse_json_body(body);
  const Fields f(root, "");
  CompletionRequest r;
  parse_common(f, r);

  const json* prompt = f.get("prompt");
  if (!prompt) missing("prompt");
  if (prompt->is_string()) {
    r.prompt = prompt->get<std::string>();
  } else if (prompt->is_array() && !prompt->empty() && (*prompt)[0].is_string()) {
    if (prompt->size() != 1) unsupported("prompt", "a batch of prompts is not supported; send one per request");
    r.prompt = (*prompt)[0].get<std::string>();
  } else if (prompt->is_array()) {
    for (size_t i = 0; i < prompt->size(); ++i) {
      const json& id = expect((*prompt)[i], Kind::kInteger, element("prompt", i));
      if (id.is_number_unsigned() ? id.get<uint64_t>() > uint64_t(std::numeric_limits<int32_t>::max())
                                  : id.get<int64_t>() < 0)
        fail("Invalid value for '" + element("prompt", i) + "': a token id must be within [0, 2147483647].",
             element("prompt", i), "invalid_value");
      r.prompt_tokens.push_back(int32_t(id.get<int64_t>()));
    }
  } else {
    wrong_type("prompt", "a string, an array of one string or an array of token ids", *prompt);
  }
  if (r.prompt.empty() && r.prompt_tokens.empty())
    fail("Invalid value for 'prompt': it must not be empty.", "prompt", "invalid_value");

  r.max_tokens = int32_t(f.integer("max_tokens", 1, kMaxTokensCap).value_or(16));
  if (f.boolean("echo").value_or(false)) unsupported("echo", "echoing the prompt is not supported");
  if (f.get("suffix")) unsupported("suffix", "a suffix (insertion) is not supported");
  if (f.get("logprobs")) unsupported("logprobs", "log probabilities are not supported");
  if (const auto best_of = f.integer("best_of"); best_of && *best_of != 1)
    unsupported("best_of", "only best_of=1 is supported");
  return r;
}

}  // namespace hearth::service
