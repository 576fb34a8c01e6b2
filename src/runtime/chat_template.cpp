#include "runtime/chat_template.h"

#include "core/error.h"

namespace hearth::runtime {
namespace {

// Kept byte-identical to tests/data/chat_templates/builtin_*.jinja, which the
// golden tests render with Python jinja2.
constexpr std::string_view kChatml = R"TPL({%- for message in messages %}
    {{- '<|im_start|>' + message['role'] + '\n' }}
    {%- if message['content'] is string %}
        {{- message['content'] }}
    {%- endif %}
    {{- '<|im_end|>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|im_start|>assistant\n' }}
{%- endif %}
)TPL";

constexpr std::string_view kLlama3 = R"TPL({{- bos_token }}
{%- for message in messages %}
    {{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' }}
    {%- if message['content'] is string %}
        {{- message['content'] | trim }}
    {%- endif %}
    {{- '<|eot_id|>' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<|start_header_id|>assistant<|end_header_id|>\n\n' }}
{%- endif %}
)TPL";

// Gemma has no system role: the system text opens the first user turn.
constexpr std::string_view kGemma = R"TPL({{- bos_token }}
{%- if messages and messages[0]['role'] == 'system' %}
    {%- set first_user_prefix = messages[0]['content'] + '\n\n' %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set first_user_prefix = '' %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- for message in loop_messages %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- set role = 'model' if message['role'] == 'assistant' else message['role'] %}
    {{- '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}
    {%- if message['content'] is string %}
        {{- message['content'] | trim }}
    {%- endif %}
    {{- '<end_of_turn>\n' }}
{%- endfor %}
{%- if add_generation_prompt %}
    {{- '<start_of_turn>model\n' }}
{%- endif %}
)TPL";

// Mistral's [INST] format; a system message joins the first user turn.
constexpr std::string_view kMistral = R"TPL({{- bos_token }}
{%- if messages and messages[0]['role'] == 'system' %}
    {%- set system_prefix = messages[0]['content'] + '\n\n' %}
    {%- set loop_messages = messages[1:] %}
{%- else %}
    {%- set system_prefix = '' %}
    {%- set loop_messages = messages %}
{%- endif %}
{%- for message in loop_messages %}
    {%- if message['role'] not in ['user', 'assistant'] %}
        {{- raise_exception('Only user and assistant roles are supported after an optional system message') }}
    {%- endif %}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}
        {{- raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}
    {%- endif %}
    {%- if message['role'] == 'user' %}
        {{- '[INST] ' + (system_prefix if loop.first else '') + message['content'] + ' [/INST]' }}
    {%- else %}
        {{- message['content'] + eos_token }}
    {%- endif %}
{%- endfor %}
)TPL";

}  // namespace

ChatTemplate ChatTemplate::parse(std::string_view template_text) {
  ChatTemplate t;
  // transformers compiles chat templates with trim_blocks and lstrip_blocks.
  jinja::ParseOptions options;
  options.trim_blocks = true;
  options.lstrip_blocks = true;
  t.template_ = jinja::Template::parse(template_text, options);
  return t;
}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, const ChatRenderOptions& options) const {
  if (!messages.is_array()) {
    throw Error(ErrorCode::kInvalidArgument,
                std::string("chat messages must be a JSON array, not ") + messages.type_name());
  }
  for (size_t i = 0; i < messages.size(); ++i) {
    if (!messages[i].is_object()) {
      throw Error(ErrorCode::kInvalidArgument,
                  "chat message " + std::to_string(i) + " must be a JSON object, not " + messages[i].type_name());
    }
  }
  if (!options.extra_context.is_null() && !options.extra_context.is_object()) {
    throw Error(ErrorCode::kInvalidArgument, "extra chat template variables must be a JSON object");
  }
  using jinja::Value;
  jinja::ValueDict context;
  context.set(Value("messages"), Value::from_json(messages));
  context.set(Value("add_generation_prompt"), Value(options.add_generation_prompt));
  context.set(Value("bos_token"), Value(options.bos_token));
  context.set(Value("eos_token"), Value(options.eos_token));
  // transformers passes tools and documents even when there are none.
  context.set(Value("tools"), Value::from_json(options.tools));
  context.set(Value("documents"), Value::none());
  if (options.extra_context.is_object()) {
    for (const auto& [k, v] : options.extra_context.items()) context.set(Value(k), Value::from_json(v));
  }
  jinja::RenderOptions render_options;
  render_options.limits = options.limits;
  render_options.clock = options.clock;
  return template_.render(context, render_options);
}

std::string render_chat_template(const std::string& template_text, const nlohmann::ordered_json& messages,
                                 const ChatRenderOptions& options) {
  return ChatTemplate::parse(template_text).render(messages, options);
}

std::optional<std::string> builtin_chat_template(std::string_view name) {
  if (name == "chatml") return std::string(kChatml);
  if (name == "llama3") return std::string(kLlama3);
  if (name == "gemma") return std::string(kGemma);
  if (name == "mistral") return std::string(kMistral);
  return std::nullopt;
}

}  // namespace hearth::runtime
