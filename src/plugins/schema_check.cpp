#include "plugins/schema_check.h"

#include "core/json_type.h"

namespace hearth::plugins {
namespace {

using nlohmann::json;

bool has_type(const json& v, const std::string& type) {
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "boolean") return v.is_boolean();
  if (type == "null") return v.is_null();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (!v.is_number_float()) return false;
    const double d = v.get<double>();
    return d == static_cast<double>(static_cast<long long>(d));
  }
  return false;
}

}  // namespace

std::string schema_mismatch(const json& value, const json& schema, const std::string& where) {
  if (schema.is_boolean()) return schema.get<bool>() ? "" : where + ": no value is allowed here";
  if (!schema.is_object()) return "";  // not a schema we can read: nothing to hold the value to
  if (auto t = schema.find("type"); t != schema.end()) {
    bool ok = false;
    std::string wanted;
    if (t->is_string()) {
      ok = has_type(value, t->get<std::string>());
      wanted = t->get<std::string>();
    } else if (t->is_array()) {
      for (const auto& one : *t)
        if (one.is_string()) {
          ok = ok || has_type(value, one.get<std::string>());
          wanted += (wanted.empty() ? "" : " or ") + one.get<std::string>();
        }
    } else {
      ok = true;
    }
    if (!ok) return where + ": expected " + wanted + ", got " + json_type_name(value);
  }
  if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
    bool found = false;
    for (const auto& option : *e) found = found || option == value;
    if (!found) return where + ": " + value.dump() + " is not one of " + e->dump();
  }
  if (value.is_number()) {
    const double d = value.get<double>();
    if (auto m = schema.find("minimum"); m != schema.end() && m->is_number() && d < m->get<double>())
      return where + ": " + value.dump() + " is below the minimum " + m->dump();
    if (auto m = schema.find("maximum"); m != schema.end() && m->is_number() && d > m->get<double>())
      return where + ": " + value.dump() + " is above the maximum " + m->dump();
  }
  if (value.is_object()) {
    if (auto r = schema.find("required"); r != schema.end() && r->is_array())
      for (const auto& key : *r)
        if (key.is_string() && !value.contains(key.get<std::string>()))
          return where + ": the required key \"" + key.get<std::string>() + "\" is missing";
    const auto props = schema.find("properties");
    const auto extra = schema.find("additionalProperties");
    for (const auto& [key, child] : value.items()) {
      const std::string path = where + "." + key;
      if (props != schema.end() && props->is_object() && props->contains(key)) {
        if (std::string m = schema_mismatch(child, (*props)[key], path); !m.empty()) return m;
      } else if (extra != schema.end() && extra->is_boolean() && !extra->get<bool>()) {
        return where + ": the key \"" + key + "\" is not allowed here";
      } else if (extra != schema.end()) {
        if (std::string m = schema_mismatch(child, *extra, path); !m.empty()) return m;
      }
    }
  }
  if (value.is_array())
    if (auto items = schema.find("items"); items != schema.end())
      for (size_t i = 0; i < value.size(); ++i)
        if (std::string m = schema_mismatch(value[i], *items, where + "[" + std::to_string(i) + "]"); !m.empty())
          return m;
  return "";
}

}  // namespace hearth::plugins
