// Jinja parser: turns the lexer's tokens into a syntax tree of statements and
// expressions, once per template, so rendering never re-reads the text.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "runtime/jinja_lexer.h"
#include "runtime/jinja_value.h"

namespace hearth::runtime::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  kLiteral,  // literal
  kName,     // name
  kList,     // operands = items
  kTuple,    // operands = items
  kDict,     // operands = key0, value0, key1, value1, ...
  kGetAttr,  // operands[0].name
  kGetItem,  // operands[0][operands[1]]
  kSlice,    // operands[0][operands[1]:operands[2]:operands[3]], null operands omitted
  kCall,     // operands[0](operands[1..], keywords)
  kFilter,   // operands[0] | name(operands[1..], keywords)
  kTest,     // operands[0] is [not] name(operands[1..], keywords)
  kUnary,    // op operands[0]: "-", "+", "not"
  kBinary,   // operands[0] op operands[1]: + - * / // % ** ~
  kAnd,      // short-circuit
  kOr,
  kCompare,    // operands[0] ops[0] operands[1] ops[1] ... (chained, like Python)
  kCondition,  // operands[1] if operands[0] else operands[2] (operands[2] may be null)
};

struct Expr {
  ExprKind kind;
  SourceLocation where;
  Value literal;
  std::string name;  // variable, attribute, filter or test name; operator for kUnary/kBinary
  std::vector<ExprPtr> operands;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  std::vector<std::string> compare_ops;  // ==, !=, <, <=, >, >=, in, notin
  bool negated = false;                  // "is not"
};

struct Stmt;
using Body = std::vector<Stmt>;

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: none given
};

// A filter applied by {% filter %} or {% set x | f %}: operands are its arguments.
struct FilterCall {
  std::string name;
  std::vector<ExprPtr> args;
  std::vector<std::pair<std::string, ExprPtr>> keywords;
  SourceLocation where;
};

struct TextStmt {
  std::string text;
};
struct OutputStmt {
  ExprPtr expr;
};
struct IfStmt {
  std::vector<std::pair<ExprPtr, Body>> branches;  // if, elif...
  Body else_body;
};
struct ForStmt {
  std::vector<std::string> targets;  // more than one: unpack each item
  ExprPtr iterable;
  ExprPtr filter;  // "for x in xs if cond"; null when absent
  Body body;
  Body else_body;
};
// {% set a = x %}, {% set a, b = x %}, {% set ns.attr = x %}, {% set a %}...{% endset %}
struct SetStmt {
  std::vector<std::string> targets;
  std::string attribute;  // non-empty: targets[0].attribute = value
  ExprPtr value;          // null for the block form
  Body body;
  std::vector<FilterCall> filters;  // block form: applied to the captured text
};
struct MacroStmt {
  std::string name;
  std::vector<MacroParam> params;
  Body body;
};
struct CallBlockStmt {
  std::vector<MacroParam> caller_params;
  ExprPtr call;
  Body body;
};
struct FilterBlockStmt {
  std::vector<FilterCall> filters;
  Body body;
};
struct WithStmt {
  std::vector<std::pair<std::string, ExprPtr>> assignments;
  Body body;
};
struct BreakStmt {};
struct ContinueStmt {};
struct DoStmt {
  ExprPtr expr;
};
// {% generation %} marks assistant text for transformers' training masks; it renders its body.
struct ScopeStmt {
  Body body;
};

struct Stmt {
  SourceLocation where;
  std::variant<TextStmt, OutputStmt, IfStmt, ForStmt, SetStmt, MacroStmt, CallBlockStmt, FilterBlockStmt, WithStmt,
               BreakStmt, ContinueStmt, DoStmt, ScopeStmt>
      node;
};

struct ParseOptions {
  bool trim_blocks = false;
  bool lstrip_blocks = false;
};

// Throws hearth::Error(kFormat) with the line and column of the first problem:
// a syntax error, an unknown tag or a block left unclosed. Unknown filters and
// tests fail only when rendering reaches them, as in jinja2, so a template that
// guards an exotic filter behind a branch it never takes still works.
Body parse_template(std::string_view source, const ParseOptions& options);

}  // namespace hearth::runtime::jinja
