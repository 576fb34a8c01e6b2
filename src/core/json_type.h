// What kind of JSON value a document holds where another was expected, as
// error messages name it ("an integer", "a string", ...).
#pragma once

#include <nlohmann/json.hpp>

namespace hearth {

inline const char* json_type_name(const nlohmann::json& v) {
  if (v.is_number_integer() || v.is_number_unsigned()) return "an integer";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "a boolean";
  if (v.is_array()) return "an array";
  if (v.is_object()) return "an object";
  return "null";
}

}  // namespace hearth
