#include "runtime/jinja_parser.h"

#include <algorithm>
#include <initializer_list>

#include "core/error.h"

namespace hearth::runtime::jinja {
namespace {

// Deeper nesting than any real template has (each parenthesis level counts about
// twice); the limit keeps a hostile template from overflowing the stack of the
// recursive parser and evaluator.
constexpr int kMaxNesting = 300;

std::string describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEnd:
      return "the end of the template";
    case TokenKind::kText:
      return "template text";
    case TokenKind::kVarBegin:
      return "'{{'";
    case TokenKind::kVarEnd:
      return "'}}'";
    case TokenKind::kBlockBegin:
      return "'{%'";
    case TokenKind::kBlockEnd:
      return "'%}'";
    case TokenKind::kString:
      return "string '" + t.text + "'";
    default:
      return "'" + t.text + "'";
  }
}

ExprPtr make(ExprKind kind, const SourceLocation& where) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->where = where;
  return e;
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Body parse() {
    Body body;
    const std::string end = parse_until(body, {}, nullptr, "");
    (void)end;
    return body;
  }

 private:
  struct NestingGuard {
    explicit NestingGuard(Parser& p) : parser(p) {
      if (++parser.nesting_ > kMaxNesting) parser.fail(parser.peek(), "expressions or blocks nested too deeply");
    }
    ~NestingGuard() { --parser.nesting_; }
    Parser& parser;
  };

  const Token& peek(size_t ahead = 0) const { return tokens_[std::min(pos_ + ahead, tokens_.size() - 1)]; }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool at_op(std::string_view op, size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.kind == TokenKind::kOperator && t.text == op;
  }
  bool at_name(std::string_view name, size_t ahead = 0) const {
    const Token& t = peek(ahead);
    return t.kind == TokenKind::kName && t.text == name;
  }
  bool accept_op(std::string_view op) {
    if (!at_op(op)) return false;
    next();
    return true;
  }
  bool accept_name(std::string_view name) {
    if (!at_name(name)) return false;
    next();
    return true;
  }

  [[noreturn]] void fail(const Token& at, const std::string& what) const {
    throw Error(ErrorCode::kFormat, located_message(at.where, what));
  }

  void expect_op(std::string_view op, std::string_view context) {
    if (!accept_op(op))
      fail(peek(), "expected '" + std::string(op) + "' " + std::string(context) + ", found " + describe(peek()));
  }
  std::string expect_name(std::string_view context) {
    if (peek().kind != TokenKind::kName)
      fail(peek(), "expected a name " + std::string(context) + ", found " + describe(peek()));
    return next().text;
  }
  void expect_block_end(std::string_view tag) {
    if (peek().kind != TokenKind::kBlockEnd) {
      fail(peek(), "expected '%}' to close '{% " + std::string(tag) + " %}', found " + describe(peek()));
    }
    next();
  }

  // Parses statements into `body` until a {% <ender> %} tag; consumes "{%" and the
  // ender's name and returns it (the caller reads the rest of that tag).
  std::string parse_until(Body& body, std::initializer_list<std::string_view> enders, const Token* opener,
                          std::string_view block) {
    NestingGuard guard(*this);
    while (true) {
      const Token& t = peek();
      switch (t.kind) {
        case TokenKind::kEnd:
          if (opener) {
            fail(*opener, "'{% " + std::string(block) + " %}' is never closed: expected '{% " +
                              std::string(*enders.begin()) + " %}' before the end of the template");
          }
          return "";
        case TokenKind::kText:
          body.push_back(Stmt{t.where, TextStmt{t.text}});
          next();
          break;
        case TokenKind::kVarBegin: {
          next();
          ExprPtr e = parse_tuple_expression();
          if (peek().kind != TokenKind::kVarEnd)
            fail(peek(), "expected '}}' after the expression, found " + describe(peek()));
          next();
          body.push_back(Stmt{t.where, OutputStmt{std::move(e)}});
          break;
        }
        case TokenKind::kBlockBegin: {
          const Token& name = peek(1);
          if (name.kind != TokenKind::kName) fail(name, "expected a tag name after '{%', found " + describe(name));
          if (std::find(enders.begin(), enders.end(), name.text) != enders.end()) {
            next();
            return next().text;
          }
          parse_statement(body, enders, block);
          break;
        }
        default:
          fail(t, "unexpected " + describe(t));
      }
    }
  }

  void parse_statement(Body& body, std::initializer_list<std::string_view> enders, std::string_view block) {
    const Token& open = next();  // {%
    const Token& tag = next();
    const std::string& name = tag.text;
    const SourceLocation where = open.where;
    if (name == "if") {
      body.push_back(Stmt{where, parse_if(open)});
    } else if (name == "for") {
      body.push_back(Stmt{where, parse_for(open)});
    } else if (name == "set") {
      body.push_back(Stmt{where, parse_set(open)});
    } else if (name == "macro") {
      body.push_back(Stmt{where, parse_macro(open)});
    } else if (name == "call") {
      body.push_back(Stmt{where, parse_call_block(open)});
    } else if (name == "filter") {
      FilterBlockStmt s;
      s.filters = parse_filter_chain();
      expect_block_end("filter");
      parse_until(s.body, {"endfilter"}, &open, "filter");
      expect_block_end("endfilter");
      body.push_back(Stmt{where, std::move(s)});
    } else if (name == "with") {
      WithStmt s;
      while (peek().kind != TokenKind::kBlockEnd) {
        if (!s.assignments.empty()) expect_op(",", "between assignments in '{% with %}'");
        std::string target = expect_name("to assign in '{% with %}'");
        expect_op("=", "after the name in '{% with %}'");
        s.assignments.emplace_back(std::move(target), parse_expression());
      }
      expect_block_end("with");
      parse_until(s.body, {"endwith"}, &open, "with");
      expect_block_end("endwith");
      body.push_back(Stmt{where, std::move(s)});
    } else if (name == "break" || name == "continue") {
      if (loop_depth_ == 0) fail(tag, "'{% " + name + " %}' outside a for loop");
      expect_block_end(name);
      if (name == "break") {
        body.push_back(Stmt{where, BreakStmt{}});
      } else {
        body.push_back(Stmt{where, ContinueStmt{}});
      }
    } else if (name == "do") {
      DoStmt s{parse_expression()};
      expect_block_end("do");
      body.push_back(Stmt{where, std::move(s)});
    } else if (name == "generation") {
      ScopeStmt s;
      expect_block_end("generation");
      parse_until(s.body, {"endgeneration"}, &open, "generation");
      expect_block_end("endgeneration");
      body.push_back(Stmt{where, std::move(s)});
    } else if (name == "include" || name == "extends" || name == "import" || name == "from" || name == "block") {
      fail(tag, "'{% " + name + " %}' is not supported: a chat template is rendered on its own");
    } else if (name.rfind("end", 0) == 0 || name == "elif" || name == "else") {
      if (enders.size() == 0) fail(tag, "unexpected '{% " + name + " %}': no block is open");
      fail(tag, "unexpected '{% " + name + " %}' inside '{% " + std::string(block) + " %}' (expected '{% " +
                    std::string(*enders.begin()) + " %}')");
    } else {
      fail(tag, "unknown tag '" + name + "'");
    }
  }

  IfStmt parse_if(const Token& open) {
    IfStmt s;
    ExprPtr cond = parse_tuple_expression();
    expect_block_end("if");
    while (true) {
      Body branch;
      const std::string end = parse_until(branch, {"endif", "elif", "else"}, &open, "if");
      s.branches.emplace_back(std::move(cond), std::move(branch));
      if (end == "elif") {
        cond = parse_tuple_expression();
        expect_block_end("elif");
        continue;
      }
      if (end == "else") {
        expect_block_end("else");
        parse_until(s.else_body, {"endif"}, &open, "if");
      }
      expect_block_end("endif");
      return s;
    }
  }

  ForStmt parse_for(const Token& open) {
    ForStmt s;
    const bool paren = accept_op("(");
    do {
      s.targets.push_back(expect_name("as the loop variable"));
    } while (accept_op(","));
    if (paren) expect_op(")", "after the loop variables");
    if (!accept_name("in")) fail(peek(), "expected 'in' after the loop variables, found " + describe(peek()));
    s.iterable = parse_expression(/*with_condition=*/false);
    if (at_op(",")) {  // {% for x in a, b %} loops over the tuple (a, b)
      ExprPtr tuple = make(ExprKind::kTuple, s.iterable->where);
      tuple->operands.push_back(std::move(s.iterable));
      while (accept_op(",")) {
        if (peek().kind == TokenKind::kBlockEnd || at_name("if")) break;
        tuple->operands.push_back(parse_expression(false));
      }
      s.iterable = std::move(tuple);
    }
    if (accept_name("if")) s.filter = parse_expression();
    if (at_name("recursive")) fail(peek(), "recursive for loops are not supported");
    expect_block_end("for");
    ++loop_depth_;
    const std::string end = parse_until(s.body, {"endfor", "else"}, &open, "for");
    --loop_depth_;
    if (end == "else") {
      expect_block_end("else");
      parse_until(s.else_body, {"endfor"}, &open, "for");
    }
    expect_block_end("endfor");
    return s;
  }

  SetStmt parse_set(const Token& open) {
    SetStmt s;
    const bool paren = accept_op("(");
    s.targets.push_back(expect_name("to assign in '{% set %}'"));
    if (accept_op(".")) {
      s.attribute = expect_name("after '.' in '{% set %}'");
    } else {
      while (accept_op(",")) s.targets.push_back(expect_name("to assign in '{% set %}'"));
    }
    if (paren) expect_op(")", "after the names in '{% set %}'");
    if (accept_op("=")) {
      s.value = parse_tuple_expression();
      expect_block_end("set");
      return s;
    }
    if (s.targets.size() != 1 || !s.attribute.empty()) fail(peek(), "expected '=' in '{% set %}'");
    if (accept_op("|")) s.filters = parse_filter_chain();
    expect_block_end("set");
    parse_until(s.body, {"endset"}, &open, "set");
    expect_block_end("endset");
    return s;
  }

  std::vector<MacroParam> parse_params(std::string_view context) {
    std::vector<MacroParam> params;
    expect_op("(", context);
    while (!accept_op(")")) {
      if (!params.empty()) expect_op(",", "between parameters");
      if (accept_op(")")) break;
      MacroParam p;
      p.name = expect_name("as a parameter");
      if (accept_op("=")) {
        p.default_value = parse_expression();
      } else if (!params.empty() && params.back().default_value) {
        fail(peek(), "parameter '" + p.name + "' without a default follows one with a default");
      }
      params.push_back(std::move(p));
    }
    return params;
  }

  MacroStmt parse_macro(const Token& open) {
    MacroStmt s;
    s.name = expect_name("after 'macro'");
    s.params = parse_params("after the macro name");
    expect_block_end("macro");
    const int saved_loops = loop_depth_;
    loop_depth_ = 0;  // a macro body is not inside the loop that defines it
    parse_until(s.body, {"endmacro"}, &open, "macro");
    loop_depth_ = saved_loops;
    expect_block_end("endmacro");
    return s;
  }

  CallBlockStmt parse_call_block(const Token& open) {
    CallBlockStmt s;
    if (at_op("(")) s.caller_params = parse_params("");
    s.call = parse_expression();
    if (s.call->kind != ExprKind::kCall) fail(open, "'{% call %}' needs a macro call, like {% call m(x) %}");
    expect_block_end("call");
    const int saved_loops = loop_depth_;
    loop_depth_ = 0;
    parse_until(s.body, {"endcall"}, &open, "call");
    loop_depth_ = saved_loops;
    expect_block_end("endcall");
    return s;
  }

  std::vector<FilterCall> parse_filter_chain() {
    std::vector<FilterCall> filters;
    do {
      FilterCall f;
      const Token& name = peek();
      f.where = name.where;
      f.name = expect_name("as a filter name");
      if (at_op("(")) parse_call_args(f.args, f.keywords);
      filters.push_back(std::move(f));
    } while (accept_op("|"));
    return filters;
  }

  // An expression, or several separated by commas forming a tuple ({% set a = 1, 2 %}, {{ a, b }}).
  ExprPtr parse_tuple_expression() {
    ExprPtr first = parse_expression();
    if (!at_op(",")) return first;
    ExprPtr tuple = make(ExprKind::kTuple, first->where);
    tuple->operands.push_back(std::move(first));
    while (accept_op(",")) {
      if (peek().kind == TokenKind::kBlockEnd || peek().kind == TokenKind::kVarEnd) break;
      tuple->operands.push_back(parse_expression());
    }
    return tuple;
  }

  ExprPtr parse_expression(bool with_condition = true) {
    NestingGuard guard(*this);
    ExprPtr e = parse_or();
    while (with_condition && at_name("if")) {
      const SourceLocation where = next().where;
      ExprPtr cond = parse_or();
      ExprPtr otherwise;
      if (accept_name("else")) otherwise = parse_expression();
      ExprPtr c = make(ExprKind::kCondition, where);
      c->operands.push_back(std::move(cond));
      c->operands.push_back(std::move(e));
      c->operands.push_back(std::move(otherwise));
      e = std::move(c);
    }
    return e;
  }

  ExprPtr binary(ExprKind kind, std::string op, ExprPtr left, ExprPtr right, const SourceLocation& where) {
    ExprPtr e = make(kind, where);
    e->name = std::move(op);
    e->operands.push_back(std::move(left));
    e->operands.push_back(std::move(right));
    return e;
  }

  ExprPtr parse_or() {
    ExprPtr e = parse_and();
    while (at_name("or")) {
      const SourceLocation where = next().where;
      e = binary(ExprKind::kOr, "or", std::move(e), parse_and(), where);
    }
    return e;
  }

  ExprPtr parse_and() {
    ExprPtr e = parse_not();
    while (at_name("and")) {
      const SourceLocation where = next().where;
      e = binary(ExprKind::kAnd, "and", std::move(e), parse_not(), where);
    }
    return e;
  }

  ExprPtr parse_not() {
    if (at_name("not")) {
      NestingGuard guard(*this);
      ExprPtr e = make(ExprKind::kUnary, next().where);
      e->name = "not";
      e->operands.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  ExprPtr parse_compare() {
    ExprPtr first = parse_math1();
    ExprPtr cmp;
    while (true) {
      const Token& t = peek();
      std::string op;
      if (t.kind == TokenKind::kOperator &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
        op = t.text;
        next();
      } else if (at_name("in")) {
        op = "in";
        next();
      } else if (at_name("not") && at_name("in", 1)) {
        op = "notin";
        next();
        next();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(ExprKind::kCompare, t.where);
        cmp->operands.push_back(std::move(first));
      }
      cmp->compare_ops.push_back(op);
      cmp->operands.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  ExprPtr parse_math1() {
    ExprPtr e = parse_concat();
    while (at_op("+") || at_op("-")) {
      const Token& t = next();
      e = binary(ExprKind::kBinary, t.text, std::move(e), parse_concat(), t.where);
    }
    return e;
  }

  ExprPtr parse_concat() {
    ExprPtr e = parse_math2();
    while (at_op("~")) {
      const Token& t = next();
      e = binary(ExprKind::kBinary, "~", std::move(e), parse_math2(), t.where);
    }
    return e;
  }

  ExprPtr parse_math2() {
    ExprPtr e = parse_pow();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const Token& t = next();
      e = binary(ExprKind::kBinary, t.text, std::move(e), parse_pow(), t.where);
    }
    return e;
  }

  ExprPtr parse_pow() {
    ExprPtr e = parse_unary();
    while (at_op("**")) {
      const Token& t = next();
      e = binary(ExprKind::kBinary, "**", std::move(e), parse_unary(), t.where);
    }
    return e;
  }

  ExprPtr parse_unary(bool with_filter = true) {
    NestingGuard guard(*this);
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
      const Token& t = next();
      e = make(ExprKind::kUnary, t.where);
      e->name = t.text;
      e->operands.push_back(parse_unary(false));
    } else {
      e = parse_postfix(parse_primary());
    }
    return with_filter ? parse_filters_and_tests(std::move(e)) : std::move(e);
  }

  ExprPtr parse_filters_and_tests(ExprPtr e) {
    while (true) {
      if (at_op("|")) {
        next();
        const Token& name = peek();
        ExprPtr f = make(ExprKind::kFilter, name.where);
        f->name = expect_name("as a filter name after '|'");
        f->operands.push_back(std::move(e));
        if (at_op("(")) parse_call_args(f->operands, f->keywords);
        e = std::move(f);
      } else if (at_name("is")) {
        next();
        const bool negated = accept_name("not");
        const Token& name = peek();
        ExprPtr t = make(ExprKind::kTest, name.where);
        t->negated = negated;
        t->name = expect_name("as a test name after 'is'");
        t->operands.push_back(std::move(e));
        if (at_op("(")) {
          parse_call_args(t->operands, t->keywords);
        } else if (starts_test_argument()) {
          t->operands.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }

  // "x is divisibleby 3": a test may take one argument without parentheses.
  bool starts_test_argument() const {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::kName:
        return t.text != "else" && t.text != "or" && t.text != "and" && t.text != "if" && t.text != "not" &&
               t.text != "is" && t.text != "in";
      case TokenKind::kString:
      case TokenKind::kInt:
      case TokenKind::kFloat:
        return true;
      case TokenKind::kOperator:
        return t.text == "[" || t.text == "{";
      default:
        return false;
    }
  }

  ExprPtr parse_primary() {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::kName: {
        next();
        ExprPtr e = make(ExprKind::kLiteral, t.where);
        if (t.text == "true" || t.text == "True") {
          e->literal = Value(true);
        } else if (t.text == "false" || t.text == "False") {
          e->literal = Value(false);
        } else if (t.text == "none" || t.text == "None") {
          e->literal = Value::none();
        } else {
          e->kind = ExprKind::kName;
          e->name = t.text;
        }
        return e;
      }
      case TokenKind::kString: {
        ExprPtr e = make(ExprKind::kLiteral, t.where);
        std::string s;
        while (peek().kind == TokenKind::kString) s += next().text;  // 'a' 'b' is 'ab', as in Python
        e->literal = Value(std::move(s));
        return e;
      }
      case TokenKind::kInt: {
        next();
        ExprPtr e = make(ExprKind::kLiteral, t.where);
        e->literal = Value(t.int_value);
        return e;
      }
      case TokenKind::kFloat: {
        next();
        ExprPtr e = make(ExprKind::kLiteral, t.where);
        e->literal = Value(t.float_value);
        return e;
      }
      case TokenKind::kOperator:
        if (t.text == "(") return parse_parenthesized();
        if (t.text == "[") {
          next();
          ExprPtr e = make(ExprKind::kList, t.where);
          while (!accept_op("]")) {
            if (!e->operands.empty()) expect_op(",", "between list items");
            if (accept_op("]")) break;
            e->operands.push_back(parse_expression());
          }
          return e;
        }
        if (t.text == "{") {
          next();
          ExprPtr e = make(ExprKind::kDict, t.where);
          while (!accept_op("}")) {
            if (!e->operands.empty()) expect_op(",", "between dict items");
            if (accept_op("}")) break;
            e->operands.push_back(parse_expression());
            expect_op(":", "after a dict key");
            e->operands.push_back(parse_expression());
          }
          return e;
        }
        break;
      default:
        break;
    }
    fail(t, "expected an expression, found " + describe(t));
  }

  ExprPtr parse_parenthesized() {
    const Token& open = next();
    if (accept_op(")")) return make(ExprKind::kTuple, open.where);
    ExprPtr e = parse_expression();
    if (at_op(",")) {
      ExprPtr tuple = make(ExprKind::kTuple, open.where);
      tuple->operands.push_back(std::move(e));
      while (accept_op(",")) {
        if (at_op(")")) break;
        tuple->operands.push_back(parse_expression());
      }
      e = std::move(tuple);
    }
    expect_op(")", "to close '('");
    return e;
  }

  ExprPtr parse_postfix(ExprPtr e) {
    while (true) {
      if (at_op(".")) {
        const Token& dot = next();
        const Token& t = peek();
        if (t.kind == TokenKind::kName) {
          ExprPtr a = make(ExprKind::kGetAttr, dot.where);
          a->name = next().text;
          a->operands.push_back(std::move(e));
          e = std::move(a);
        } else if (t.kind == TokenKind::kInt) {  // x.0 is x[0]
          ExprPtr a = make(ExprKind::kGetItem, dot.where);
          ExprPtr index = make(ExprKind::kLiteral, t.where);
          index->literal = Value(next().int_value);
          a->operands.push_back(std::move(e));
          a->operands.push_back(std::move(index));
          e = std::move(a);
        } else {
          fail(t, "expected an attribute name after '.', found " + describe(t));
        }
      } else if (at_op("[")) {
        const Token& open = next();
        ExprPtr start, stop, step;
        bool slice = false;
        if (!at_op(":")) start = parse_expression();
        if (accept_op(":")) {
          slice = true;
          if (!at_op(":") && !at_op("]")) stop = parse_expression();
          if (accept_op(":") && !at_op("]")) step = parse_expression();
        }
        expect_op("]", "to close '['");
        ExprPtr a = make(slice ? ExprKind::kSlice : ExprKind::kGetItem, open.where);
        a->operands.push_back(std::move(e));
        a->operands.push_back(std::move(start));
        if (slice) {
          a->operands.push_back(std::move(stop));
          a->operands.push_back(std::move(step));
        }
        e = std::move(a);
      } else if (at_op("(")) {
        ExprPtr c = make(ExprKind::kCall, e->where);  // errors point at the callee's name
        c->operands.push_back(std::move(e));
        parse_call_args(c->operands, c->keywords);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }

  void parse_call_args(std::vector<ExprPtr>& positional, std::vector<std::pair<std::string, ExprPtr>>& keywords) {
    expect_op("(", "");
    bool first = true;
    while (!accept_op(")")) {
      if (!first) {
        expect_op(",", "between arguments");
        if (accept_op(")")) break;
      }
      first = false;
      if (peek().kind == TokenKind::kName && at_op("=", 1)) {
        std::string name = next().text;
        next();
        keywords.emplace_back(std::move(name), parse_expression());
      } else {
        if (!keywords.empty()) fail(peek(), "positional argument follows keyword argument");
        positional.push_back(parse_expression());
      }
    }
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int nesting_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Body parse_template(std::string_view source, const ParseOptions& options) {
  LexOptions lex;
  lex.trim_blocks = options.trim_blocks;
  lex.lstrip_blocks = options.lstrip_blocks;
  return Parser(tokenize(source, lex)).parse();
}

}  // namespace hearth::runtime::jinja
