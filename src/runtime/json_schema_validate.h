// JSON Schema validation for the subset of JSON Schema that constrained decoding
// enforces (see json_schema_grammar.h): checks tool-call arguments and model
// output, and shares the keyword policy (supported / ignored / refused) with
// the grammar compiler.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hearth::runtime {

// Checks instances against one schema document (which it keeps a reference to;
// local $refs resolve within it). Keywords that would change what validates
// but are not implemented (pattern, multipleOf, ...) throw
// Error(kInvalidArgument) naming the keyword and its JSON pointer, as
// grammar_from_json_schema does; descriptive ones are ignored.
class JsonSchemaValidator {
 public:
  explicit JsonSchemaValidator(const nlohmann::ordered_json& root) : root_(root) {}

  // nullopt when instance validates; otherwise why not, naming the instance's
  // JSON pointer and the schema's.
  std::optional<std::string> check(const nlohmann::ordered_json& instance) const;
  // The same against a schema inside (or derived from) the document; path is
  // its JSON pointer ("#/properties/a"), for messages.
  std::optional<std::string> check(const nlohmann::ordered_json& schema, const std::string& path,
                                   const nlohmann::ordered_json& instance) const;

 private:
  bool validate(const nlohmann::ordered_json& schema, const std::string& spath, const nlohmann::ordered_json& inst,
                const std::string& ipath, std::string& why, int depth) const;
  const nlohmann::ordered_json& root_;
};

// One-shot form of JsonSchemaValidator::check.
std::optional<std::string> json_schema_validate(const nlohmann::ordered_json& schema,
                                                const nlohmann::ordered_json& instance);

// ---- Shared with the grammar compiler ----

// Throws Error(kInvalidArgument) when schema (an object) uses a keyword that is
// refused, or a keyword's value has the wrong shape; path is the schema's JSON
// pointer.
void json_schema_check_keywords(const nlohmann::ordered_json& schema, const std::string& path);
// Whether the keyword only describes (title, description, ...) or holds
// definitions ($defs): removing it changes nothing that validates.
bool json_schema_is_descriptive(std::string_view keyword);
// The schema a local reference ("#", "#/$defs/a", "#/definitions/a", any
// "#/json/pointer") names in root; throws Error(kInvalidArgument) naming path
// for remote references and missing targets.
const nlohmann::ordered_json& json_schema_resolve_ref(const nlohmann::ordered_json& root, const std::string& ref,
                                                      const std::string& path);
// "#/properties/a~1b" for path "#/properties" and token "a/b".
std::string json_pointer_append(const std::string& path, std::string_view token);

// String formats both sides understand: date, time, date-time, uuid, ipv4,
// email, hostname.
bool json_format_supported(std::string_view format);
bool json_format_matches(std::string_view format, std::string_view value);

}  // namespace hearth::runtime
