// Jinja interpreter: language features with hand-checked expectations (the same
// features are also compared with jinja2 in test_jinja_cases.cpp), error
// messages with line and column, render limits, and Hearth's own choices.
#include <gtest/gtest.h>

#include <ctime>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/error.h"
#include "runtime/jinja_interpreter.h"
#include "runtime/jinja_value.h"

namespace hearth::runtime::jinja {
namespace {

using json = nlohmann::ordered_json;

ParseOptions chat_options() {
  ParseOptions o;
  o.trim_blocks = true;
  o.lstrip_blocks = true;
  return o;
}

ValueDict to_context(const json& j) {
  ValueDict d;
  for (const auto& [k, v] : j.items()) d.set(Value(k), Value::from_json(v));
  return d;
}

std::string render(std::string_view text, const json& context = json::object(),
                   const ParseOptions& options = chat_options(), const RenderOptions& render_options = {}) {
  return Template::parse(text, options).render(to_context(context), render_options);
}

struct Failure {
  ErrorCode code;
  std::string message;
};

// The error a template raises when parsed and rendered; fails the test if none.
Failure failure_of(std::string_view text, const json& context = json::object(),
                   const RenderOptions& render_options = {}) {
  try {
    render(text, context, chat_options(), render_options);
  } catch (const Error& e) {
    return Failure{e.code(), e.what()};
  }
  ADD_FAILURE() << "no error from: " << text;
  return Failure{ErrorCode::kInternal, ""};
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }
bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// ---- whitespace ----------------------------------------------------------

TEST(JinjaWhitespace, TrimAndLstripBlocksLikeTransformers) {
  const std::string text = "<ul>\n  {% for x in xs %}\n    <li>{{ x }}</li>\n  {% endfor %}\n</ul>";
  EXPECT_EQ(render(text, {{"xs", {1, 2}}}), "<ul>\n    <li>1</li>\n    <li>2</li>\n</ul>");
  EXPECT_EQ(render(text, {{"xs", {1, 2}}}, ParseOptions{}), "<ul>\n  \n    <li>1</li>\n  \n    <li>2</li>\n  \n</ul>");
}

TEST(JinjaWhitespace, DashesStripAllWhitespaceOnTheirSide) {
  EXPECT_EQ(render("a  \n {{- 'b' -}} \n  c"), "abc");
  EXPECT_EQ(render("a\n  {%- if true -%}\n  b\n  {%- endif %}"), "ab");
  EXPECT_EQ(render("x {#- note -#} y"), "xy");
}

TEST(JinjaWhitespace, PlusKeepsWhatTrimAndLstripWouldDrop) {
  EXPECT_EQ(render("  {%+ if true %}x{% endif +%}\ny"), "  x\ny");
}

TEST(JinjaWhitespace, LstripOnlyAtLineStartAndNotForExpressions) {
  EXPECT_EQ(render("a  {% if true %}x{% endif %}"), "a  x");
  EXPECT_EQ(render("a\n  {{ 1 }}\nb"), "a\n  1\nb");
}

TEST(JinjaWhitespace, OneTrailingNewlineDroppedAndLineEndingsNormalized) {
  EXPECT_EQ(render("hi\n\n"), "hi\n");
  EXPECT_EQ(render("a\r\nb\rc"), "a\nb\nc");
}

TEST(JinjaWhitespace, RawBlockIsVerbatim) {
  EXPECT_EQ(render("{% raw %}{{ x }}{% if %}{% endraw %}!"), "{{ x }}{% if %}!");
}

// ---- expressions ---------------------------------------------------------

TEST(JinjaExpressions, PrintsValuesLikePython) {
  EXPECT_EQ(render("{{ 1 }} {{ 2.0 }} {{ 'a' }} {{ true }} {{ none }} {{ nothing }}|"), "1 2.0 a True None |");
  EXPECT_EQ(render("{{ [1, 'b', none, {'k': 1.5}] }} {{ (1,) }}"), "[1, 'b', None, {'k': 1.5}] (1,)");
  EXPECT_EQ(render("{{ [\"it's\", 'say \"x\"'] }}"), "[\"it's\", 'say \"x\"']");
}

TEST(JinjaExpressions, ArithmeticFollowsPython) {
  EXPECT_EQ(render("{{ 7 / 2 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 2 ** -1 }} {{ 4 / 2 }}"),
            "3.5 3 -4 2 1024 0.5 2.0");
  EXPECT_EQ(render("{{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 'ab' * 2 }} {{ [1] + [2] }} {{ true + 1 }}"),
            "7 9 abab [1, 2] 2");
}

TEST(JinjaExpressions, ConcatBindsTighterThanPlus) {
  EXPECT_EQ(render("{{ 1 ~ 2 * 3 }} {{ 'n=' ~ 1 + 1 if false else 'n=' ~ (1 + 1) }}"), "16 n=2");
}

TEST(JinjaExpressions, ComparisonsLogicAndMembership) {
  EXPECT_EQ(render("{{ 1 < 2 < 3 }} {{ 1 == 1.0 }} {{ 'a' != 'b' }} {{ [1, 2] < [1, 3] }}"), "True True True True");
  EXPECT_EQ(
      render("{{ 0 or 'x' }} {{ 'a' and 'b' }} {{ not 0 }} {{ 2 in [1, 2] }} {{ 3 not in [1] }} {{ 'k' in {'k': 1} }}"),
      "x b True True True True");
}

TEST(JinjaExpressions, TernaryWithAndWithoutElse) {
  EXPECT_EQ(render("{{ 'y' if 1 else 'n' }}[{{ 'y' if 0 }}]{{ 1 if 0 else 2 if 0 else 3 }}"), "y[]3");
}

TEST(JinjaExpressions, AttributesSubscriptsAndSlices) {
  const json ctx = {{"d", {{"a", {{"b", 1}}}}}, {"l", {1, 2, 3, 4, 5}}, {"s", "héllo"}};
  EXPECT_EQ(render("{{ d.a.b }} {{ d['a']['b'] }} {{ l[-1] }} {{ l.0 }}", ctx), "1 1 5 1");
  EXPECT_EQ(render("{{ l[1:3] }} {{ l[::-1] }} {{ l[::2] }} {{ s[1:3] }} {{ s[::-1] }}", ctx),
            "[2, 3] [5, 4, 3, 2, 1] [1, 3, 5] él olléh");
}

TEST(JinjaExpressions, LiteralsIncludingEscapes) {
  EXPECT_EQ(render("{{ 'a\\n' ~ \"\\u00e9\" ~ 'b' 'c' }}"),
            "a\n\xC3\xA9"
            "bc");
  EXPECT_EQ(render("{{ {'a': [1, (2, 3)]}['a'][1][0] }}"), "2");
}

// ---- statements ----------------------------------------------------------

TEST(JinjaStatements, IfElifElse) {
  EXPECT_EQ(render("{% for n in [1, 2, 3] %}{% if n == 1 %}a{% elif n == 2 %}b{% else %}c{% endif %}{% endfor %}"),
            "abc");
}

TEST(JinjaStatements, ForLoopVariables) {
  EXPECT_EQ(render("{% for x in 'ab' %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}"
                   "{{ loop.last }}{{ loop.length }};{% endfor %}"),
            "102TrueFalse2;211FalseTrue2;");
}

TEST(JinjaStatements, ForElseFilterUnpackingAndDictItems) {
  EXPECT_EQ(render("{% for x in [] %}x{% else %}empty{% endfor %}"), "empty");
  EXPECT_EQ(render("{% for x in range(6) if x is even %}{{ x }}{{ loop.length }}{% endfor %}"), "032343");
  EXPECT_EQ(render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", {{"d", {{"z", 1}, {"a", 2}}}}),
            "z=1;a=2;");
  EXPECT_EQ(render("{% for k, v in d|items %}{{ k }}{{ v }}{% endfor %}", {{"d", {{"x", 1}}}}), "x1");
}

TEST(JinjaStatements, BreakAndContinue) {
  EXPECT_EQ(
      render("{% for i in range(9) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}"
             "{{ i }}{% endfor %}"),
      "023");
}

TEST(JinjaStatements, SetScopingMatchesJinja2) {
  // A set inside a loop body lasts for that iteration only; namespace() carries state out.
  EXPECT_EQ(render("{% set x = 0 %}{% for i in [1, 2] %}{{ x }}{% set x = i %}{% endfor %}{{ x }}"), "000");
  EXPECT_EQ(
      render("{% set ns = namespace(n=0) %}{% for i in [1, 2, 3] %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}"),
      "6");
  EXPECT_EQ(render("{% if true %}{% set y = 5 %}{% endif %}{{ y }}"), "5");
  EXPECT_EQ(render("{% set a, b = [1, 2] %}{% set blk %}<{{ a + b }}>{% endset %}{{ blk }}"), "<3>");
}

TEST(JinjaStatements, MacrosWithDefaultsKeywordsAndRecursion) {
  EXPECT_EQ(render("{% macro m(a, b=2, c=a) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }}|{{ m(1, c='z') }}|{{ "
                   "m(b=0, a=9) }}"),
            "121|12z|909");
  EXPECT_EQ(render("{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(3) }}"), "321");
}

TEST(JinjaStatements, CallBlockPassesCaller) {
  EXPECT_EQ(render("{% macro each(xs) %}{% for x in xs %}{{ caller(x) }}{% endfor %}{% endmacro %}"
                   "{% call(v) each([1, 2]) %}<{{ v }}>{% endcall %}"),
            "<1><2>");
}

TEST(JinjaStatements, FilterWithDoAndGenerationBlocks) {
  EXPECT_EQ(render("{% filter upper %}ab{% endfilter %}"), "AB");
  EXPECT_EQ(render("{% with a = 2 %}{{ a * a }}{% endwith %}[{{ a }}]"), "4[]");
  EXPECT_EQ(render("{% set l = [] %}{% do l.append(1) %}{% set _ = l.append(2) %}{{ l }}"), "[1, 2]");
  EXPECT_EQ(render("a{% generation %}b{% endgeneration %}c"), "abc");
}

// ---- filters, tests, methods ---------------------------------------------

TEST(JinjaFilters, StringFilters) {
  EXPECT_EQ(render("[{{ '  a  '|trim }}] {{ 'ab'|upper }} {{ 'AB'|lower }} {{ 'a b-c'|title }} {{ 'aB'|capitalize }}"),
            "[a] AB ab A B-C Ab");
  EXPECT_EQ(render("{{ 'aXa'|replace('X', '-') }} {{ 'a\nb'|indent(2) }} {{ 'one two'|wordcount }} {{ '<&>'|e }}"),
            "a-a a\n  b 2 &lt;&amp;&gt;");
}

TEST(JinjaFilters, SequenceFilters) {
  EXPECT_EQ(render("{{ [3, 1, 2]|sort|join(',') }} {{ [1, 2]|first }}{{ [1, 2]|last }} {{ 'héllo'|length }} "
                   "{{ ['a', 'A', 'b']|unique|list }} {{ [1, 2]|reverse|list }} {{ {'a': 1}|list }}"),
            "1,2,3 12 5 ['a', 'b'] [2, 1] ['a']");
  const json msgs = {{"m", {{{"role", "user"}, {"n", 1}}, {{"role", "bot"}, {"n", 2}}, {{"role", "user"}, {"n", 3}}}}};
  EXPECT_EQ(render("{{ m|selectattr('role', 'equalto', 'user')|map(attribute='n')|list }} "
                   "{{ m|rejectattr('role', 'eq', 'user')|list|length }} {{ [1, 2, 3]|select('odd')|list }}",
                   msgs),
            "[1, 3] 1 [1, 3]");
}

TEST(JinjaFilters, ConversionsAndDefaults) {
  EXPECT_EQ(render("{{ '42'|int + 1 }} {{ 'x'|int }} {{ '2.5'|float }} {{ 3|string ~ 4 }} {{ -2|abs }} {{ 2.5|round }} "
                   "{{ 2.567|round(2) }}"),
            "43 0 2.5 34 2 2.0 2.57");
  EXPECT_EQ(render("{{ nothing|default('d') }} {{ ''|d('e', true) }} {{ none|default('n') }}"), "d e None");
}

TEST(JinjaFilters, ToJsonLikeTransformers) {
  // No HTML escaping, non-ASCII kept, Python's separators and float format.
  EXPECT_EQ(render("{{ {'a': '<é>', 'b': [1, 2.0, none, true]}|tojson }}"),
            "{\"a\": \"<é>\", \"b\": [1, 2.0, null, true]}");
  EXPECT_EQ(render("{{ {'a': [1], 'b': {}}|tojson(indent=2) }}"), "{\n  \"a\": [\n    1\n  ],\n  \"b\": {}\n}");
}

TEST(JinjaTests, TypeAndValueTests) {
  EXPECT_EQ(
      render("{{ x is defined }}{{ y is undefined }}{{ none is none }}{{ 'a' is string }}{{ 1 is number }}"
             "{{ 1 is integer }}{{ {} is mapping }}{{ [] is iterable }}{{ 'a' is sequence }}{{ true is boolean }}",
             {{"x", 1}}),
      "TrueTrueTrueTrueTrueTrueTrueTrueTrueTrue");
  EXPECT_EQ(
      render("{{ 3 is odd }}{{ 3 is even }}{{ 9 is divisibleby 3 }}{{ 1 is eq 1 }}{{ 1 is ne 1 }}{{ 'a' is in 'ab' }}"
             "{{ true is true }}{{ 1 is true }}{{ x is not none }}",
             {{"x", 1}}),
      "TrueFalseTrueTrueFalseTrueTrueFalseTrue");
}

TEST(JinjaMethods, StringDictAndListMethods) {
  EXPECT_EQ(render("[{{ ' a '.strip() }}][{{ 'xax'.lstrip('x') }}][{{ 'a,b'.split(',') }}][{{ 'abc'.startswith('a') }}]"
                   "[{{ 'abc'.endswith('bc') }}][{{ 'Ab'.upper() }}{{ 'Ab'.lower() }}][{{ 'a-a'.replace('-', '+') }}]"),
            "[a][ax][['a', 'b']][True][True][ABab][a+a]");
  EXPECT_EQ(render("{{ 'x<think>y</think>z'.split('</think>')[-1] }} {{ 'ab cd'.title() }}"), "z Ab Cd");
  EXPECT_EQ(render("{{ d.get('a') }} {{ d.get('z', 0) }} {{ d.get('z') }} {{ d.keys()|list }} {{ d.values()|list }}",
                   {{"d", {{"a", 1}}}}),
            "1 0 None ['a'] [1]");
}

TEST(JinjaGlobals, RangeDictNamespaceAndStrftime) {
  EXPECT_EQ(render("{{ range(3)|list }} {{ range(5, 0, -2)|list }} {{ dict(a=1) }} {{ namespace(x=1).x }}"),
            "[0, 1, 2] [5, 3, 1] {'a': 1} 1");
  RenderOptions options;
  const std::time_t fixed = 1735689600;  // 2025-01-01T00:00:00Z
  options.clock = [&] { return fixed; };
  std::tm tm{};
  localtime_r(&fixed, &tm);
  char expected[64];
  std::strftime(expected, sizeof expected, "%Y-%m-%d %b", &tm);
  EXPECT_EQ(render("{{ strftime_now('%Y-%m-%d %b') }}", json::object(), chat_options(), options), expected);
}

// ---- undefined values ----------------------------------------------------

TEST(JinjaUndefined, PrintsEmptyIsFalsyAndIteratesAsEmpty) {
  EXPECT_EQ(
      render(
          "[{{ nothing }}][{{ 'y' if nothing else 'n' }}][{% for x in nothing %}x{% endfor %}][{{ nothing|length }}]"),
      "[][n][][0]");
}

TEST(JinjaUndefined, AttributeChainsStayUndefined) {
  // jinja2's default Undefined raises on nothing.a; Hearth keeps it undefined so
  // that a template probing optional fields does not fail.
  EXPECT_EQ(render("[{{ nothing.a.b }}][{{ d.missing.deeper is defined }}][{{ none.x }}]", {{"d", json::object()}}),
            "[][False][]");
}

TEST(JinjaUndefined, MisuseNamesWhatWasUndefined) {
  const Failure call = failure_of("{{ nothing() }}");
  EXPECT_EQ(call.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(call.message, "template line 1, column 4: 'nothing' is undefined");
  EXPECT_EQ(failure_of("{{ 'a' + nothing }}").message, "template line 1, column 8: 'nothing' is undefined");
  EXPECT_EQ(failure_of("{{ m.tool_calls + 1 }}", {{"m", json::object()}}).message,
            "template line 1, column 17: 'dict object' has no attribute 'tool_calls'");
}

// ---- errors --------------------------------------------------------------

TEST(JinjaErrors, SyntaxErrorsNameLineAndColumn) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"Hello\n{{ 1 + }}", "template line 2, column 8: expected an expression, found '}}'"},
      {"{% if x %}\nabc",
       "template line 1, column 1: '{% if %}' is never closed: expected '{% endif %}' before the end of the template"},
      {"{% foo %}", "template line 1, column 4: unknown tag 'foo'"},
      {"{{ 'abc }}", "template line 1, column 4: unterminated string literal"},
      {"a\nb {{ x ", "template line 2, column 3: unclosed '{{': expected '}}' before the end of the template"},
      {"{# note", "template line 1, column 1: unclosed comment: '{#' has no matching '#}'"},
      {"{% endfor %}", "template line 1, column 4: unexpected '{% endfor %}': no block is open"},
      {"{% for x in y %}{% endif %}",
       "template line 1, column 20: unexpected '{% endif %}' inside '{% for %}' (expected '{% endfor %}')"},
      {"{% break %}", "template line 1, column 4: '{% break %}' outside a for loop"},
      {"{% include 'x' %}",
       "template line 1, column 4: '{% include %}' is not supported: a chat template is rendered on its own"},
      {"{{ f(a=1, 2) }}", "template line 1, column 11: positional argument follows keyword argument"},
      {"{{ [1, 2) }}", "template line 1, column 9: expected ',' between list items, found ')'"},
      {"{{ 1 @ 2 }}", "template line 1, column 6: unexpected character '@' in tag"},
  };
  for (const Case& c : cases) {
    try {
      Template::parse(c.text, chat_options());
      ADD_FAILURE() << "no error for " << c.text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kFormat) << c.text;
      EXPECT_EQ(std::string(e.what()), c.message) << c.text;
    }
  }
}

TEST(JinjaErrors, RenderErrorsNameLineAndColumn) {
  const Failure f = failure_of("line one\n{% for m in messages %}\n  {{ m.content + 1 }}\n{% endfor %}",
                               {{"messages", {{{"content", "text"}}}}});
  EXPECT_EQ(f.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(f.message, "template line 3, column 16: unsupported operand type(s) for +: 'str' and 'int'");
  EXPECT_EQ(failure_of("{{ 1 // 0 }}").message, "template line 1, column 6: integer division by zero");
  EXPECT_EQ(failure_of("{% for x in 3 %}{% endfor %}").message,
            "template line 1, column 13: 'int' object is not iterable");
  EXPECT_EQ(failure_of("{% set d = {} %}{% set d.x = 1 %}").message,
            "template line 1, column 17: cannot assign attribute 'x' on 'd': only namespace() objects take attribute "
            "assignment");
  EXPECT_EQ(failure_of("{{ 'a'.nomethod() }}").message,
            "template line 1, column 7: 'str' object has no method 'nomethod'");
  EXPECT_EQ(failure_of("{{ x|join(1, 2, 3) }}").message,
            "template line 1, column 6: join takes at most 2 argument(s) (3 given)");
  EXPECT_EQ(failure_of("{{ x|join(attribute='a', d=1, e=2) }}").message,
            "template line 1, column 6: join got an unexpected keyword argument 'e'");
  EXPECT_EQ(failure_of("{{ 'a'.replace('a') }}").message,
            "template line 1, column 7: str.replace() is missing its required argument 'new'");
  EXPECT_EQ(failure_of("{{ 3 is odd(1) }}").message, "template line 1, column 9: test 'odd' takes no arguments");
  EXPECT_EQ(failure_of("{{ 9223372036854775807 + 1 }}").message, "template line 1, column 24: integer overflow");
  EXPECT_EQ(failure_of("{{ 'x' % 1 }}").message,
            "template line 1, column 8: string formatting with % is not supported; use ~ to join strings");
}

TEST(JinjaErrors, UnknownFiltersAndTestsFailOnlyWhenReached) {
  // jinja2 accepts a template with an unknown filter in a branch it never takes.
  EXPECT_EQ(render("{% if false %}{{ x|nosuch }}{{ x is nosuch }}{% endif %}ok"), "ok");
  EXPECT_EQ(failure_of("ok\n  {{ x|nosuch }}").message, "template line 2, column 8: unknown filter 'nosuch'");
  EXPECT_EQ(failure_of("{{ x is nosuch }}").message, "template line 1, column 9: unknown test 'nosuch'");
  EXPECT_EQ(failure_of("{% filter nosuch %}x{% endfilter %}").message,
            "template line 1, column 11: unknown filter 'nosuch'");
}

TEST(JinjaErrors, RaiseExceptionCarriesTheTemplatesMessage) {
  const Failure f = failure_of(
      "{% if messages[0].role == 'system' %}\n  {{ raise_exception('System role not supported') }}\n{% endif %}",
      {{"messages", {{{"role", "system"}}}}});
  EXPECT_EQ(f.code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(f.message, "System role not supported (raised by the template at line 2, column 6)");
  // Raised inside a macro, it still reports the template's words first.
  EXPECT_TRUE(starts_with(failure_of("{% macro m() %}{{ raise_exception('in macro') }}{% endmacro %}{{ m() }}").message,
                          "in macro (raised by the template at line 1, column 19)"));
}

// ---- limits --------------------------------------------------------------

TEST(JinjaLimits, LoopIterationLimit) {
  RenderOptions options;
  options.limits.max_loop_iterations = 1000;
  EXPECT_EQ(render("{% for i in range(10) %}{% for j in range(10) %}.{% endfor %}{% endfor %}", json::object(),
                   chat_options(), options)
                .size(),
            100u);
  const Failure nested =
      failure_of("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", json::object(), options);
  EXPECT_TRUE(starts_with(nested.message, "template line 1, column 26: loops ran more than 1000 iterations"))
      << nested.message;
  // range() itself is bounded, so a huge range fails at once instead of allocating.
  EXPECT_TRUE(has(failure_of("{% for i in range(1000000000000) %}{% endfor %}").message, "exceeds the loop limit"));
  EXPECT_TRUE(has(failure_of("{{ [0] * 100000000000 }}").message, "exceeds the limit"));
}

TEST(JinjaLimits, RecursionLimit) {
  const Failure f = failure_of("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}");
  EXPECT_EQ(f.code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(has(f.message, "calls to 'f' nested more than 64 deep (unbounded recursion?)")) << f.message;
  RenderOptions options;
  options.limits.max_call_depth = 5;
  // f(4) nests five calls: f(4) ... f(0).
  EXPECT_EQ(render("{% macro f(n) %}{% if n %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(4) }}", json::object(),
                   chat_options(), options),
            "4321");
  EXPECT_THROW(render("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}", json::object(),
                      chat_options(), options),
               Error);
}

TEST(JinjaLimits, OutputAndStringSizeLimits) {
  RenderOptions options;
  options.limits.max_output_bytes = 100;
  EXPECT_EQ(render("{% for i in range(10) %}0123456789{% endfor %}", json::object(), chat_options(), options).size(),
            100u);
  EXPECT_TRUE(has(failure_of("{% for i in range(11) %}0123456789{% endfor %}", json::object(), options).message,
                  "the output exceeds the limit of 100 bytes"));
  // Doubling a string in a loop stops at the limit, output or not.
  EXPECT_TRUE(
      has(failure_of("{% set ns = namespace(s='ab') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
                     json::object(), options)
              .message,
          "exceeds the limit of 100 bytes"));
  EXPECT_TRUE(has(failure_of("{{ 'a' * 1000000000000 }}").message, "exceeds the limit"));
}

TEST(JinjaLimits, DeepNestingIsAnErrorNotACrash) {
  const std::string parens = "{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}";
  EXPECT_THROW(Template::parse(parens), Error);
  std::string nots = "{{ ";
  for (int i = 0; i < 5000; ++i) nots += "not ";
  EXPECT_THROW(Template::parse(nots + "x }}"), Error);
  std::string ifs;
  for (int i = 0; i < 5000; ++i) ifs += "{% if x %}";
  EXPECT_THROW(Template::parse(ifs), Error);
  // 100 levels are fine.
  EXPECT_EQ(render("{{ " + std::string(100, '(') + "7" + std::string(100, ')') + " }}"), "7");
}

TEST(JinjaLimits, ContainersCannotHoldThemselves) {
  // A cycle could never be printed and would keep its memory alive forever.
  EXPECT_EQ(failure_of("{% set l = [] %}{% do l.append(l) %}").message,
            "template line 1, column 24: a list cannot contain itself (directly or through its items)");
  EXPECT_TRUE(
      has(failure_of("{% set a = [] %}{% set b = [a] %}{% do a.append(b) %}").message, "cannot contain itself"));
  EXPECT_TRUE(has(failure_of("{% set ns = namespace() %}{% set ns.me = [ns] %}").message, "cannot contain itself"));
  EXPECT_EQ(render("{% set a = [1] %}{% set b = [] %}{% do b.append(a) %}{% do b.append(a) %}{{ b }}"), "[[1], [1]]");
}

// ---- reuse ---------------------------------------------------------------

TEST(JinjaTemplate, ParsedOnceRenderedManyTimesAcrossThreads) {
  const Template t = Template::parse("{% for m in messages %}{{ m }};{% endfor %}", chat_options());
  std::vector<std::string> results(4);
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      ValueDict ctx;
      ctx.set(Value("messages"), Value::from_json(json::array({i, i + 1})));
      for (int k = 0; k < 200; ++k) results[static_cast<size_t>(i)] = t.render(ctx);
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < 4; ++i)
    EXPECT_EQ(results[static_cast<size_t>(i)], std::to_string(i) + ";" + std::to_string(i + 1) + ";");
}

TEST(JinjaTemplate, UnparsedTemplateRefusesToRender) { EXPECT_THROW(Template().render(ValueDict{}), Error); }

// ---- values --------------------------------------------------------------

TEST(JinjaValue, JsonRoundTripKeepsOrderAndTypes) {
  const json j = json::parse(R"({"z": 1, "a": [true, null, 2.5, "s", {"y": -3}], "m": {}})");
  const Value v = Value::from_json(j);
  EXPECT_TRUE(v.is_dict());
  EXPECT_EQ(v.entries().all().front().first.as_string(), "z");
  EXPECT_EQ(v.to_json().dump(), j.dump());
  EXPECT_EQ(to_json_text(v, JsonFormat{}), R"({"z": 1, "a": [true, null, 2.5, "s", {"y": -3}], "m": {}})");
}

TEST(JinjaValue, FloatFormatMatchesPythonRepr) {
  EXPECT_EQ(format_float(1.0), "1.0");
  EXPECT_EQ(format_float(0.1), "0.1");
  EXPECT_EQ(format_float(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(format_float(1e16), "1e+16");
  EXPECT_EQ(format_float(1e15), "1000000000000000.0");
  EXPECT_EQ(format_float(1e-5), "1e-05");
  EXPECT_EQ(format_float(0.0001), "0.0001");
  EXPECT_EQ(format_float(-2.5e-7), "-2.5e-07");
  EXPECT_EQ(format_float(123456.789), "123456.789");
  EXPECT_EQ(format_float(-0.0), "-0.0");
}

TEST(JinjaValue, EqualityAndTruthinessFollowPython) {
  EXPECT_EQ(Value(1), Value(1.0));
  EXPECT_EQ(Value(true), Value(1));
  EXPECT_NE(Value("1"), Value(1));
  EXPECT_NE(Value::list({Value(1)}), Value::tuple({Value(1)}));
  EXPECT_FALSE(Value::list().truthy());
  EXPECT_FALSE(Value("").truthy());
  EXPECT_FALSE(Value::undefined().truthy());
  EXPECT_TRUE(Value::make_namespace().truthy());
  EXPECT_EQ(utf8_length("añ€😀"), 4u);
}

}  // namespace
}  // namespace hearth::runtime::jinja
