// Checks a JSON value against the shape a JSON Schema declares: the subset a
// plugin's schemas use (type, properties, required, additionalProperties,
// items, enum, minimum/maximum). Used to reject plugin output that does not
// match what the plugin promised, and input that the plugin would refuse.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace hearth::plugins {

// "" when `value` fits `schema`; otherwise one line naming the first mismatch
// by its path from `where` (e.g. "$.words[2].confidence: expected a number, got a string").
std::string schema_mismatch(const nlohmann::json& value, const nlohmann::json& schema, const std::string& where = "$");

}  // namespace hearth::plugins
