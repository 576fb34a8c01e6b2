// JSON grammars for constrained decoding: any JSON value or object (for
// response_format json_object), and the grammar of a JSON Schema (json_schema
// response formats, tool calls), so the model's output always parses and
// validates.
//
// Output is compact JSON: no whitespace except, by default, one optional space
// after ':' and ','. Numbers have at most max_integer_digits integer digits,
// max_fraction_digits fraction digits and max_exponent_digits exponent digits;
// strings are UTF-8 without unescaped control characters; \u escapes form
// valid code points (surrogates only as pairs).
//
// Schema keywords enforced: type (and lists), enum, const, properties (in the
// schema's order), required, additionalProperties (false; a schema: extra keys
// after the listed ones, ASCII and unlike the listed names), items,
// prefixItems, items as an array with additionalItems (draft 4-7 tuples),
// minItems, maxItems, minLength, maxLength (in code points), minimum, maximum,
// exclusiveMinimum, exclusiveMaximum (any bounds for integers; whole-number
// bounds for numbers, which then have no exponent), format (date, time,
// date-time, uuid, ipv4, email, hostname), anyOf, oneOf (when its branches
// provably cannot both match), allOf (merged into one schema), $ref (#,
// #/$defs/.., #/definitions/.., any local pointer; recursion works, also
// through allOf), nullable (OpenAPI). Boolean schemas, {} and true mean any
// value.
//
// Choices that make the output a strict subset of what validates: when
// properties are listed and additionalProperties is absent or true, no other
// keys are generated; properties come in the schema's order; a schema without
// "type" generates only the types its keywords are about (properties: an
// object), or any value if none; enum values are written as nlohmann dumps them.
//
// Refused with Error(kInvalidArgument) naming the keyword and its JSON pointer:
// pattern, patternProperties, propertyNames, multipleOf, uniqueItems: true,
// contains, min/maxContains, min/maxProperties, dependentRequired,
// dependentSchemas, dependencies, if/then/else, not, unevaluated*,
// $dynamicRef, $recursiveRef, remote $refs, $ref cycles that never step into
// a property or item, unknown formats (unless ignore_unknown_formats),
// fractional bounds on numbers, overlapping oneOf branches, minLength/maxLength
// beside format, lengths and counts over 100000. Every subschema reachable
// from the root is checked, including parts that turn out unsatisfiable. Descriptive keywords (title, description, examples, default,
// $schema, $id, $comment, ...) and unknown keywords are ignored.
#pragma once

#include <nlohmann/json.hpp>

#include "runtime/grammar.h"

namespace hearth::runtime {

struct JsonGrammarOptions {
  bool space_after_separators = true;  // one optional ' ' after ':' and ','
  int max_integer_digits = 16;         // 1..18
  int max_fraction_digits = 16;        // 1..64
  int max_exponent_digits = 2;         // 1..4
  // Formats other than those listed above: refuse (false) or treat them as
  // annotations (true), as JSON Schema 2020-12 does by default.
  bool ignore_unknown_formats = false;
};

Grammar json_value_grammar(const JsonGrammarOptions& options = {});
Grammar json_object_grammar(const JsonGrammarOptions& options = {});
// Throws Error(kInvalidArgument) for a schema it cannot enforce (see above), a
// malformed one, or one that admits no value.
Grammar grammar_from_json_schema(const nlohmann::ordered_json& schema, const JsonGrammarOptions& options = {});

}  // namespace hearth::runtime
