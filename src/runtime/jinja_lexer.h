// Jinja lexer: splits template text into text runs and the tokens inside
// {{ }} / {% %} tags, applying whitespace control (-, +, trim_blocks, lstrip_blocks).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::runtime::jinja {

struct SourceLocation {
  int line = 1;
  int column = 1;
};

// "template line 3, column 7: what" — the form of every template error.
std::string located_message(const SourceLocation& where, const std::string& what);

enum class TokenKind {
  kText,        // literal template text (whitespace control already applied)
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,  // text holds the unescaped value
  kInt,
  kFloat,
  kOperator,  // text holds the operator: + - * / // % ** ~ == != < <= > >= = . , : | ( ) [ ] { }
  kEnd,
};

struct Token {
  TokenKind kind;
  std::string text;
  int64_t int_value = 0;
  double float_value = 0;
  SourceLocation where;
};

struct LexOptions {
  bool trim_blocks = false;            // drop the first newline after a block or comment tag
  bool lstrip_blocks = false;          // drop spaces and tabs before a block or comment tag on its own line
  bool keep_trailing_newline = false;  // jinja2 drops one newline at the very end by default
};

// Throws hearth::Error(kFormat) naming the line and column of an unclosed tag,
// a bad string literal or an unexpected character.
std::vector<Token> tokenize(std::string_view source, const LexOptions& options);

}  // namespace hearth::runtime::jinja
