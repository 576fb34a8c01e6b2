#include "runtime/json_schema_validate.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "core/error.h"

namespace hearth::runtime {
namespace {

using Json = nlohmann::ordered_json;

constexpr int kMaxDepth = 256;

// Keywords that would change what validates and are not implemented here.
constexpr std::string_view kRefused[] = {
    "pattern",         "patternProperties", "propertyNames",         "multipleOf",        "contains",
    "minContains",     "maxContains",       "minProperties",         "maxProperties",     "dependentRequired",
    "dependentSchemas", "dependencies",     "if",                    "then",              "else",
    "not",             "unevaluatedProperties", "unevaluatedItems",  "$dynamicRef",       "$recursiveRef",
};

constexpr std::string_view kDescriptive[] = {
    "title",    "description", "examples",  "example",          "default",     "$schema",       "$id",
    "id",       "$comment",    "deprecated", "readOnly",        "writeOnly",   "contentEncoding",
    "contentMediaType", "contentSchema", "$anchor", "$dynamicAnchor", "$recursiveAnchor", "$vocabulary",
    "discriminator", "xml", "externalDocs", "$defs", "definitions",
};

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, "JSON schema at " + path + ": " + what);
}

bool is_whole(const Json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  const double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool is_schema(const Json& v) { return v.is_object() || v.is_boolean(); }

void check_count(const Json& s, const char* key, const std::string& path) {
  if (!s.contains(key)) return;
  const Json& v = s[key];
  if (!is_whole(v) || v.get<double>() < 0)
    refuse(json_pointer_append(path, key), std::string(key) + " must be a non-negative integer");
}

bool valid_type_name(const Json& t) {
  if (!t.is_string()) return false;
  const auto& n = t.get_ref<const std::string&>();
  return n == "string" || n == "number" || n == "integer" || n == "boolean" || n == "null" || n == "object" ||
         n == "array";
}

size_t code_points(std::string_view s) {
  size_t n = 0;
  for (const char c : s) n += (static_cast<uint8_t>(c) & 0xc0) != 0x80;
  return n;
}

// ---- formats ----

bool digits(std::string_view s, size_t at, size_t n, int& value) {
  if (at + n > s.size()) return false;
  value = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    value = value * 10 + (s[i] - '0');
  }
  return true;
}

bool leap_year(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

bool is_date(std::string_view s) {
  int y, m, d;
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  if (!digits(s, 0, 4, y) || !digits(s, 5, 2, m) || !digits(s, 8, 2, d)) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return false;
  return d <= kDays[m - 1] + (m == 2 && leap_year(y) ? 1 : 0);
}

bool is_time(std::string_view s) {
  int h, m, sec;
  if (s.size() < 9 || s[2] != ':' || s[5] != ':') return false;
  if (!digits(s, 0, 2, h) || !digits(s, 3, 2, m) || !digits(s, 6, 2, sec)) return false;
  if (h > 23 || m > 59 || sec > 60) return false;
  size_t i = 8;
  if (i < s.size() && s[i] == '.') {
    const size_t start = ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i == start) return false;
  }
  if (i == s.size()) return false;
  if (s[i] == 'Z' || s[i] == 'z') return i + 1 == s.size();
  if (s[i] != '+' && s[i] != '-') return false;
  int oh, om;
  return s.size() == i + 6 && s[i + 3] == ':' && digits(s, i + 1, 2, oh) && digits(s, i + 4, 2, om) && oh <= 23 &&
         om <= 59;
}

bool is_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

bool is_uuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? s[i] != '-' : !is_hex(s[i])) return false;
  }
  return true;
}

bool is_ipv4(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (true) {
    const size_t start = i;
    int v = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9' && i - start < 3) v = v * 10 + (s[i++] - '0');
    const size_t n = i - start;
    if (n == 0 || v > 255 || (n > 1 && s[start] == '0')) return false;
    if (++parts == 4) return i == s.size();
    if (i >= s.size() || s[i] != '.') return false;
    ++i;
  }
}

bool is_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

bool is_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t end = s.find('.', start);
    if (end == std::string_view::npos) end = s.size();
    const std::string_view label = s.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
    for (const char c : label)
      if (!is_alnum(c) && c != '-') return false;
    if (end == s.size()) return true;
    start = end + 1;
  }
}

bool is_atext(char c) { return is_alnum(c) || std::string_view("!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos; }

bool is_email(std::string_view s) {
  const size_t at = s.rfind('@');
  if (at == std::string_view::npos || at == 0 || at > 64) return false;
  const std::string_view local = s.substr(0, at);
  if (local.front() == '.' || local.back() == '.' || local.find("..") != std::string_view::npos) return false;
  for (const char c : local)
    if (!is_atext(c) && c != '.') return false;
  return is_hostname(s.substr(at + 1));
}

// Draft 4 writes exclusive bounds as booleans beside minimum/maximum.
struct Bound {
  bool present = false;
  double value = 0;
  bool exclusive = false;
};

Bound lower_bound_of(const Json& s) {
  Bound b;
  if (s.contains("minimum")) b = {true, s["minimum"].get<double>(), false};
  if (s.contains("exclusiveMinimum")) {
    const Json& e = s["exclusiveMinimum"];
    if (e.is_boolean()) {
      b.exclusive = b.present && e.get<bool>();
    } else {
      const double v = e.get<double>();
      if (!b.present || v >= b.value) b = {true, v, true};
    }
  }
  return b;
}

Bound upper_bound_of(const Json& s) {
  Bound b;
  if (s.contains("maximum")) b = {true, s["maximum"].get<double>(), false};
  if (s.contains("exclusiveMaximum")) {
    const Json& e = s["exclusiveMaximum"];
    if (e.is_boolean()) {
      b.exclusive = b.present && e.get<bool>();
    } else {
      const double v = e.get<double>();
      if (!b.present || v <= b.value) b = {true, v, true};
    }
  }
  return b;
}

std::string type_name(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "boolean";
  if (v.is_number()) return is_whole(v) ? "integer" : "number";
  if (v.is_string()) return "string";
  if (v.is_array()) return "array";
  return "object";
}

bool has_type(const Json& v, const std::string& t) {
  if (t == "null") return v.is_null();
  if (t == "boolean") return v.is_boolean();
  if (t == "integer") return v.is_number() && is_whole(v);
  if (t == "number") return v.is_number();
  if (t == "string") return v.is_string();
  if (t == "array") return v.is_array();
  return v.is_object();
}

std::string shorten(const Json& v) {
  std::string s = v.dump();
  return s.size() > 60 ? s.substr(0, 57) + "..." : s;
}

}  // namespace

std::string json_pointer_append(const std::string& path, std::string_view token) {
  std::string out = path + "/";
  for (const char c : token) {
    if (c == '~') out += "~0";
    else if (c == '/') out += "~1";
    else out += c;
  }
  return out;
}

bool json_schema_is_descriptive(std::string_view keyword) {
  if (keyword.starts_with("x-")) return true;  // OpenAPI extensions
  return std::find(std::begin(kDescriptive), std::end(kDescriptive), keyword) != std::end(kDescriptive);
}

void json_schema_check_keywords(const Json& s, const std::string& path) {
  if (!s.is_object()) refuse(path, "a schema must be an object or a boolean, not " + shorten(s));
  for (const auto& [key, value] : s.items()) {
    const std::string here = json_pointer_append(path, key);
    if (std::find(std::begin(kRefused), std::end(kRefused), key) != std::end(kRefused))
      throw Error(ErrorCode::kInvalidArgument,
                  "JSON schema keyword \"" + key + "\" at " + here + " is not supported by constrained decoding");
    if (key == "uniqueItems") {
      if (!value.is_boolean()) refuse(here, "uniqueItems must be a boolean");
      if (value.get<bool>())
        throw Error(ErrorCode::kInvalidArgument, "JSON schema keyword \"uniqueItems\": true at " + here +
                                                     " is not supported by constrained decoding");
    } else if (key == "type") {
      const bool ok = valid_type_name(value) ||
                      (value.is_array() && !value.empty() && std::all_of(value.begin(), value.end(), valid_type_name));
      if (!ok) refuse(here, "type must be one of string, number, integer, boolean, null, object, array (or a list of them)");
    } else if (key == "enum") {
      if (!value.is_array()) refuse(here, "enum must be an array");
    } else if (key == "properties" || key == "$defs" || key == "definitions") {
      if (!value.is_object()) refuse(here, key + " must be an object");
      for (const auto& [name, sub] : value.items())
        if (!is_schema(sub)) refuse(json_pointer_append(here, name), "a schema must be an object or a boolean");
    } else if (key == "required") {
      if (!value.is_array() || !std::all_of(value.begin(), value.end(), [](const Json& v) { return v.is_string(); }))
        refuse(here, "required must be an array of strings");
    } else if (key == "additionalProperties" || key == "additionalItems") {
      if (!is_schema(value)) refuse(here, key + " must be a schema (an object or a boolean)");
    } else if (key == "items") {
      if (!is_schema(value) && !(value.is_array() && std::all_of(value.begin(), value.end(), is_schema)))
        refuse(here, "items must be a schema or an array of schemas");
    } else if (key == "prefixItems" || key == "anyOf" || key == "oneOf" || key == "allOf") {
      if (!value.is_array() || (key != "prefixItems" && value.empty()) ||
          !std::all_of(value.begin(), value.end(), is_schema))
        refuse(here, key + " must be a non-empty array of schemas");
    } else if (key == "minLength" || key == "maxLength" || key == "minItems" || key == "maxItems") {
      check_count(s, key.c_str(), path);
    } else if (key == "minimum" || key == "maximum") {
      if (!value.is_number()) refuse(here, key + " must be a number");
    } else if (key == "exclusiveMinimum" || key == "exclusiveMaximum") {
      if (!value.is_number() && !value.is_boolean()) refuse(here, key + " must be a number (or, draft 4, a boolean)");
    } else if (key == "format" || key == "$ref") {
      if (!value.is_string()) refuse(here, key + " must be a string");
    } else if (key == "nullable") {
      if (!value.is_boolean()) refuse(here, "nullable must be a boolean");
    }
  }
}

const Json& json_schema_resolve_ref(const Json& root, const std::string& ref, const std::string& path) {
  const std::string where = json_pointer_append(path, "$ref");
  if (ref.empty() || ref[0] != '#')
    throw Error(ErrorCode::kInvalidArgument, "JSON schema $ref \"" + ref + "\" at " + where +
                                                 " is not supported: only references within the schema (#/...) are");
  // The fragment is URI-encoded, then a JSON pointer.
  std::string pointer;
  for (size_t i = 1; i < ref.size(); ++i) {
    if (ref[i] == '%' && i + 2 < ref.size() && is_hex(ref[i + 1]) && is_hex(ref[i + 2])) {
      pointer += static_cast<char>(std::stoi(ref.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      pointer += ref[i];
    }
  }
  if (!pointer.empty() && pointer[0] != '/')
    throw Error(ErrorCode::kInvalidArgument, "JSON schema $ref \"" + ref + "\" at " + where +
                                                 " is not supported: anchors are not, JSON pointers (#/...) are");
  const Json* at = &root;
  size_t i = 1;
  while (i <= pointer.size() && !pointer.empty()) {
    size_t end = pointer.find('/', i);
    if (end == std::string::npos) end = pointer.size();
    std::string token;
    for (size_t k = i; k < end; ++k) {
      if (pointer[k] == '~' && k + 1 < end && (pointer[k + 1] == '0' || pointer[k + 1] == '1')) {
        token += pointer[k + 1] == '0' ? '~' : '/';
        ++k;
      } else {
        token += pointer[k];
      }
    }
    if (at->is_object() && at->contains(token)) {
      at = &(*at)[token];
    } else if (at->is_array() && !token.empty() && token.size() < 10 &&
               std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
               std::stoul(token) < at->size()) {
      at = &(*at)[std::stoul(token)];
    } else {
      throw Error(ErrorCode::kInvalidArgument,
                  "JSON schema $ref \"" + ref + "\" at " + where + " names nothing in the schema");
    }
    i = end + 1;
  }
  if (!is_schema(*at))
    throw Error(ErrorCode::kInvalidArgument, "JSON schema $ref \"" + ref + "\" at " + where + " does not name a schema");
  return *at;
}

bool json_format_supported(std::string_view f) {
  return f == "date" || f == "time" || f == "date-time" || f == "uuid" || f == "ipv4" || f == "email" ||
         f == "hostname";
}

bool json_format_matches(std::string_view f, std::string_view v) {
  if (f == "date") return is_date(v);
  if (f == "time") return is_time(v);
  if (f == "date-time") {
    const size_t t = v.find_first_of("Tt");
    return t == 10 && is_date(v.substr(0, 10)) && is_time(v.substr(11));
  }
  if (f == "uuid") return is_uuid(v);
  if (f == "ipv4") return is_ipv4(v);
  if (f == "email") return is_email(v);
  if (f == "hostname") return is_hostname(v);
  return true;  // formats are annotations unless known
}

// ---- validation ----

std::optional<std::string> JsonSchemaValidator::check(const Json& instance) const { return check(root_, "#", instance); }

std::optional<std::string> JsonSchemaValidator::check(const Json& schema, const std::string& path,
                                                      const Json& instance) const {
  std::string why;
  if (validate(schema, path, instance, "", why, 0)) return std::nullopt;
  return why;
}

bool JsonSchemaValidator::validate(const Json& s, const std::string& spath, const Json& v, const std::string& ipath,
                                   std::string& why, int depth) const {
  if (depth > kMaxDepth) refuse(spath, "references nest deeper than " + std::to_string(kMaxDepth) + " levels");
  auto fail = [&](const std::string& what) {
    why = "value at " + (ipath.empty() ? std::string("/") : ipath) + " " + what + " (schema " + spath + ")";
    return false;
  };
  if (s.is_boolean()) return s.get<bool>() ? true : fail("is not allowed (false schema)");
  json_schema_check_keywords(s, spath);

  if (s.contains("$ref")) {
    const std::string& ref = s["$ref"].get_ref<const std::string&>();
    if (!validate(json_schema_resolve_ref(root_, ref, spath), ref, v, ipath, why, depth + 1)) return false;
  }
  if (s.contains("type")) {
    const Json& t = s["type"];
    bool ok = s.value("nullable", false) && v.is_null();
    if (t.is_string()) ok = ok || has_type(v, t.get<std::string>());
    else
      for (const Json& one : t) ok = ok || has_type(v, one.get<std::string>());
    if (!ok) return fail("is " + type_name(v) + ", not " + t.dump());
  }
  if (s.contains("enum")) {
    const Json& e = s["enum"];
    if (std::find(e.begin(), e.end(), v) == e.end()) return fail("is not one of the enum values");
  }
  if (s.contains("const") && s["const"] != v) return fail("is not the constant " + shorten(s["const"]));

  if (v.is_number()) {
    const double x = v.get<double>();
    const Bound lo = lower_bound_of(s), hi = upper_bound_of(s);
    if (lo.present && (lo.exclusive ? !(x > lo.value) : !(x >= lo.value)))
      return fail("is below the minimum " + Json(lo.value).dump());
    if (hi.present && (hi.exclusive ? !(x < hi.value) : !(x <= hi.value)))
      return fail("is above the maximum " + Json(hi.value).dump());
  }
  if (v.is_string()) {
    const auto& str = v.get_ref<const std::string&>();
    const size_t n = code_points(str);
    if (s.contains("minLength") && n < s["minLength"].get<double>()) return fail("is shorter than minLength");
    if (s.contains("maxLength") && n > s["maxLength"].get<double>()) return fail("is longer than maxLength");
    if (s.contains("format")) {
      const auto& f = s["format"].get_ref<const std::string&>();
      if (json_format_supported(f) && !json_format_matches(f, str)) return fail("is not a valid " + f);
    }
  }
  if (v.is_array()) {
    const size_t n = v.size();
    if (s.contains("minItems") && n < s["minItems"].get<double>()) return fail("has fewer items than minItems");
    if (s.contains("maxItems") && n > s["maxItems"].get<double>()) return fail("has more items than maxItems");
    const Json* prefix = nullptr;
    std::string prefix_key;
    const Json* rest = nullptr;
    std::string rest_key;
    if (s.contains("prefixItems")) {
      prefix = &s["prefixItems"];
      prefix_key = "prefixItems";
      if (s.contains("items")) rest = &s["items"], rest_key = "items";
    } else if (s.contains("items") && s["items"].is_array()) {
      prefix = &s["items"];
      prefix_key = "items";
      if (s.contains("additionalItems")) rest = &s["additionalItems"], rest_key = "additionalItems";
    } else if (s.contains("items")) {
      rest = &s["items"];
      rest_key = "items";
    }
    for (size_t i = 0; i < n; ++i) {
      const std::string item_path = ipath + "/" + std::to_string(i);
      if (prefix && i < prefix->size()) {
        if (!validate((*prefix)[i], json_pointer_append(json_pointer_append(spath, prefix_key), std::to_string(i)),
                      v[i], item_path, why, depth + 1))
          return false;
      } else if (rest) {
        if (!validate(*rest, json_pointer_append(spath, rest_key), v[i], item_path, why, depth + 1)) return false;
      }
    }
  }
  if (v.is_object()) {
    if (s.contains("required"))
      for (const Json& name : s["required"])
        if (!v.contains(name.get<std::string>())) return fail("lacks the required property " + name.dump());
    const Json* props = s.contains("properties") ? &s["properties"] : nullptr;
    for (const auto& [key, value] : v.items()) {
      const std::string item_path = json_pointer_append(ipath, key);
      if (props && props->contains(key)) {
        if (!validate((*props)[key], json_pointer_append(json_pointer_append(spath, "properties"), key), value,
                      item_path, why, depth + 1))
          return false;
      } else if (s.contains("additionalProperties")) {
        const Json& extra = s["additionalProperties"];
        if (extra.is_boolean() && !extra.get<bool>()) return fail("has the property \"" + key + "\", which is not allowed");
        if (!validate(extra, json_pointer_append(spath, "additionalProperties"), value, item_path, why, depth + 1))
          return false;
      }
    }
  }
  if (s.contains("allOf")) {
    const Json& all = s["allOf"];
    for (size_t i = 0; i < all.size(); ++i)
      if (!validate(all[i], json_pointer_append(json_pointer_append(spath, "allOf"), std::to_string(i)), v, ipath, why,
                    depth + 1))
        return false;
  }
  if (s.contains("anyOf")) {
    const Json& any = s["anyOf"];
    bool ok = false;
    std::string first;
    for (size_t i = 0; i < any.size() && !ok; ++i) {
      std::string w;
      ok = validate(any[i], json_pointer_append(json_pointer_append(spath, "anyOf"), std::to_string(i)), v, ipath, w,
                    depth + 1);
      if (first.empty()) first = w;
    }
    if (!ok) return fail("matches none of anyOf (first: " + first + ")");
  }
  if (s.contains("oneOf")) {
    const Json& one = s["oneOf"];
    int matches = 0;
    for (size_t i = 0; i < one.size(); ++i) {
      std::string w;
      matches += validate(one[i], json_pointer_append(json_pointer_append(spath, "oneOf"), std::to_string(i)), v,
                          ipath, w, depth + 1);
    }
    if (matches != 1) return fail("matches " + std::to_string(matches) + " of oneOf, not exactly one");
  }
  return true;
}

std::optional<std::string> json_schema_validate(const Json& schema, const Json& instance) {
  return JsonSchemaValidator(schema).check(instance);
}

}  // namespace hearth::runtime
