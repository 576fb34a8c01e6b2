#include "service/pipeline_spec.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "core/json_type.h"
#include "plugins/utf8.h"

namespace hearth::service {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// What an LLM or template step's output holds, so references into it can be
// checked before the run; plugin outputs are checked against the plugin's
// schema by the runner.
const std::set<std::string> kLlmFields = {"text", "prompt_tokens", "tokens", "finish_reason"};
const std::set<std::string> kTemplateFields = {"text"};

class Checker {
 public:
  explicit Checker(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& key, const std::string& what) const {
    throw Error(ErrorCode::kInvalidArgument, file_ + ": " + (key.empty() ? "" : key + ": ") + what);
  }

  void only_keys(const json& obj, const std::string& key, const std::set<std::string>& allowed) const {
    for (const auto& [k, v] : obj.items()) {
      if (allowed.count(k)) continue;
      std::string list;
      for (const std::string& a : allowed) list += (list.empty() ? "" : ", ") + a;
      fail(join(key, k), "unknown key (allowed here: " + list + ")");
    }
  }

  const json& object(const json& v, const std::string& key) const {
    if (!v.is_object()) fail(key, std::string("must be an object, got ") + json_type_name(v));
    return v;
  }

  std::string string(const json& obj, const std::string& key, const std::string& field, bool required,
                     const std::string& fallback = "") const {
    if (!obj.contains(field)) {
      if (required) fail(join(key, field), "is missing (a string is required)");
      return fallback;
    }
    const json& v = obj.at(field);
    if (!v.is_string()) fail(join(key, field), std::string("must be a string, got ") + json_type_name(v));
    return v.get<std::string>();
  }

  void name(const std::string& value, const std::string& key, const char* what) const {
    bool ok = !value.empty() && value.size() <= 64;
    for (char c : value)
      if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) ok = false;
    if (!ok) fail(key, std::string(what) + " '" + value + "' must be 1-64 letters, digits, _ or -");
  }

  SpecTemplate parse(const std::string& text, const std::string& key) const {
    try {
      return {key, parse_template(text)};
    } catch (const Error& e) {
      fail(key, e.what());
    }
  }

  static std::string join(const std::string& key, const std::string& field) {
    return key.empty() ? field : key + "." + field;
  }

  const std::string& file() const { return file_; }

 private:
  std::string file_;
};

InputKind parse_input_kind(const Checker& c, const std::string& value, const std::string& key) {
  if (value == "image") return InputKind::kImage;
  if (value == "audio") return InputKind::kAudio;
  if (value == "file") return InputKind::kFile;
  if (value == "text") return InputKind::kText;
  c.fail(key, "unknown input kind '" + value + "' (image, audio, file or text)");
}

// Every string inside a plugin step's input object becomes a template.
void collect_templates(const Checker& c, const json& v, const std::string& key, const std::string& pointer,
                       std::map<std::string, SpecTemplate>& out) {
  if (v.is_string()) {
    out.emplace(pointer, c.parse(v.get<std::string>(), key));
  } else if (v.is_object()) {
    for (const auto& [k, item] : v.items()) collect_templates(c, item, key + "." + k, pointer + "/" + k, out);
  } else if (v.is_array()) {
    for (size_t i = 0; i < v.size(); ++i)
      collect_templates(c, v[i], key + "[" + std::to_string(i) + "]", pointer + "/" + std::to_string(i), out);
  }
}

PipelineInput parse_input(const Checker& c, const std::string& name, const json& v, const std::string& key) {
  c.name(name, key, "input name");
  c.object(v, key);
  c.only_keys(v, key, {"kind", "required", "default", "description"});
  PipelineInput in;
  in.name = name;
  in.kind = parse_input_kind(c, c.string(v, key, "kind", true), Checker::join(key, "kind"));
  in.description = c.string(v, key, "description", false);
  if (v.contains("default")) in.default_value = c.string(v, key, "default", false);
  in.required = !in.default_value;
  if (v.contains("required")) {
    const json& r = v.at("required");
    if (!r.is_boolean()) c.fail(Checker::join(key, "required"), std::string("must be true or false, got ") + json_type_name(r));
    if (r.get<bool>() && in.default_value)
      c.fail(Checker::join(key, "required"), "a required input cannot have a default");
    in.required = r.get<bool>();
  }
  return in;
}

PipelineStep parse_step(const Checker& c, const json& v, const std::string& key) {
  c.object(v, key);
  PipelineStep s;
  s.key = key;
  s.id = c.string(v, key, "id", true);
  c.name(s.id, Checker::join(key, "id"), "step id");
  const std::string kind = c.string(v, key, "kind", true);
  if (v.contains("after")) {
    const json& a = v.at("after");
    if (!a.is_array()) c.fail(Checker::join(key, "after"), std::string("must be an array of step ids, got ") + json_type_name(a));
    for (size_t i = 0; i < a.size(); ++i) {
      const std::string k = Checker::join(key, "after") + "[" + std::to_string(i) + "]";
      if (!a[i].is_string()) c.fail(k, std::string("must be a step id (a string), got ") + json_type_name(a[i]));
      s.after.push_back(a[i].get<std::string>());
    }
  }
  if (kind == "plugin") {
    s.kind = StepKind::kPlugin;
    c.only_keys(v, key, {"id", "kind", "after", "plugin", "capability", "capability_kind", "input"});
    s.plugin = c.string(v, key, "plugin", false);
    s.capability = c.string(v, key, "capability", false);
    s.capability_kind = c.string(v, key, "capability_kind", false);
    if (s.plugin.empty() == s.capability_kind.empty())
      c.fail(key, "give either \"plugin\" (with \"capability\") or \"capability_kind\" (ocr, asr, tool), not both or neither");
    if (!s.plugin.empty() && s.capability.empty())
      c.fail(Checker::join(key, "capability"), "is missing (a plugin step by name says which capability)");
    if (!s.capability_kind.empty() && !s.capability.empty())
      c.fail(Checker::join(key, "capability"), "a step by capability_kind uses the first plugin's capability; drop \"capability\"");
    if (!s.capability_kind.empty() && s.capability_kind != "ocr" && s.capability_kind != "asr" && s.capability_kind != "tool")
      c.fail(Checker::join(key, "capability_kind"), "unknown capability kind '" + s.capability_kind + "' (ocr, asr or tool)");
    if (!v.contains("input")) c.fail(Checker::join(key, "input"), "is missing (the object passed to the plugin)");
    c.object(v.at("input"), Checker::join(key, "input"));
    s.input.value = v.at("input");
    collect_templates(c, s.input.value, Checker::join(key, "input"), "", s.input.templates);
  } else if (kind == "llm") {
    s.kind = StepKind::kLlm;
    c.only_keys(v, key, {"id", "kind", "after", "prompt", "system", "max_tokens", "temperature", "model"});
    s.prompt = c.parse(c.string(v, key, "prompt", true), Checker::join(key, "prompt"));
    if (v.contains("system")) s.system = c.parse(c.string(v, key, "system", false), Checker::join(key, "system"));
    if (v.contains("max_tokens")) {
      const json& m = v.at("max_tokens");
      const std::string k = Checker::join(key, "max_tokens");
      if (!m.is_number_integer()) c.fail(k, std::string("must be an integer, got ") + json_type_name(m));
      const int64_t n = m.get<int64_t>();
      if (n < 1 || n > kMaxLlmTokens)
        c.fail(k, "must be within 1.." + std::to_string(kMaxLlmTokens) + ", got " + m.dump());
      s.max_tokens = static_cast<int>(n);
    }
    if (v.contains("temperature")) {
      const json& t = v.at("temperature");
      const std::string k = Checker::join(key, "temperature");
      if (!t.is_number()) c.fail(k, std::string("must be a number, got ") + json_type_name(t));
      const double x = t.get<double>();
      if (!(x >= 0 && x <= 2)) c.fail(k, "must be within 0..2, got " + t.dump());
      s.temperature = static_cast<float>(x);
    }
    s.model = c.string(v, key, "model", false);
  } else if (kind == "template") {
    s.kind = StepKind::kTemplate;
    c.only_keys(v, key, {"id", "kind", "after", "text"});
    s.text = c.parse(c.string(v, key, "text", true), Checker::join(key, "text"));
  } else {
    c.fail(Checker::join(key, "kind"), "unknown step kind '" + kind + "' (plugin, llm or template)");
  }
  return s;
}

// Kahn's algorithm, ready steps taken in file order (so the order is stable);
// the steps left over contain a cycle, which is walked to name it.
std::vector<size_t> topological_order(const Checker& c, const std::vector<PipelineStep>& steps) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < steps.size(); ++i) index[steps[i].id] = i;
  std::vector<int> missing(steps.size(), 0);
  std::vector<std::vector<size_t>> dependents(steps.size());
  for (size_t i = 0; i < steps.size(); ++i) {
    for (const std::string& d : steps[i].depends_on) {
      dependents[index.at(d)].push_back(i);
      ++missing[i];
    }
  }
  std::vector<size_t> order;
  std::vector<bool> done(steps.size(), false);
  while (order.size() < steps.size()) {
    size_t next = steps.size();
    for (size_t i = 0; i < steps.size(); ++i)
      if (!done[i] && missing[i] == 0) {
        next = i;
        break;
      }
    if (next == steps.size()) break;
    done[next] = true;
    order.push_back(next);
    for (size_t d : dependents[next]) --missing[d];
  }
  if (order.size() == steps.size()) return order;
  // Walk dependencies from a step left over until one repeats: that is a cycle.
  size_t at = 0;
  while (done[at]) ++at;
  std::vector<size_t> path;
  std::vector<int> seen_at(steps.size(), -1);
  while (seen_at[at] < 0) {
    seen_at[at] = static_cast<int>(path.size());
    path.push_back(at);
    for (const std::string& d : steps[at].depends_on)
      if (!done[index.at(d)]) {
        at = index.at(d);
        break;
      }
  }
  // path[seen_at[at]..] is the cycle, each depending on the next; print it in
  // the order the data flows (producer first).
  std::vector<size_t> cycle(path.begin() + seen_at[at], path.end());
  std::reverse(cycle.begin(), cycle.end());
  std::rotate(cycle.begin(), std::min_element(cycle.begin(), cycle.end()), cycle.end());  // start at the first in the file
  std::string names;
  for (size_t i : cycle) names += steps[i].id + " -> ";
  names += steps[cycle.front()].id;
  c.fail("steps", "the steps form a cycle: " + names);
}

void check_ref(const Checker& c, const PipelineSpec& spec, const PipelineStep* step, const SpecTemplate& t,
               const TemplateRef& r, std::vector<std::string>* deps) {
  if (r.source == TemplateRef::Source::kInput) {
    if (!spec.find_input(r.name)) c.fail(t.key, "{{" + r.text + "}} names no input of this pipeline ('" + r.name + "')");
    return;
  }
  const PipelineStep* target = spec.find_step(r.name);
  if (!target) c.fail(t.key, "{{" + r.text + "}} names no step of this pipeline ('" + r.name + "')");
  if (step && target == step) c.fail(t.key, "{{" + r.text + "}}: a step cannot use its own output");
  if (!r.path.empty()) {
    const std::set<std::string>* fields = target->kind == StepKind::kLlm        ? &kLlmFields
                                          : target->kind == StepKind::kTemplate ? &kTemplateFields
                                                                                : nullptr;
    if (fields && (!fields->count(r.path[0]) || r.path.size() > 1)) {
      std::string list;
      for (const std::string& f : *fields) list += (list.empty() ? "" : ", ") + f;
      c.fail(t.key, "{{" + r.text + "}}: a " + step_kind_name(target->kind) + " step's output has no '" +
                        r.path[0] + (r.path.size() > 1 ? "." + r.path[1] : "") + "' (it has " + list + ", or output)");
    }
  }
  if (deps && std::find(deps->begin(), deps->end(), r.name) == deps->end()) deps->push_back(r.name);
}

}  // namespace

const char* input_kind_name(InputKind kind) {
  switch (kind) {
    case InputKind::kImage: return "image";
    case InputKind::kAudio: return "audio";
    case InputKind::kFile: return "file";
    case InputKind::kText: return "text";
  }
  return "?";
}

const char* step_kind_name(StepKind kind) {
  switch (kind) {
    case StepKind::kPlugin: return "plugin";
    case StepKind::kLlm: return "llm";
    case StepKind::kTemplate: return "template";
  }
  return "?";
}

std::vector<const SpecTemplate*> PipelineStep::templates() const {
  std::vector<const SpecTemplate*> all;
  for (const auto& [pointer, t] : input.templates) all.push_back(&t);
  if (system) all.push_back(&*system);
  if (prompt) all.push_back(&*prompt);
  if (text) all.push_back(&*text);
  return all;
}

const PipelineStep* PipelineSpec::find_step(const std::string& id) const {
  for (const PipelineStep& s : steps)
    if (s.id == id) return &s;
  return nullptr;
}

const PipelineInput* PipelineSpec::find_input(const std::string& n) const {
  for (const PipelineInput& i : inputs)
    if (i.name == n) return &i;
  return nullptr;
}

PipelineSpec parse_pipeline_text(const std::string& text, const std::string& file) {
  json root;
  try {
    root = json::parse(text);
  } catch (const json::parse_error& e) {
    throw Error(ErrorCode::kFormat, file + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  // ordered_json would keep the order of inputs and outputs as written; json
  // sorts keys, so read them from an ordered parse.
  const nlohmann::ordered_json ordered = nlohmann::ordered_json::parse(text);
  Checker c(file);
  if (!root.is_object()) c.fail("", std::string("a pipeline must be a JSON object, got ") + json_type_name(root));
  c.only_keys(root, "", {"name", "description", "inputs", "steps", "outputs"});
  PipelineSpec spec;
  spec.file = file;
  spec.name = c.string(root, "", "name", true);
  c.name(spec.name, "name", "pipeline name");
  spec.description = c.string(root, "", "description", false);

  if (root.contains("inputs")) {
    c.object(root["inputs"], "inputs");
    for (const auto& [name, v] : ordered["inputs"].items())
      spec.inputs.push_back(parse_input(c, name, json(v), "inputs." + name));
  }

  if (!root.contains("steps")) c.fail("steps", "is missing (an array of steps)");
  const json& steps = root["steps"];
  if (!steps.is_array()) c.fail("steps", std::string("must be an array, got ") + json_type_name(steps));
  if (steps.empty()) c.fail("steps", "is empty (a pipeline needs at least one step)");
  if (steps.size() > 256) c.fail("steps", "has " + std::to_string(steps.size()) + " steps (at most 256)");
  std::set<std::string> ids;
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string key = "steps[" + std::to_string(i) + "]";
    PipelineStep s = parse_step(c, steps[i], key);
    if (!ids.insert(s.id).second) c.fail(key + ".id", "duplicate step id '" + s.id + "'");
    spec.steps.push_back(std::move(s));
  }

  for (PipelineStep& s : spec.steps) {
    for (size_t i = 0; i < s.after.size(); ++i) {
      const std::string key = s.key + ".after[" + std::to_string(i) + "]";
      if (!spec.find_step(s.after[i])) c.fail(key, "names no step of this pipeline ('" + s.after[i] + "')");
      if (s.after[i] == s.id) c.fail(key, "a step cannot run after itself");
      if (std::find(s.depends_on.begin(), s.depends_on.end(), s.after[i]) == s.depends_on.end())
        s.depends_on.push_back(s.after[i]);
    }
    for (const SpecTemplate* t : s.templates())
      for (const TemplateRef& r : t->parsed.refs) check_ref(c, spec, &s, *t, r, &s.depends_on);
  }
  spec.order = topological_order(c, spec.steps);

  if (!root.contains("outputs")) c.fail("outputs", "is missing (an object: output name -> template)");
  c.object(root["outputs"], "outputs");
  if (root["outputs"].empty()) c.fail("outputs", "is empty (name at least one value to return)");
  for (const auto& [name, v] : ordered["outputs"].items()) {
    const std::string key = "outputs." + name;
    c.name(name, key, "output name");
    if (!v.is_string()) c.fail(key, std::string("must be a template string, got ") + json_type_name(json(v)));
    PipelineOutput out{name, c.parse(v.get<std::string>(), key)};
    if (out.value.parsed.refs.empty()) c.fail(key, "references nothing (use {{steps.ID.FIELD}} or {{inputs.NAME}})");
    for (const TemplateRef& r : out.value.parsed.refs) check_ref(c, spec, nullptr, out.value, r, nullptr);
    spec.outputs.push_back(std::move(out));
  }
  return spec;
}

PipelineSpec load_pipeline_file(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) throw Error(ErrorCode::kNotFound, path + ": no such pipeline file");
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in && !in.eof()) throw Error(ErrorCode::kIo, path + ": cannot read the pipeline file");
  return parse_pipeline_text(text.str(), path);
}

json resolve_inputs(const PipelineSpec& spec, const std::map<std::string, std::string>& given) {
  json values = json::object();
  for (const auto& [name, value] : given)
    if (!spec.find_input(name)) {
      std::string list;
      for (const PipelineInput& in : spec.inputs) list += (list.empty() ? "" : ", ") + in.name;
      throw Error(ErrorCode::kInvalidArgument, "pipeline '" + spec.name + "' has no input '" + name + "' (its inputs: " +
                                                   (list.empty() ? "none" : list) + ")");
    }
  for (const PipelineInput& in : spec.inputs) {
    auto it = given.find(in.name);
    if (it == given.end()) {
      if (in.default_value) {
        values[in.name] = *in.default_value;
        continue;
      }
      if (!in.required) continue;
      throw Error(ErrorCode::kInvalidArgument, "pipeline '" + spec.name + "' needs input '" + in.name + "' (" +
                                                   input_kind_name(in.kind) + "): give --input " + in.name + "=...");
    }
    std::string value = it->second;
    if (!plugins::valid_utf8(value))
      throw Error(ErrorCode::kInvalidArgument, "input '" + in.name + "': the value is not valid UTF-8");
    if (is_path_kind(in.kind)) {
      std::error_code ec;
      if (!fs::is_regular_file(value, ec))
        throw Error(ErrorCode::kNotFound, "input '" + in.name + "': " + value + ": no such " + input_kind_name(in.kind) + " file");
      value = fs::absolute(value).lexically_normal().string();
    }
    values[in.name] = value;
  }
  return values;
}

nlohmann::ordered_json describe_pipeline(const PipelineSpec& spec) {
  nlohmann::ordered_json j;
  j["name"] = spec.name;
  j["description"] = spec.description;
  j["file"] = spec.file;
  j["inputs"] = nlohmann::ordered_json::array();
  for (const PipelineInput& in : spec.inputs) {
    nlohmann::ordered_json i = {{"name", in.name}, {"kind", input_kind_name(in.kind)}, {"required", in.required}};
    if (in.default_value) i["default"] = *in.default_value;
    if (!in.description.empty()) i["description"] = in.description;
    j["inputs"].push_back(i);
  }
  j["steps"] = nlohmann::ordered_json::array();
  for (size_t idx : spec.order) {
    const PipelineStep& s = spec.steps[idx];
    nlohmann::ordered_json st = {{"id", s.id}, {"kind", step_kind_name(s.kind)}, {"depends_on", s.depends_on}};
    if (s.kind == StepKind::kPlugin) {
      if (!s.plugin.empty()) st["plugin"] = s.plugin, st["capability"] = s.capability;
      else st["capability_kind"] = s.capability_kind;
    } else if (s.kind == StepKind::kLlm) {
      st["max_tokens"] = s.max_tokens;
      st["temperature"] = s.temperature;
      if (!s.model.empty()) st["model"] = s.model;
    }
    j["steps"].push_back(st);
  }
  j["outputs"] = nlohmann::ordered_json::array();
  for (const PipelineOutput& o : spec.outputs) j["outputs"].push_back(o.name);
  return j;
}

}  // namespace hearth::service
