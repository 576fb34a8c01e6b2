#include "service/pipeline_template.h"

#include <cctype>

#include "core/error.h"

namespace hearth::service {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool is_name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
}

std::vector<std::string> split_dots(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  for (char c : text) {
    if (c == '.') {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  parts.push_back(cur);
  return parts;
}

TemplateRef parse_ref(const std::string& raw) {
  TemplateRef ref;
  ref.text = trim(raw);
  if (ref.text.empty()) throw Error(ErrorCode::kInvalidArgument, "empty placeholder {{}}");
  const std::vector<std::string> parts = split_dots(ref.text);
  for (const std::string& p : parts) {
    if (p.empty()) throw Error(ErrorCode::kInvalidArgument, "malformed reference {{" + ref.text + "}} (an empty name between dots)");
    for (char c : p)
      if (!is_name_char(c))
        throw Error(ErrorCode::kInvalidArgument, "malformed reference {{" + ref.text + "}} (names are letters, digits, _ and -)");
  }
  if (parts[0] == "inputs") {
    if (parts.size() != 2)
      throw Error(ErrorCode::kInvalidArgument, "malformed reference {{" + ref.text + "}} (write inputs.NAME)");
    ref.source = TemplateRef::Source::kInput;
    ref.name = parts[1];
  } else if (parts[0] == "steps") {
    if (parts.size() < 3)
      throw Error(ErrorCode::kInvalidArgument,
                  "malformed reference {{" + ref.text + "}} (write steps.ID.output or steps.ID.FIELD)");
    ref.source = TemplateRef::Source::kStep;
    ref.name = parts[1];
    if (!(parts.size() == 3 && parts[2] == "output")) ref.path.assign(parts.begin() + 2, parts.end());
  } else {
    throw Error(ErrorCode::kInvalidArgument,
                "unknown reference {{" + ref.text + "}} (a reference starts with inputs. or steps.)");
  }
  return ref;
}

bool is_index(const std::string& s) {
  if (s.empty() || s.size() > 9) return false;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  return true;
}

}  // namespace

ParsedTemplate parse_template(const std::string& text) {
  ParsedTemplate t;
  std::string cur;
  size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 3, "\\{{") == 0) {  // an escaped, literal {{
      cur += "{{";
      i += 3;
    } else if (text.compare(i, 2, "{{") == 0) {
      const size_t close = text.find("}}", i + 2);
      if (close == std::string::npos) throw Error(ErrorCode::kInvalidArgument, "unclosed {{ (no }} after it)");
      t.pieces.push_back(cur);
      cur.clear();
      t.refs.push_back(parse_ref(text.substr(i + 2, close - i - 2)));
      i = close + 2;
    } else {
      cur += text[i++];
    }
  }
  t.pieces.push_back(cur);
  return t;
}

const nlohmann::json& resolve_ref(const TemplateRef& ref, const TemplateScope& scope) {
  if (ref.source == TemplateRef::Source::kInput) {
    if (!scope.inputs || !scope.inputs->contains(ref.name))
      throw Error(ErrorCode::kNotFound, "{{" + ref.text + "}}: no input '" + ref.name + "' was given");
    return scope.inputs->at(ref.name);
  }
  if (!scope.steps || !scope.steps->contains(ref.name))
    throw Error(ErrorCode::kNotFound, "{{" + ref.text + "}}: step '" + ref.name + "' has not run");
  const nlohmann::json* v = &scope.steps->at(ref.name);
  for (const std::string& key : ref.path) {
    if (v->is_object() && v->contains(key)) {
      v = &v->at(key);
    } else if (v->is_array() && is_index(key) && std::stoul(key) < v->size()) {
      v = &v->at(std::stoul(key));
    } else {
      throw Error(ErrorCode::kNotFound,
                  "{{" + ref.text + "}}: step '" + ref.name + "' output has no '" + key + "' there");
    }
  }
  return *v;
}

nlohmann::json render_template(const ParsedTemplate& parsed, const TemplateScope& scope) {
  if (parsed.single_ref()) return resolve_ref(parsed.refs[0], scope);
  std::string out = parsed.pieces[0];
  for (size_t i = 0; i < parsed.refs.size(); ++i) {
    const nlohmann::json& v = resolve_ref(parsed.refs[i], scope);
    out += v.is_string() ? v.get<std::string>() : v.dump();
    out += parsed.pieces[i + 1];
  }
  return out;
}

}  // namespace hearth::service
