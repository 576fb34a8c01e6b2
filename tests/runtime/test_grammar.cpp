// The byte grammar and its matcher: what it accepts and refuses, the checks at
// build time (left recursion, rules that never end), undo levels, and that the
// state stays small on ambiguous and deeply repeating input.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include "core/error.h"
#include "grammar_walk.h"
#include "runtime/grammar.h"

namespace hearth::runtime {
namespace {

using GB = GrammarBuilder;

std::shared_ptr<const Grammar> share(Grammar g) { return std::make_shared<const Grammar>(std::move(g)); }

bool matches(const std::shared_ptr<const Grammar>& g, std::string_view s) {
  GrammarMatcher m(g);
  return m.advance(s) && m.complete();
}

bool viable(const std::shared_ptr<const Grammar>& g, std::string_view s) {
  GrammarMatcher m(g);
  return m.advance(s);
}

std::string build_error(const GB& b, int32_t root) {
  try {
    b.build(root);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    return e.what();
  }
  return "";
}

TEST(Grammar, SequencesAlternativesAndSets) {
  // root ::= "ab" | "a" word ; word ::= [x-z] [^x-z0-9]
  GB b;
  const int32_t word = b.add_rule("word", {{GB::bytes(ByteSet::range('x', 'z')),
                                            GB::bytes(ByteSet::range('x', 'z').add_range('0', '9').complement())}});
  GB::Sequence a_word = GB::literal("a");
  a_word.push_back(GB::ref(word));
  const int32_t root = b.add_rule("root", {GB::literal("ab"), a_word});
  const auto g = share(b.build(root));
  EXPECT_TRUE(matches(g, "ab"));
  EXPECT_TRUE(matches(g, "axq"));
  EXPECT_TRUE(matches(g, "az\xff"));
  EXPECT_FALSE(matches(g, "a"));
  EXPECT_FALSE(matches(g, "ax5"));
  EXPECT_FALSE(matches(g, "axx"));
  EXPECT_FALSE(matches(g, "abc"));
  EXPECT_FALSE(matches(g, ""));
  EXPECT_TRUE(viable(g, "a"));
  EXPECT_TRUE(viable(g, "ax"));
  EXPECT_FALSE(viable(g, "b"));
}

TEST(Grammar, RepetitionHonoursItsBounds) {
  for (const auto& [min, max] : {std::pair{0, 0}, std::pair{2, 4}, std::pair{3, 3}, std::pair{0, -1}, std::pair{2, -1}}) {
    GB b;
    const int32_t r = b.repeat("xs", {GB::byte('x')}, min, max);
    const int32_t root = b.add_rule("root", {{GB::byte('<'), GB::ref(r), GB::byte('>')}});
    const auto g = share(b.build(root));
    for (int n = 0; n <= 8; ++n) {
      const bool in = n >= min && (max < 0 || n <= max);
      EXPECT_EQ(matches(g, "<" + std::string(n, 'x') + ">"), in) << "{" << min << "," << max << "} n=" << n;
    }
  }
  GB b;
  EXPECT_THROW(b.repeat("bad", {GB::byte('x')}, 3, 2), Error);
  EXPECT_THROW(b.repeat("bad", {GB::byte('x')}, 0, GB::kMaxRepeat + 1), Error);
  EXPECT_THROW(b.repeat("bad", {GB::byte('x')}, -1, 2), Error);
}

TEST(Grammar, RefusesLeftRecursion) {
  {
    GB b;  // expr ::= expr "+" "1" | "1"
    const int32_t e = b.add_rule("expr");
    GB::Sequence s = {GB::ref(e)};
    GB::append(s, GB::literal("+1"));
    b.add_alternative(e, s);
    b.add_alternative(e, GB::literal("1"));
    const std::string why = build_error(b, e);
    EXPECT_NE(why.find("left-recursive"), std::string::npos) << why;
    EXPECT_NE(why.find("expr"), std::string::npos) << why;
  }
  {
    GB b;  // a ::= opt b "x" | "y" ; b ::= a | "z" ; opt ::= "" | "o"   (a -> b -> a behind a nullable)
    const int32_t a = b.add_rule("a");
    const int32_t bb = b.add_rule("b");
    const int32_t opt = b.add_rule("opt", {{}, GB::literal("o")});
    b.add_alternative(a, {GB::ref(opt), GB::ref(bb), GB::byte('x')});
    b.add_alternative(a, GB::literal("y"));
    b.add_alternative(bb, {GB::ref(a)});
    b.add_alternative(bb, GB::literal("z"));
    const std::string why = build_error(b, a);
    EXPECT_NE(why.find("left-recursive"), std::string::npos) << why;
    EXPECT_NE(why.find("a -> b -> a"), std::string::npos) << why;
  }
  {
    GB b;  // a left-recursive rule reached only after a byte: root ::= "x" list ; list ::= list "y" | "z"
    const int32_t list = b.add_rule("list");
    b.add_alternative(list, {GB::ref(list), GB::byte('y')});
    b.add_alternative(list, GB::literal("z"));
    const int32_t root = b.add_rule("root", {{GB::byte('x'), GB::ref(list)}});
    const std::string why = build_error(b, root);
    EXPECT_NE(why.find("'list' is left-recursive"), std::string::npos) << why;
  }
  {
    GB b;  // the same recursion behind a byte is fine: a ::= "(" a ")" | ""
    const int32_t a = b.add_rule("a");
    b.add_alternative(a, {GB::byte('('), GB::ref(a), GB::byte(')')});
    b.add_alternative(a, {});
    const auto g = share(b.build(a));
    EXPECT_TRUE(matches(g, "((()))"));
    EXPECT_TRUE(matches(g, ""));
    EXPECT_FALSE(matches(g, "(()"));
    EXPECT_FALSE(matches(g, "())"));
  }
}

TEST(Grammar, DropsAlternativesThatNeverEndAndRefusesAnEmptyLanguage) {
  GB b;  // root ::= forever | "c" | [] "d" ; forever ::= "a" forever
  const int32_t forever = b.add_rule("forever");
  b.add_alternative(forever, {GB::byte('a'), GB::ref(forever)});
  const int32_t root = b.add_rule("root", {{GB::ref(forever)}, GB::literal("c"), {GB::bytes(ByteSet()), GB::byte('d')}});
  const auto g = share(b.build(root));
  EXPECT_TRUE(matches(g, "c"));
  EXPECT_FALSE(viable(g, "a"));  // a walk into it could never finish
  EXPECT_FALSE(viable(g, "d"));
  GrammarMatcher m(g);
  EXPECT_EQ(m.next_bytes(), ByteSet::of('c'));

  const std::string why = build_error(b, forever);
  EXPECT_NE(why.find("matches no finite string"), std::string::npos) << why;
  GB none;
  EXPECT_FALSE(build_error(none, none.add_rule("empty")).empty());
  EXPECT_FALSE(build_error(none, 7).empty());
}

TEST(Grammar, CompleteMustEndAndMinBytes) {
  GB b;  // root ::= "a" tail ; tail ::= "" | "bcd"
  const int32_t tail = b.add_rule("tail", {{}, GB::literal("bcd")});
  const int32_t root = b.add_rule("root", {{GB::byte('a'), GB::ref(tail)}});
  GrammarMatcher m(share(b.build(root)));
  EXPECT_FALSE(m.complete());
  EXPECT_FALSE(m.must_end());
  EXPECT_EQ(m.min_bytes_to_complete(), 1u);
  ASSERT_TRUE(m.accept("a"));
  EXPECT_TRUE(m.complete());
  EXPECT_FALSE(m.must_end());
  EXPECT_EQ(m.min_bytes_to_complete(), 0u);
  ASSERT_TRUE(m.accept("b"));
  EXPECT_FALSE(m.complete());
  EXPECT_EQ(m.min_bytes_to_complete(), 2u);
  ASSERT_TRUE(m.accept("cd"));
  EXPECT_TRUE(m.complete());
  EXPECT_TRUE(m.must_end());
  EXPECT_TRUE(m.next_bytes().empty());
  EXPECT_FALSE(m.advance('x'));
}

TEST(Grammar, FailedAdvanceAndRollbackLeaveTheStateAsItWas) {
  GB b;
  const int32_t digits = b.repeat("digits", {GB::bytes(ByteSet::range('0', '9'))}, 1, -1);
  const int32_t root = b.add_rule("root", {{GB::byte('['), GB::ref(digits), GB::byte(']')}});
  GrammarMatcher m(share(b.build(root)));
  ASSERT_TRUE(m.accept("[12"));
  const ByteSet before = m.next_bytes();
  EXPECT_FALSE(m.advance(std::string_view("3x")));  // all or nothing
  EXPECT_EQ(m.next_bytes(), before);
  const size_t cp = m.checkpoint();
  EXPECT_TRUE(m.advance(std::string_view("34")));
  EXPECT_TRUE(m.advance(']'));
  EXPECT_TRUE(m.complete());
  m.rollback(cp);
  EXPECT_FALSE(m.complete());
  EXPECT_EQ(m.next_bytes(), before);
  EXPECT_TRUE(m.can_advance("5]"));
  EXPECT_FALSE(m.can_advance("]]"));
  EXPECT_EQ(m.next_bytes(), before);

  GrammarMatcher copy = m;
  ASSERT_TRUE(copy.accept("]"));
  EXPECT_TRUE(copy.complete());
  EXPECT_FALSE(m.complete());  // the original did not move
  EXPECT_TRUE(m.accept("9]"));
}

TEST(Grammar, RepetitionDoesNotGrowTheState) {
  GB b;
  const int32_t word = b.add_rule("word", {GB::literal("ab"), GB::literal("c")});
  const int32_t words = b.repeat("words", {GB::ref(word)}, 0, -1);
  const int32_t bounded = b.repeat("bounded", {GB::ref(word)}, 0, 3000);
  const int32_t root = b.add_rule("root", {{GB::byte('u'), GB::ref(words)}, {GB::byte('b'), GB::ref(bounded)}});
  const auto g = share(b.build(root));
  for (const char first : {'u', 'b'}) {
    GrammarMatcher m(g);
    ASSERT_TRUE(m.accept(std::string(1, first)));
    size_t max_frames = 0, max_heads = 0;
    for (int i = 0; i < 2500; ++i) {
      ASSERT_TRUE(m.accept(i % 2 ? "ab" : "c"));
      max_frames = std::max(max_frames, m.frame_count());
      max_heads = std::max(max_heads, m.head_count());
    }
    EXPECT_TRUE(m.complete());
    EXPECT_LE(max_frames, 4u) << first;
    EXPECT_LE(max_heads, 4u) << first;
  }
}

TEST(Grammar, AmbiguityDoesNotBlowUp) {
  // Forty nullable rules that can each be empty two ways, then a loop that can
  // take each byte two ways: a naive expansion has 2^40 paths.
  GB b;
  const int32_t eps = b.add_rule("eps", {{}, {}, GB::literal("e")});
  GB::Sequence many;
  for (int i = 0; i < 40; ++i) many.push_back(GB::ref(eps));
  const int32_t loop = b.add_rule("loop");
  b.add_alternative(loop, {GB::byte('a'), GB::ref(loop)});
  b.add_alternative(loop, {GB::bytes(ByteSet::of_chars("ab")), GB::ref(loop)});
  b.add_alternative(loop, {});
  many.push_back(GB::ref(loop));
  const int32_t root = b.add_rule("root", {many});
  GrammarMatcher m(share(b.build(root)));
  EXPECT_LE(m.head_count(), 45u);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(m.accept(i % 3 ? "a" : "b"));
  EXPECT_TRUE(m.complete());
  EXPECT_LE(m.head_count(), 4u);
}

TEST(Grammar, NestingPastTheDepthLimitIsRefused) {
  GB b;  // p ::= "(" p ")" | ""
  const int32_t p = b.add_rule("p");
  b.add_alternative(p, {GB::byte('('), GB::ref(p), GB::byte(')')});
  b.add_alternative(p, {});
  MatcherLimits limits;
  limits.max_depth = 10;
  GrammarMatcher m(share(b.build(p)), limits);
  int opened = 0;
  while (opened < 100 && m.accept("(")) ++opened;
  EXPECT_GE(opened, 10);  // one frame per level, the last one maybe not yet
  EXPECT_LE(opened, 11);
  EXPECT_LE(m.frame_count(), 12u);
  EXPECT_TRUE(m.accept(std::string(static_cast<size_t>(opened), ')')));
  EXPECT_TRUE(m.complete());
}

// Balanced brackets with letters inside: random walks must give strings an
// independent check accepts, and the grammar must accept what that check accepts.
TEST(Grammar, RandomWalksStayInTheLanguage) {
  GB b;  // s ::= item s | "" ; item ::= "(" s ")" | "[" s "]" | [a-c]
  const int32_t s = b.add_rule("s");
  const int32_t item = b.add_rule("item");
  b.add_alternative(s, {GB::ref(item), GB::ref(s)});
  b.add_alternative(s, {});
  b.add_alternative(item, {GB::byte('('), GB::ref(s), GB::byte(')')});
  b.add_alternative(item, {GB::byte('['), GB::ref(s), GB::byte(']')});
  b.add_alternative(item, {GB::bytes(ByteSet::range('a', 'c'))});
  const auto g = share(b.build(s));
  auto balanced = [](const std::string& t) {
    std::string stack;
    for (const char c : t) {
      if (c == '(' || c == '[') stack += c;
      else if (c == ')' || c == ']') {
        if (stack.empty() || stack.back() != (c == ')' ? '(' : '[')) return false;
        stack.pop_back();
      } else if (c < 'a' || c > 'c') {
        return false;
      }
    }
    return stack.empty();
  };
  std::mt19937 rng(7);
  for (int i = 0; i < 200; ++i) {
    GrammarMatcher m(g);
    const std::string t = test_walk::random_walk(m, rng, 60);
    EXPECT_TRUE(balanced(t)) << t;
  }
  const std::string alphabet = "()[]ab";
  for (int i = 0; i < 2000; ++i) {
    std::string t;
    for (size_t n = rng() % 10; n > 0; --n) t += alphabet[rng() % alphabet.size()];
    EXPECT_EQ(matches(g, t), balanced(t)) << t;
  }
}

TEST(Grammar, TextFormNamesRulesAndSets) {
  GB b;
  const int32_t digit = b.add_rule("digit", {{GB::bytes(ByteSet::range('0', '9'))}});
  const int32_t root = b.add_rule("root", {{GB::byte('-'), GB::ref(digit)}, GB::literal("\"q\"")});
  const std::string text = b.build(root).to_string();
  EXPECT_NE(text.find("digit ::= [0-9]"), std::string::npos) << text;
  EXPECT_NE(text.find("root ::= \"-\" digit | \"\\\"q\\\"\""), std::string::npos) << text;
}

}  // namespace
}  // namespace hearth::runtime
