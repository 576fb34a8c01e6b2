#include "service/tool_calls.h"

#include "service/ids.h"

namespace hearth::service {
namespace {

using ojson = nlohmann::ordered_json;

const Tool* find_tool(const std::vector<Tool>& tools, const std::string& name) {
  for (const Tool& t : tools)
    if (t.name == name) return &t;
  return nullptr;
}

ojson function_json(const Tool& t) {
  ojson f = ojson::object();
  f["name"] = t.name;
  if (!t.description.empty()) f["description"] = t.description;
  f["parameters"] = t.parameters;
  return f;
}

size_t skip_space(const std::string& s, size_t i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  return i;
}

}  // namespace

ojson tools_json(const std::vector<Tool>& tools) {
  ojson list = ojson::array();
  for (const Tool& t : tools) list.push_back({{"type", "function"}, {"function", function_json(t)}});
  return list;
}

std::string tools_system_prompt(const std::vector<Tool>& tools) {
  std::string text =
      "# Tools\n\nYou can call functions to help answer. These are the functions, one JSON signature per line, "
      "between <tools> and </tools>:\n<tools>\n";
  for (const Tool& t : tools) text += ojson{{"type", "function"}, {"function", function_json(t)}}.dump() + "\n";
  text += "</tools>\n\nTo call a function, answer with a JSON object holding its name and arguments between ";
  text += std::string(kToolCallOpen) + " and " + kToolCallClose + ", like this:\n";
  text += std::string(kToolCallOpen) + "\n{\"name\": <function name>, \"arguments\": <arguments as a JSON object>}\n" +
          kToolCallClose;
  return text;
}

std::string tool_call_text(const std::string& name, const std::string& arguments_json) {
  ojson args;
  try {
    args = ojson::parse(arguments_json);
  } catch (const ojson::exception&) {
    args = arguments_json;  // not JSON: passed on as the string it is
  }
  return ojson{{"name", name}, {"arguments", args}}.dump();
}

ojson forced_tool_call_schema(const std::vector<Tool>& tools, const ToolChoice& choice) {
  auto one = [](const Tool& t) {
    return ojson{{"type", "object"},
                 {"properties", {{"name", {{"const", t.name}}}, {"arguments", t.parameters}}},
                 {"required", {"name", "arguments"}},
                 {"additionalProperties", false}};
  };
  if (choice.mode == ToolChoice::Mode::kFunction) {
    if (const Tool* t = find_tool(tools, choice.function)) return one(*t);
  }
  if (tools.size() == 1) return one(tools[0]);
  ojson any = ojson::array();
  for (const Tool& t : tools) any.push_back(one(t));
  return {{"anyOf", any}};
}

std::optional<ToolCall> parse_tool_call_object(const std::string& json_text, const std::vector<Tool>& tools) {
  ojson v;
  try {
    v = ojson::parse(json_text);
  } catch (const ojson::exception&) {
    return std::nullopt;
  }
  if (!v.is_object()) return std::nullopt;
  const auto name = v.find("name");
  if (name == v.end() || !name->is_string() || !find_tool(tools, name->get<std::string>())) return std::nullopt;
  ojson args = ojson::object();
  if (const auto a = v.find("arguments"); a != v.end()) {
    if (a->is_string()) {
      try {
        args = ojson::parse(a->get<std::string>());
      } catch (const ojson::exception&) {
        return std::nullopt;
      }
    } else {
      args = *a;
    }
  }
  if (!args.is_object()) return std::nullopt;
  return ToolCall{new_tool_call_id(), name->get<std::string>(), args.dump()};
}

std::optional<std::vector<ToolCall>> parse_tool_calls(const std::string& reply, const std::vector<Tool>& tools) {
  std::vector<ToolCall> calls;
  const std::string open = kToolCallOpen, close = kToolCallClose;
  size_t at = skip_space(reply, 0);
  if (reply.compare(at, open.size(), open) != 0) {
    // A reply that is nothing but one call object.
    if (at < reply.size() && reply[at] == '{') {
      if (auto call = parse_tool_call_object(reply.substr(at), tools)) return std::vector<ToolCall>{*call};
    }
    return std::nullopt;
  }
  while (at < reply.size()) {
    if (reply.compare(at, open.size(), open) != 0) return std::nullopt;
    const size_t body = at + open.size();
    size_t end = reply.find(close, body);
    // The last call may lack its closing tag (generation stopped right after the object).
    const std::string object = reply.substr(body, end == std::string::npos ? std::string::npos : end - body);
    auto call = parse_tool_call_object(object, tools);
    if (!call) return std::nullopt;
    calls.push_back(*call);
    if (end == std::string::npos) break;
    at = skip_space(reply, end + close.size());
  }
  if (calls.empty()) return std::nullopt;
  return calls;
}

std::string new_tool_call_id() { return random_id("call_", 24); }

}  // namespace hearth::service
