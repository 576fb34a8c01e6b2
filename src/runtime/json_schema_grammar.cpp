#include "runtime/json_schema_grammar.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/error.h"
#include "runtime/json_schema_validate.h"

namespace hearth::runtime {
namespace {

using Json = nlohmann::ordered_json;
using Seq = GrammarBuilder::Sequence;
using GB = GrammarBuilder;

constexpr int kMaxNesting = 256;    // schema levels compiled inside one another
constexpr int kMaxFlattenHops = 32;  // $ref / allOf resolutions merged into one schema
constexpr size_t kMaxAnyOfProduct = 64;
constexpr int32_t kMaxRules = 1 << 20;
constexpr size_t kMaxMergedBytes = 1 << 20;

// JSON types as bits; "number" is both kInt and kFrac (integers are numbers).
constexpr unsigned kNull = 1, kBool = 2, kObject = 4, kArray = 8, kString = 16, kInt = 32, kFrac = 64;
constexpr unsigned kAllTypes = 127;

[[noreturn]] void refuse(const std::string& path, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, "JSON schema at " + path + ": " + what);
}

std::string at(const std::string& path, std::string_view token) { return json_pointer_append(path, token); }
std::string at(const std::string& path, std::string_view token, size_t index) {
  return json_pointer_append(json_pointer_append(path, token), std::to_string(index));
}

unsigned type_bit(const std::string& t) {
  if (t == "null") return kNull;
  if (t == "boolean") return kBool;
  if (t == "object") return kObject;
  if (t == "array") return kArray;
  if (t == "string") return kString;
  if (t == "integer") return kInt;
  return kInt | kFrac;  // number
}

unsigned value_bits(const Json& v) {
  if (v.is_null()) return kNull;
  if (v.is_boolean()) return kBool;
  if (v.is_object()) return kObject;
  if (v.is_array()) return kArray;
  if (v.is_string()) return kString;
  if (v.is_number_integer()) return kInt;
  const double d = v.get<double>();
  return std::floor(d) == d ? kInt : kFrac;
}

bool has_any(const Json& s, std::initializer_list<const char*> keys) {
  for (const char* k : keys)
    if (s.contains(k)) return true;
  return false;
}

// The types a schema (without enum/const/anyOf at its top) generates: those
// named, or those its keywords are about, or all.
unsigned type_bits(const Json& s) {
  if (s.contains("type")) {
    const Json& t = s["type"];
    unsigned bits = 0;
    if (t.is_string()) bits = type_bit(t.get<std::string>());
    else
      for (const Json& one : t) bits |= type_bit(one.get<std::string>());
    return bits;
  }
  unsigned bits = 0;
  if (has_any(s, {"properties", "required", "additionalProperties"})) bits |= kObject;
  if (has_any(s, {"items", "prefixItems", "additionalItems", "minItems", "maxItems"})) bits |= kArray;
  if (has_any(s, {"minLength", "maxLength", "format"})) bits |= kString;
  if (has_any(s, {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"})) bits |= kInt | kFrac;
  return bits ? bits : kAllTypes;
}

// The types a schema accepts (for validation: without "type", every type;
// keywords about one type say nothing about the others).
unsigned accepted_type_bits(const Json& s) { return s.contains("type") ? type_bits(s) : kAllTypes; }

bool has_validating_keywords(const Json& s) {
  if (!s.is_object()) return !s.get<bool>();
  for (const auto& [k, v] : s.items())
    if (!json_schema_is_descriptive(k)) return true;
  return false;
}

bool trivially_true(const Json& s) { return s.is_boolean() ? s.get<bool>() : !has_validating_keywords(s); }
bool is_false(const Json& s) { return s.is_boolean() && !s.get<bool>(); }

// Draft 4 exclusive bounds become draft 6 ones; OpenAPI's nullable joins type.
Json canonical(Json s) {
  for (const auto& [ex, plain] : {std::pair{"exclusiveMinimum", "minimum"}, std::pair{"exclusiveMaximum", "maximum"}}) {
    if (!s.contains(ex) || !s[ex].is_boolean()) continue;
    if (s[ex].get<bool>() && s.contains(plain)) {
      s[ex] = s[plain];
      s.erase(plain);
    } else {
      s.erase(ex);
    }
  }
  if (s.contains("nullable")) {
    if (s["nullable"].get<bool>() && s.contains("type")) {
      Json& t = s["type"];
      if (t.is_string()) t = Json::array({t});
      if (std::find(t.begin(), t.end(), Json("null")) == t.end()) t.push_back("null");
    }
    s.erase("nullable");
  }
  return s;
}

std::string digits_of(int64_t v) { return std::to_string(v); }
int64_t pow10(int n) {
  int64_t p = 1;
  while (n-- > 0) p *= 10;
  return p;
}

class Compiler {
 public:
  Compiler(const Json& root, const JsonGrammarOptions& o) : root_(root), opt_(o), validator_(root) {}

  GrammarBuilder& builder() { return b_; }

  // Every subschema reachable from the root (through $refs too) is checked
  // before anything is compiled, so what is refused does not depend on which
  // parts compiling prunes; and a $ref cycle that never steps into a property
  // or item (validating it would never end) is refused.
  void check_document() {
    struct Node {
      std::string path;
      const Json* schema;
      std::vector<size_t> same;  // schemas for the same value: $ref, allOf, anyOf, oneOf
    };
    std::vector<Node> nodes;
    std::map<std::string, size_t> index;
    auto node = [&](const Json& s, const std::string& path) {
      auto [it, fresh] = index.try_emplace(path, nodes.size());
      if (fresh) nodes.push_back({path, &s, {}});
      return it->second;
    };
    node(root_, "#");
    for (size_t i = 0; i < nodes.size(); ++i) {
      const Json& s = *nodes[i].schema;
      const std::string path = nodes[i].path;
      if (!s.is_object()) continue;
      json_schema_check_keywords(s, path);
      std::vector<size_t> same;
      if (s.contains("$ref")) {
        const std::string& ref = s["$ref"].get_ref<const std::string&>();
        same.push_back(node(json_schema_resolve_ref(root_, ref, path), ref));
      }
      for (const char* key : {"allOf", "anyOf", "oneOf"})
        if (s.contains(key))
          for (size_t b = 0; b < s[key].size(); ++b) same.push_back(node(s[key][b], at(path, key, b)));
      if (s.contains("properties"))
        for (const auto& [name, sub] : s["properties"].items()) node(sub, at(at(path, "properties"), name));
      for (const char* key : {"additionalProperties", "additionalItems", "items", "prefixItems"}) {
        if (!s.contains(key)) continue;
        const Json& v = s[key];
        if (v.is_array())
          for (size_t b = 0; b < v.size(); ++b) node(v[b], at(path, key, b));
        else
          node(v, at(path, key));
      }
      nodes[i].same = std::move(same);
    }
    // Depth-first over the same-value edges alone; an edge back to a node on
    // the path closes a cycle.
    std::vector<uint8_t> colour(nodes.size(), 0);
    for (size_t start = 0; start < nodes.size(); ++start) {
      if (colour[start]) continue;
      std::vector<std::pair<size_t, size_t>> stack{{start, 0}};
      colour[start] = 1;
      while (!stack.empty()) {
        auto& [v, next] = stack.back();
        if (next == nodes[v].same.size()) {
          colour[v] = 2;
          stack.pop_back();
          continue;
        }
        const size_t w = nodes[v].same[next++];
        if (colour[w] == 1)
          refuse(nodes[v].path, "leads back to " + nodes[w].path +
                                    " without going into a property or item, so validating it would never end");
        if (colour[w] == 0) {
          colour[w] = 1;
          stack.push_back({w, 0});
        }
      }
    }
  }

  int32_t value_any() {
    if (value_ >= 0) return value_;
    value_ = b_.add_rule("value");
    const int32_t obj = object_any(), arr = array_any();
    b_.add_alternative(value_, {GB::ref(obj)});
    b_.add_alternative(value_, {GB::ref(arr)});
    b_.add_alternative(value_, {GB::ref(string_any())});
    b_.add_alternative(value_, {GB::ref(number_any())});
    b_.add_alternative(value_, {GB::ref(boolean())});
    b_.add_alternative(value_, {GB::ref(null_rule())});
    return value_;
  }

  int32_t object_any() {
    if (object_ >= 0) return object_;
    object_ = b_.add_rule("object");
    const int32_t member = b_.add_rule("member");
    Seq kv = {GB::ref(string_any()), GB::byte(':')};
    separator(kv);
    kv.push_back(GB::ref(value_any()));
    b_.add_alternative(member, kv);
    b_.add_alternative(object_, {GB::byte('{'), GB::ref(comma_list(member, "members")), GB::byte('}')});
    return object_;
  }

  int32_t array_any() {
    if (array_ >= 0) return array_;
    array_ = b_.add_rule("array");
    b_.add_alternative(array_, {GB::byte('['), GB::ref(comma_list(value_any(), "elements")), GB::byte(']')});
    return array_;
  }

  int32_t compile(const Json& s, const std::string& path, int depth) {
    if (depth > kMaxNesting) refuse(path, "schemas nest deeper than " + std::to_string(kMaxNesting) + " levels");
    if (b_.rule_count() > kMaxRules)
      refuse(path, "the grammar for this schema grows past " + std::to_string(kMaxRules) + " rules");
    if (s.is_boolean()) return s.get<bool>() ? value_any() : nothing();
    json_schema_check_keywords(s, path);
    if (s.contains("$ref") || s.contains("allOf")) {
      Json rest = s;
      rest.erase("$ref");
      if (!s.contains("allOf") && !has_validating_keywords(rest))
        return ref_rule(s["$ref"].get<std::string>(), path, depth);
      // Merged schemas are remembered by content, so a recursion through allOf
      // and $ref closes into a cycle of rules as a plain $ref does.
      const Json flat = flatten(s, path, 0);
      std::string key = flat.dump();
      if (key.size() > kMaxMergedBytes)
        refuse(path, "merging allOf/$ref gives a schema over " + std::to_string(kMaxMergedBytes) + " bytes");
      if (auto it = merged_.find(key); it != merged_.end()) return it->second;
      const int32_t r = b_.add_rule(path + " (merged)");
      merged_.emplace(std::move(key), r);
      b_.add_alternative(r, {GB::ref(compile(flat, path, depth + 1))});
      return r;
    }
    const Json c = canonical(s);
    if (c.contains("anyOf") || c.contains("oneOf")) return alternatives(c, path, depth);
    if (c.contains("enum") || c.contains("const")) return literals(c, path);

    // One rule per type, in the schema's order of types, then a fixed one;
    // number covers integer.
    const unsigned bits = type_bits(c);
    std::vector<unsigned> order;
    auto consider = [&](unsigned bit) {
      if ((bits & bit) != bit) return;
      for (const unsigned o : order)
        if ((o & bit) == bit) return;
      order.push_back(bit);
    };
    if (c.contains("type") && c["type"].is_array())
      for (const Json& t : c["type"]) {
        const unsigned bit = type_bit(t.get<std::string>());
        consider(bit == kInt && (bits & kFrac) ? kInt | kFrac : bit);
      }
    for (const unsigned bit : {kObject, kArray, kString, kInt | kFrac, kInt, kBool, kNull}) consider(bit);
    std::vector<int32_t> alts;
    for (const unsigned bit : order) alts.push_back(type_rule(bit, c, path, depth));
    if (alts.size() == 1) return alts[0];
    const int32_t r = b_.add_rule(path);
    for (const int32_t a : alts) b_.add_alternative(r, {GB::ref(a)});
    return r;
  }

 private:
  // ---- shared pieces ----

  void separator(Seq& s) {
    if (!opt_.space_after_separators) return;
    if (space_ < 0) space_ = b_.add_rule("space", {GB::literal(" "), {}});
    s.push_back(GB::ref(space_));
  }

  // item ("," item)* or nothing.
  int32_t comma_list(int32_t item, const std::string& name) {
    Seq more = {GB::byte(',')};
    separator(more);
    more.push_back(GB::ref(item));
    const int32_t tail = b_.repeat(name + "-more", more, 0, -1);
    return b_.add_rule(name, {{GB::ref(item), GB::ref(tail)}, {}});
  }

  int32_t nothing() {
    if (nothing_ < 0) nothing_ = b_.add_rule("nothing");  // no alternatives: matches no string
    return nothing_;
  }

  int32_t boolean() {
    if (boolean_ < 0) boolean_ = b_.add_rule("boolean", {GB::literal("true"), GB::literal("false")});
    return boolean_;
  }

  int32_t null_rule() {
    if (null_ < 0) null_ = b_.add_rule("null", {GB::literal("null")});
    return null_;
  }

  static GB::Symbol digit() { return GB::bytes(ByteSet::range('0', '9')); }
  static GB::Symbol hex() { return GB::bytes(ByteSet::range('0', '9').add_range('a', 'f').add_range('A', 'F')); }

  // One code point of a JSON string: printable ASCII but " and \, an escape,
  // or a well-formed UTF-8 sequence (no overlongs, no surrogates).
  int32_t json_char() {
    if (char_ >= 0) return char_;
    const GB::Symbol cont = GB::bytes(ByteSet::range(0x80, 0xbf));
    const int32_t u = b_.add_rule("unicode-escape");
    const GB::Symbol h = hex();
    b_.add_alternative(u, {GB::bytes(ByteSet::range('0', '9').add_range('a', 'c').add_range('A', 'C')), h, h, h});
    b_.add_alternative(u, {GB::bytes(ByteSet::of_chars("eEfF")), h, h, h});
    b_.add_alternative(u, {GB::bytes(ByteSet::of_chars("dD")), GB::bytes(ByteSet::range('0', '7')), h, h});
    // A high surrogate must be followed by a low one.
    b_.add_alternative(u, {GB::bytes(ByteSet::of_chars("dD")), GB::bytes(ByteSet::of_chars("89abAB")), h, h,
                           GB::byte('\\'), GB::byte('u'), GB::bytes(ByteSet::of_chars("dD")),
                           GB::bytes(ByteSet::range('c', 'f').add_range('C', 'F')), h, h});
    const int32_t esc = b_.add_rule("escape", {{GB::bytes(ByteSet::of_chars("\"\\/bfnrt"))}, {GB::byte('u'), GB::ref(u)}});
    char_ = b_.add_rule("char");
    b_.add_alternative(char_, {GB::bytes(ByteSet::range(0x20, 0x7f).remove('"').remove('\\'))});
    b_.add_alternative(char_, {GB::byte('\\'), GB::ref(esc)});
    b_.add_alternative(char_, {GB::bytes(ByteSet::range(0xc2, 0xdf)), cont});
    b_.add_alternative(char_, {GB::byte(0xe0), GB::bytes(ByteSet::range(0xa0, 0xbf)), cont});
    b_.add_alternative(char_, {GB::bytes(ByteSet::range(0xe1, 0xec).add_range(0xee, 0xef)), cont, cont});
    b_.add_alternative(char_, {GB::byte(0xed), GB::bytes(ByteSet::range(0x80, 0x9f)), cont});
    b_.add_alternative(char_, {GB::byte(0xf0), GB::bytes(ByteSet::range(0x90, 0xbf)), cont, cont});
    b_.add_alternative(char_, {GB::bytes(ByteSet::range(0xf1, 0xf3)), cont, cont, cont});
    b_.add_alternative(char_, {GB::byte(0xf4), GB::bytes(ByteSet::range(0x80, 0x8f)), cont, cont});
    return char_;
  }

  int32_t string_any() {
    if (string_ >= 0) return string_;
    const int32_t chars = b_.repeat("chars", {GB::ref(json_char())}, 0, -1);
    string_ = b_.add_rule("string", {{GB::byte('"'), GB::ref(chars), GB::byte('"')}});
    return string_;
  }

  // "0" or up to max_integer_digits digits without a leading zero.
  int32_t natural() {
    if (natural_ >= 0) return natural_;
    const int32_t more = b_.repeat("digits", {digit()}, 0, opt_.max_integer_digits - 1);
    natural_ = b_.add_rule("natural", {GB::literal("0"), {GB::bytes(ByteSet::range('1', '9')), GB::ref(more)}});
    return natural_;
  }

  int32_t integer_any() {
    if (integer_ >= 0) return integer_;
    integer_ = b_.add_rule("integer", {{GB::byte('-'), GB::ref(natural())}, {GB::ref(natural())}});
    return integer_;
  }

  enum class Frac { kNone, kZero, kNonZero, kAny };

  // What may follow the integer part: nothing or a fraction of the kind.
  int32_t fraction(Frac kind) {
    int32_t& r = frac_[static_cast<int>(kind)];
    if (r >= 0) return r;
    const int f = opt_.max_fraction_digits;
    switch (kind) {
      case Frac::kAny: {
        const int32_t d = b_.repeat("fraction-digits", {digit()}, 1, f);
        r = b_.add_rule("fraction?", {{GB::byte('.'), GB::ref(d)}, {}});
        break;
      }
      case Frac::kZero: {
        const int32_t d = b_.repeat("zero-digits", {GB::byte('0')}, 1, f);
        r = b_.add_rule("zero-fraction?", {{GB::byte('.'), GB::ref(d)}, {}});
        break;
      }
      case Frac::kNonZero: {
        const int32_t zeros = b_.repeat("leading-zeros", {GB::byte('0')}, 0, f - 1);
        const int32_t rest = b_.repeat("fraction-digits-rest", {digit()}, 0, f - 1);
        r = b_.add_rule("nonzero-fraction",
                        {{GB::byte('.'), GB::ref(zeros), GB::bytes(ByteSet::range('1', '9')), GB::ref(rest)}});
        break;
      }
      case Frac::kNone:
        r = b_.add_rule("no-fraction", {{}});
        break;
    }
    return r;
  }

  int32_t number_any() {
    if (number_ >= 0) return number_;
    const int32_t e_digits = b_.repeat("exponent-digits", {digit()}, 1, opt_.max_exponent_digits);
    const int32_t exp = b_.add_rule("exponent?", {{GB::bytes(ByteSet::of_chars("eE")), GB::bytes(ByteSet::of_chars("+-")),
                                                   GB::ref(e_digits)},
                                                  {GB::bytes(ByteSet::of_chars("eE")), GB::ref(e_digits)},
                                                  {}});
    const int32_t unsigned_number =
        b_.add_rule("unsigned-number", {{GB::ref(natural()), GB::ref(fraction(Frac::kAny)), GB::ref(exp)}});
    number_ = b_.add_rule("number", {{GB::byte('-'), GB::ref(unsigned_number)}, {GB::ref(unsigned_number)}});
    return number_;
  }

  // ---- integer ranges (decimal text, no leading zeros) ----

  // Numbers of the same length L from x to y (x <= y, both L digits).
  int32_t fixed_range(const std::string& x, const std::string& y) {
    const auto key = x + ":" + y;
    if (auto it = fixed_.find(key); it != fixed_.end()) return it->second;
    const size_t n = x.size();
    const int32_t r = b_.add_rule("digits " + x + ".." + y);
    fixed_[key] = r;
    auto digits_after = [&](Seq s) {
      for (size_t i = 1; i < n; ++i) s.push_back(digit());
      return s;
    };
    const auto x0 = static_cast<uint8_t>(x[0]), y0 = static_cast<uint8_t>(y[0]);
    if (n == 1) {
      b_.add_alternative(r, {GB::bytes(ByteSet::range(x0, y0))});
    } else if (x0 == y0) {
      b_.add_alternative(r, {GB::byte(x0), GB::ref(fixed_range(x.substr(1), y.substr(1)))});
    } else {
      const bool x_low = x.find_first_not_of('0', 1) == std::string::npos;
      const bool y_high = y.find_first_not_of('9', 1) == std::string::npos;
      if (!x_low) b_.add_alternative(r, {GB::byte(x0), GB::ref(fixed_range(x.substr(1), std::string(n - 1, '9')))});
      const uint8_t lo = x_low ? x0 : x0 + 1, hi = y_high ? y0 : y0 - 1;
      if (lo <= hi) b_.add_alternative(r, digits_after({GB::bytes(ByteSet::range(lo, hi))}));
      if (!y_high) b_.add_alternative(r, {GB::byte(y0), GB::ref(fixed_range(std::string(n - 1, '0'), y.substr(1)))});
    }
    return r;
  }

  // The decimal texts of lo..hi (0 <= lo <= hi < 10^max_integer_digits).
  int32_t natural_range(int64_t lo, int64_t hi) {
    const auto key = std::to_string(lo) + ":" + std::to_string(hi);
    if (auto it = ranges_.find(key); it != ranges_.end()) return it->second;
    const int32_t r = b_.add_rule("range " + key);
    ranges_[key] = r;
    const int len_lo = static_cast<int>(digits_of(lo).size()), len_hi = static_cast<int>(digits_of(hi).size());
    for (int len = len_lo; len <= len_hi;) {
      const int64_t first = len == 1 ? 0 : pow10(len - 1), last = pow10(len) - 1;
      const int64_t a = std::max(lo, first), b = std::min(hi, last);
      // Whole lengths in a row become one bounded repetition.
      if (len >= 2 && a == first && b == last) {
        int end = len;
        while (end + 1 <= len_hi && hi >= pow10(end + 1) - 1) ++end;
        const int32_t more = b_.repeat("digits", {digit()}, len - 1, end - 1);
        b_.add_alternative(r, {GB::bytes(ByteSet::range('1', '9')), GB::ref(more)});
        len = end + 1;
        continue;
      }
      b_.add_alternative(r, {GB::ref(fixed_range(digits_of(a), digits_of(b)))});
      ++len;
    }
    return r;
  }

  struct IntBound {
    int64_t value;
    bool inclusive;
  };

  static Frac meet(Frac a, Frac b) {
    if (a == Frac::kAny) return b;
    if (b == Frac::kAny) return a;
    return a == b ? a : Frac::kNone;
  }

  // Magnitudes m = n.f (n integer, f a fraction) within the bounds on m, each
  // written after prefix: the integer part split where the bounds fall, with
  // the fractions each piece allows.
  void magnitudes(int32_t rule, const Seq& prefix, std::optional<IntBound> lo, std::optional<IntBound> hi,
                  bool integer_only) {
    const int64_t max_n = pow10(opt_.max_integer_digits) - 1;
    auto frac_at = [&](int64_t n) {
      Frac c = Frac::kAny;
      if (lo) {
        if (n < lo->value) return Frac::kNone;
        if (n == lo->value) c = lo->inclusive ? Frac::kAny : Frac::kNonZero;
      }
      if (hi) {
        if (n > hi->value) return Frac::kNone;
        if (n == hi->value) c = meet(c, hi->inclusive ? Frac::kZero : Frac::kNone);
      }
      return c;
    };
    std::vector<int64_t> cuts = {0, max_n + 1};
    for (const auto& b : {lo, hi})
      if (b)
        for (const int64_t c : {b->value, b->value + 1})
          if (c > 0 && c <= max_n) cuts.push_back(c);
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      const int64_t first = cuts[i];
      int64_t last = cuts[i + 1] - 1;
      const Frac c = frac_at(first);
      while (i + 2 < cuts.size() && frac_at(cuts[i + 1]) == c) last = cuts[++i + 1] - 1;  // same kind: one piece
      if (c == Frac::kNone || (integer_only && c == Frac::kNonZero)) continue;
      Seq s = prefix;
      s.push_back(GB::ref(natural_range(first, last)));
      if (!integer_only) s.push_back(GB::ref(fraction(c)));
      b_.add_alternative(rule, std::move(s));
    }
  }

  // Numbers within optional bounds (integers, or decimals without exponent).
  int32_t number_range(std::optional<IntBound> lo, std::optional<IntBound> hi, bool integer_only,
                       const std::string& path) {
    const int32_t r = b_.add_rule(path);
    // x >= 0, written without '-'.
    if (!hi || hi->value >= 0) {
      std::optional<IntBound> mlo = lo && lo->value >= 0 ? lo : std::nullopt;
      magnitudes(r, {}, mlo, hi, integer_only);
    }
    // x < 0, written '-' m with m > 0: x >= lo is m <= -lo, x <= hi is m >= -hi.
    if (!lo || lo->value < 0) {
      std::optional<IntBound> mhi;
      if (lo) mhi = IntBound{-lo->value, lo->inclusive};
      IntBound mlo{0, false};
      if (hi && hi->value < 0) mlo = IntBound{-hi->value, hi->inclusive};
      magnitudes(r, {GB::byte('-')}, mlo, mhi, integer_only);
    }
    return r;
  }

  int32_t numeric_rule(const Json& s, const std::string& path, bool integer) {
    struct Raw {
      double value;
      bool exclusive;
      const char* key;
    };
    std::optional<Raw> lo, hi;
    if (s.contains("minimum")) lo = Raw{s["minimum"].get<double>(), false, "minimum"};
    if (s.contains("exclusiveMinimum")) {
      const double v = s["exclusiveMinimum"].get<double>();
      if (!lo || v >= lo->value) lo = Raw{v, true, "exclusiveMinimum"};
    }
    if (s.contains("maximum")) hi = Raw{s["maximum"].get<double>(), false, "maximum"};
    if (s.contains("exclusiveMaximum")) {
      const double v = s["exclusiveMaximum"].get<double>();
      if (!hi || v <= hi->value) hi = Raw{v, true, "exclusiveMaximum"};
    }
    if (!lo && !hi) return integer ? integer_any() : number_any();
    // Beyond the digits the grammar writes anyway: clamp, keeping int64 safe.
    auto clamp = [](double v) { return std::clamp(v, -1e18, 1e18); };
    std::optional<IntBound> ilo, ihi;
    if (integer) {
      if (lo) ilo = IntBound{static_cast<int64_t>(lo->exclusive ? std::floor(clamp(lo->value)) + 1 : std::ceil(clamp(lo->value))), true};
      if (hi) ihi = IntBound{static_cast<int64_t>(hi->exclusive ? std::ceil(clamp(hi->value)) - 1 : std::floor(clamp(hi->value))), true};
    } else {
      for (const auto* b : {&lo, &hi})
        if (*b && std::floor((*b)->value) != (*b)->value)
          refuse(at(path, (*b)->key), std::string((*b)->key) + " " + Json((*b)->value).dump() +
                                          " on a number is not supported (only whole-number bounds are)");
      if (lo) ilo = IntBound{static_cast<int64_t>(clamp(lo->value)), !lo->exclusive};
      if (hi) ihi = IntBound{static_cast<int64_t>(clamp(hi->value)), !hi->exclusive};
    }
    return number_range(ilo, ihi, integer, path);
  }

  // ---- strings ----

  int32_t quoted(const std::string& name, Seq content) {
    Seq s = {GB::byte('"')};
    GB::append(s, content);
    s.push_back(GB::byte('"'));
    return b_.add_rule(name, {std::move(s)});
  }

  int32_t string_rule(const Json& s, const std::string& path) {
    if (s.contains("format")) {
      const std::string& f = s["format"].get_ref<const std::string&>();
      if (json_format_supported(f)) {
        if (s.contains("minLength") || s.contains("maxLength"))
          refuse(path, "minLength/maxLength together with format \"" + f + "\" is not supported");
        return format_rule(f);
      }
      if (!opt_.ignore_unknown_formats)
        throw Error(ErrorCode::kInvalidArgument,
                    "JSON schema keyword \"format\" at " + at(path, "format") + ": format \"" + f +
                        "\" is not supported by constrained decoding (supported: date, time, date-time, uuid, "
                        "ipv4, email, hostname)");
    }
    const int64_t min = s.contains("minLength") ? static_cast<int64_t>(s["minLength"].get<double>()) : 0;
    const int64_t max = s.contains("maxLength") ? static_cast<int64_t>(s["maxLength"].get<double>()) : -1;
    if (min == 0 && max < 0) return string_any();
    if (max >= 0 && max < min) return nothing();
    for (const auto& [key, v] : {std::pair{"minLength", min}, std::pair{"maxLength", max}})
      if (v > GB::kMaxRepeat)
        refuse(at(path, key), std::string(key) + " above " + std::to_string(GB::kMaxRepeat) + " is not supported");
    const int32_t chars = b_.repeat(path + " chars", {GB::ref(json_char())}, min, max);
    return quoted(path, {GB::ref(chars)});
  }

  int32_t format_rule(const std::string& f) {
    if (auto it = formats_.find(f); it != formats_.end()) return it->second;
    Seq content;
    const GB::Symbol d = digit();
    auto seq = [](std::initializer_list<Seq> parts) {
      Seq s;
      for (const Seq& p : parts) GB::append(s, p);
      return s;
    };
    if (f == "date" || f == "date-time") {
      content = {GB::ref(date())};
    }
    if (f == "time" || f == "date-time") {
      const int32_t hour = b_.add_rule("hour", {{GB::bytes(ByteSet::of_chars("01")), d}, {GB::byte('2'), GB::bytes(ByteSet::range('0', '3'))}});
      const int32_t minute = b_.add_rule("minute", {{GB::bytes(ByteSet::range('0', '5')), d}});
      const int32_t frac = b_.repeat("second-fraction", {d}, 1, 9);
      const int32_t offset = b_.add_rule("offset", {GB::literal("Z"), {GB::bytes(ByteSet::of_chars("+-")), GB::ref(hour), GB::byte(':'), GB::ref(minute)}});
      const int32_t time = b_.add_rule("time", {{GB::ref(hour), GB::byte(':'), GB::ref(minute), GB::byte(':'), GB::ref(minute),
                                                 GB::ref(b_.add_rule("second-fraction?", {{GB::byte('.'), GB::ref(frac)}, {}})),
                                                 GB::ref(offset)}});
      if (f == "date-time") content.push_back(GB::byte('T'));
      content.push_back(GB::ref(time));
    }
    if (f == "uuid") {
      for (const int n : {8, 4, 4, 4, 12}) {
        if (!content.empty()) content.push_back(GB::byte('-'));
        for (int i = 0; i < n; ++i) content.push_back(hex());
      }
    }
    if (f == "ipv4") {
      const int32_t octet = b_.add_rule("octet", {{d},
                                                  {GB::bytes(ByteSet::range('1', '9')), d},
                                                  seq({GB::literal("1"), {d, d}}),
                                                  seq({GB::literal("2"), {GB::bytes(ByteSet::range('0', '4')), d}}),
                                                  seq({GB::literal("25"), {GB::bytes(ByteSet::range('0', '5'))}})});
      content = {GB::ref(octet), GB::byte('.'), GB::ref(octet), GB::byte('.'), GB::ref(octet), GB::byte('.'), GB::ref(octet)};
    }
    if (f == "hostname" || f == "email") {
      // Labels of 1..40 letters, digits and inner hyphens, at most six of them
      // (so the name stays under 253 bytes).
      const ByteSet alnum = ByteSet::range('0', '9').add_range('a', 'z').add_range('A', 'Z');
      const int32_t inner = b_.repeat("label-inner", {GB::bytes(ByteSet(alnum).add('-'))}, 0, 38);
      const int32_t label = b_.add_rule("label", {{GB::bytes(alnum), GB::ref(inner), GB::bytes(alnum)}, {GB::bytes(alnum)}});
      const int32_t more = b_.repeat("labels", {GB::byte('.'), GB::ref(label)}, f == "email" ? 1 : 0, 5);
      if (f == "email") {
        const int32_t atom = b_.repeat("atom", {GB::bytes(ByteSet(alnum).add(ByteSet::of_chars("!#$%&'*+/=?^_`{|}~-")))}, 1, 15);
        const int32_t atoms = b_.repeat("atoms", {GB::byte('.'), GB::ref(atom)}, 0, 3);
        content = {GB::ref(atom), GB::ref(atoms), GB::byte('@')};
      }
      content.push_back(GB::ref(label));
      content.push_back(GB::ref(more));
    }
    const int32_t r = quoted("format " + f, content);
    formats_[f] = r;
    return r;
  }

  // YYYY-MM-DD with the days each month has, February 29 in leap years only.
  int32_t date() {
    if (date_ >= 0) return date_;
    const GB::Symbol d = digit();
    const GB::Symbol d1_9 = GB::bytes(ByteSet::range('1', '9'));
    const int32_t day28 = b_.add_rule("day28", {{GB::byte('0'), d1_9}, {GB::byte('1'), d}, {GB::byte('2'), GB::bytes(ByteSet::range('0', '8'))}});
    const int32_t day30 = b_.add_rule("day30", {{GB::byte('0'), d1_9}, {GB::bytes(ByteSet::of_chars("12")), d}, GB::literal("30")});
    const int32_t day31 = b_.add_rule("day31", {{GB::byte('0'), d1_9}, {GB::bytes(ByteSet::of_chars("12")), d}, {GB::byte('3'), GB::bytes(ByteSet::of_chars("01"))}});
    const int32_t month_day = b_.add_rule("month-day");
    for (const char* m : {"01", "03", "05", "07", "08", "10", "12"}) {
      Seq s = GB::literal(std::string(m) + "-");
      s.push_back(GB::ref(day31));
      b_.add_alternative(month_day, s);
    }
    for (const char* m : {"04", "06", "09", "11"}) {
      Seq s = GB::literal(std::string(m) + "-");
      s.push_back(GB::ref(day30));
      b_.add_alternative(month_day, s);
    }
    {
      Seq s = GB::literal("02-");
      s.push_back(GB::ref(day28));
      b_.add_alternative(month_day, s);
    }
    // Divisible by 4: the last two digits are; not by 100 unless by 400.
    const int32_t by4 = b_.add_rule("two-digits-by-4", {{GB::bytes(ByteSet::of_chars("02468")), GB::bytes(ByteSet::of_chars("048"))},
                                                         {GB::bytes(ByteSet::of_chars("13579")), GB::bytes(ByteSet::of_chars("26"))}});
    const int32_t by4_not0 = b_.add_rule("two-digits-by-4-not-00", {{GB::byte('0'), GB::bytes(ByteSet::of_chars("48"))},
                                                                    {GB::bytes(ByteSet::of_chars("2468")), GB::bytes(ByteSet::of_chars("048"))},
                                                                    {GB::bytes(ByteSet::of_chars("13579")), GB::bytes(ByteSet::of_chars("26"))}});
    const int32_t leap = b_.add_rule("leap-year", {{d, d, GB::ref(by4_not0)}, {GB::ref(by4), GB::byte('0'), GB::byte('0')}});
    Seq feb29 = {GB::ref(leap)};
    GB::append(feb29, GB::literal("-02-29"));
    date_ = b_.add_rule("date", {{d, d, d, d, GB::byte('-'), GB::ref(month_day)}, feb29});
    return date_;
  }

  // ---- objects ----

  // Keys of ASCII characters (no escapes) other than the given names, so an
  // extra property can never repeat a listed one.
  int32_t key_not_in(const std::vector<std::string>& names) {
    const ByteSet key_chars = ByteSet::range(0x20, 0x7e).remove('"').remove('\\');
    const int32_t any_rest = b_.repeat("key-chars", {GB::bytes(key_chars)}, 0, -1);
    struct Node {
      std::map<uint8_t, size_t> children;
      bool end = false;
    };
    std::vector<Node> trie(1);
    for (const std::string& n : names) {
      if (!std::all_of(n.begin(), n.end(), [&](char c) { return key_chars.test(static_cast<uint8_t>(c)); })) continue;
      size_t v = 0;
      for (const char c : n) {
        const auto b = static_cast<uint8_t>(c);
        auto it = trie[v].children.find(b);
        if (it == trie[v].children.end()) {
          trie.push_back({});
          it = trie[v].children.emplace(b, trie.size() - 1).first;
        }
        v = it->second;
      }
      trie[v].end = true;
    }
    std::vector<int32_t> rules(trie.size());
    for (size_t v = 0; v < trie.size(); ++v) rules[v] = b_.add_rule("key-not-listed");
    for (size_t v = 0; v < trie.size(); ++v) {
      if (!trie[v].end) b_.add_alternative(rules[v], {});
      ByteSet other = key_chars;
      for (const auto& [b, child] : trie[v].children) {
        b_.add_alternative(rules[v], {GB::byte(b), GB::ref(rules[child])});
        other.remove(b);
      }
      if (!other.empty()) b_.add_alternative(rules[v], {GB::bytes(other), GB::ref(any_rest)});
    }
    return quoted("extra-key", {GB::ref(rules[0])});
  }

  int32_t object_rule(const Json& s, const std::string& path, int depth) {
    const Json* extra = s.contains("additionalProperties") ? &s["additionalProperties"] : nullptr;
    const bool extra_false = extra && is_false(*extra);
    const bool extra_schema = extra && !extra_false && !trivially_true(*extra);
    std::vector<std::string> required;
    if (s.contains("required"))
      for (const Json& n : s["required"])
        if (std::find(required.begin(), required.end(), n.get<std::string>()) == required.end())
          required.push_back(n.get<std::string>());
    auto is_required = [&](const std::string& n) { return std::find(required.begin(), required.end(), n) != required.end(); };

    struct Listed {
      std::string name;
      int32_t value;
      bool required;
    };
    std::vector<Listed> listed;
    std::vector<std::string> names;
    if (s.contains("properties"))
      for (const auto& [name, sub] : s["properties"].items()) {
        listed.push_back({name, compile(sub, at(at(path, "properties"), name), depth + 1), is_required(name)});
        names.push_back(name);
      }
    for (const std::string& n : required) {
      if (std::find(names.begin(), names.end(), n) != names.end()) continue;
      if (extra_false)
        refuse(at(path, "required"), "the required property \"" + n +
                                         "\" is not in properties and additionalProperties is false");
      const int32_t v = extra_schema ? compile(*extra, at(path, "additionalProperties"), depth + 1) : value_any();
      listed.push_back({n, v, true});
      names.push_back(n);
    }

    if (listed.empty()) {
      if (extra_false) return b_.add_rule(path, {GB::literal("{}")});
      if (!extra_schema) return object_any();
      const int32_t member = b_.add_rule(path + " member");
      Seq kv = {GB::ref(string_any()), GB::byte(':')};
      separator(kv);
      kv.push_back(GB::ref(compile(*extra, at(path, "additionalProperties"), depth + 1)));
      b_.add_alternative(member, kv);
      return b_.add_rule(path, {{GB::byte('{'), GB::ref(comma_list(member, path + " members")), GB::byte('}')}});
    }

    auto member = [&](const std::string& name, int32_t value) {
      Seq kv = GB::literal(Json(name).dump());
      kv.push_back(GB::byte(':'));
      separator(kv);
      kv.push_back(GB::ref(value));
      return kv;
    };
    auto comma = [&](Seq s) {
      Seq c = {GB::byte(',')};
      separator(c);
      GB::append(c, s);
      return c;
    };
    // rest: what may follow once something was written; first: before anything
    // was. -1: nothing more.
    int32_t rest = -1, first = -1;
    if (extra_schema) {
      Seq kv = {GB::ref(key_not_in(names)), GB::byte(':')};
      separator(kv);
      kv.push_back(GB::ref(compile(*extra, at(path, "additionalProperties"), depth + 1)));
      const int32_t extra_kv = b_.add_rule(path + " extra", {kv});
      rest = b_.repeat(path + " extras", comma({GB::ref(extra_kv)}), 0, -1);
      first = b_.add_rule(path + " extras", {{GB::ref(extra_kv), GB::ref(rest)}, {}});
    }
    auto then = [](Seq s, int32_t r) {
      if (r >= 0) s.push_back(GB::ref(r));
      return s;
    };
    for (size_t i = listed.size(); i-- > 0;) {
      const Seq kv = member(listed[i].name, listed[i].value);
      const int32_t next_rest = b_.add_rule(path + " after " + listed[i].name, {then(comma(kv), rest)});
      const int32_t next_first = b_.add_rule(path + " from " + listed[i].name, {then(kv, rest)});
      if (!listed[i].required) {
        b_.add_alternative(next_rest, then({}, rest));
        b_.add_alternative(next_first, then({}, first));
      }
      rest = next_rest;
      first = next_first;
    }
    return b_.add_rule(path, {{GB::byte('{'), GB::ref(first), GB::byte('}')}});
  }

  // ---- arrays ----

  int32_t array_rule(const Json& s, const std::string& path, int depth) {
    const Json* prefix = nullptr;
    std::string prefix_key;
    const Json* rest = nullptr;
    std::string rest_path;
    if (s.contains("prefixItems")) {
      prefix = &s["prefixItems"];
      prefix_key = "prefixItems";
      if (s.contains("items")) rest = &s["items"], rest_path = at(path, "items");
    } else if (s.contains("items") && s["items"].is_array()) {
      prefix = &s["items"];
      prefix_key = "items";
      if (s.contains("additionalItems")) rest = &s["additionalItems"], rest_path = at(path, "additionalItems");
    } else if (s.contains("items")) {
      rest = &s["items"];
      rest_path = at(path, "items");
    }
    const int64_t k = prefix ? static_cast<int64_t>(prefix->size()) : 0;
    const int64_t min = s.contains("minItems") ? static_cast<int64_t>(s["minItems"].get<double>()) : 0;
    int64_t max = s.contains("maxItems") ? static_cast<int64_t>(s["maxItems"].get<double>()) : -1;
    for (const auto& [key, v] : {std::pair{"minItems", min}, std::pair{"maxItems", max}})
      if (v > GB::kMaxRepeat)
        refuse(at(path, key), std::string(key) + " above " + std::to_string(GB::kMaxRepeat) + " is not supported");
    if (rest && is_false(*rest)) max = max < 0 ? k : std::min(max, k);
    if (max >= 0 && max < min) return nothing();

    std::vector<int32_t> items;  // the prefix items' rules
    for (int64_t i = 0; i < k && (max < 0 || i < max); ++i)
      items.push_back(compile((*prefix)[static_cast<size_t>(i)], at(path, prefix_key, static_cast<size_t>(i)), depth + 1));
    int32_t rest_item = -1;
    const int64_t full = std::max(k, min);  // from here on items are optional and alike
    if (max < 0 || max > k) rest_item = rest ? compile(*rest, rest_path, depth + 1) : value_any();
    auto item = [&](int64_t i) { return i < k ? items[static_cast<size_t>(i)] : rest_item; };
    auto comma = [&](int32_t r) {
      Seq c = {GB::byte(',')};
      separator(c);
      c.push_back(GB::ref(r));
      return c;
    };

    // after(i): what may follow once i >= 1 items were written (-1: nothing).
    // From `tail` on, items are optional and alike: one bounded or unbounded
    // repetition; before it, one rule per position.
    const int64_t tail = std::max<int64_t>(full, 1);
    const int64_t stop = max >= 0 ? std::min(max, tail) : tail;
    int32_t after = -1;
    if (stop == tail && (max < 0 || max > tail))
      after = b_.repeat(path + " more", comma(rest_item), 0, max < 0 ? -1 : max - tail);
    for (int64_t i = stop - 1; i >= 1; --i) {
      Seq more = comma(item(i));
      if (after >= 0) more.push_back(GB::ref(after));
      const int32_t r = b_.add_rule(path + " after " + std::to_string(i), {more});
      if (i >= min) b_.add_alternative(r, {});
      after = r;
    }
    const int32_t r = b_.add_rule(path);
    if (min == 0) b_.add_alternative(r, GB::literal("[]"));
    if (max != 0) {
      Seq first = {GB::byte('['), GB::ref(item(0))};
      if (after >= 0) first.push_back(GB::ref(after));
      first.push_back(GB::byte(']'));
      b_.add_alternative(r, first);
    }
    return r;
  }

  // ---- combinators ----

  int32_t ref_rule(const std::string& ref, const std::string& path, int depth) {
    if (auto it = refs_.find(ref); it != refs_.end()) return it->second;
    const Json& target = json_schema_resolve_ref(root_, ref, path);
    const int32_t r = b_.add_rule(ref);
    refs_[ref] = r;
    b_.add_alternative(r, {GB::ref(compile(target, ref, depth + 1))});
    return r;
  }

  // s without a top-level $ref or allOf: the referenced schema and allOf's
  // branches merged into it.
  Json flatten(const Json& s, const std::string& path, int hops) {
    if (hops > kMaxFlattenHops)
      refuse(path, "$ref/allOf resolve through more than " + std::to_string(kMaxFlattenHops) +
                       " schemas (a recursive allOf?); this cannot be merged into one schema");
    if (s.is_boolean()) return s;
    json_schema_check_keywords(s, path);
    Json out = s;
    out.erase("$ref");
    out.erase("allOf");
    out = canonical(std::move(out));
    if (s.contains("$ref")) {
      const std::string& ref = s["$ref"].get_ref<const std::string&>();
      out = merge(flatten(json_schema_resolve_ref(root_, ref, path), ref, hops + 1), out, path);
    }
    if (s.contains("allOf"))
      for (size_t i = 0; i < s["allOf"].size(); ++i)
        out = merge(out, flatten(s["allOf"][i], at(path, "allOf", i), hops + 1), path);
    return out;
  }

  // a and b together: one flat allOf without repeats, so merging recursive
  // schemas level after level reaches the same content again (and the memo of
  // merged schemas closes the recursion).
  static Json both(const Json& a, const Json& b) {
    if (a == b) return a;
    if (trivially_true(a)) return b;
    if (trivially_true(b)) return a;
    if (is_false(a) || is_false(b)) return false;
    Json all = Json::array();
    for (const Json* s : {&a, &b}) {
      const bool plain_all_of = s->is_object() && s->size() == 1 && s->contains("allOf");
      for (const Json& part : plain_all_of ? (*s)["allOf"] : Json::array({*s}))
        if (std::find(all.begin(), all.end(), part) == all.end()) all.push_back(part);
    }
    if (all.size() == 1) return all[0];
    return Json{{"allOf", all}};
  }

  // One schema that validates what both a and b validate (both flattened).
  Json merge(const Json& a, const Json& b, const std::string& path) {
    if (a.is_boolean()) return a.get<bool>() ? b : Json(false);
    if (b.is_boolean()) return b.get<bool>() ? a : Json(false);
    Json out = a;
    for (const auto& [k, v] : b.items()) {
      if (json_schema_is_descriptive(k) || k == "uniqueItems") continue;
      const bool positional = k == "items" || k == "prefixItems" || k == "additionalItems";
      if (!out.contains(k) || k == "properties" || k == "additionalProperties" || positional) {
        if (k != "properties" && k != "additionalProperties" && !positional) out[k] = v;
        continue;
      }
      Json& o = out[k];
      if (k == "type") {
        const unsigned bits = type_bits(Json{{"type", o}}) & type_bits(Json{{"type", v}});
        if (bits == 0) return false;
        Json types = Json::array();
        for (const auto& [name, bit] : {std::pair{"object", kObject}, std::pair{"array", kArray},
                                        std::pair{"string", kString}, std::pair{"boolean", kBool},
                                        std::pair{"null", kNull}})
          if (bits & bit) types.push_back(name);
        if ((bits & (kInt | kFrac)) == (kInt | kFrac)) types.push_back("number");
        else if (bits & kInt) types.push_back("integer");
        o = types;
      } else if (k == "required") {
        for (const Json& n : v)
          if (std::find(o.begin(), o.end(), n) == o.end()) o.push_back(n);
      } else if (k == "enum") {
        Json kept = Json::array();
        for (const Json& x : o)
          if (std::find(v.begin(), v.end(), x) != v.end()) kept.push_back(x);
        o = kept;
      } else if (k == "const") {
        if (o != v) return false;
      } else if (k == "minLength" || k == "minItems" || k == "minimum" || k == "exclusiveMinimum") {
        if (v > o) o = v;
      } else if (k == "maxLength" || k == "maxItems" || k == "maximum" || k == "exclusiveMaximum") {
        if (v < o) o = v;
      } else if (k == "format") {
        if (o != v) refuse(path, "allOf combining formats " + o.dump() + " and " + v.dump() + " is not supported");
      } else if (k == "anyOf") {
        if (o.size() * v.size() > kMaxAnyOfProduct)
          refuse(path, "allOf combining anyOf lists of " + std::to_string(o.size()) + " and " +
                           std::to_string(v.size()) + " branches is too large");
        Json product = Json::array();
        for (const Json& x : o)
          for (const Json& y : v) product.push_back(both(x, y));
        o = product;
      } else if (k == "oneOf") {
        refuse(path, "allOf with \"" + k + "\" in more than one branch is not supported");
      }
    }
    // A property one side does not list is subject to that side's
    // additionalProperties, so each name gets both sides' schemas.
    if (has_any(a, {"properties", "additionalProperties"}) || has_any(b, {"properties", "additionalProperties"})) {
      const Json empty = Json::object();
      const Json& pa = a.contains("properties") ? a["properties"] : empty;
      const Json& pb = b.contains("properties") ? b["properties"] : empty;
      const Json xa = a.contains("additionalProperties") ? a["additionalProperties"] : Json(true);
      const Json xb = b.contains("additionalProperties") ? b["additionalProperties"] : Json(true);
      Json props = Json::object();
      for (const auto& [name, sa] : pa.items()) props[name] = both(sa, pb.contains(name) ? pb[name] : xb);
      for (const auto& [name, sb] : pb.items())
        if (!pa.contains(name)) props[name] = both(xa, sb);
      if (props.empty()) out.erase("properties");
      else out["properties"] = props;
      const Json extra = both(xa, xb);
      if (trivially_true(extra)) out.erase("additionalProperties");
      else out["additionalProperties"] = extra;
    }
    // Likewise each array position gets both sides' schemas for it.
    if (has_any(a, {"items", "prefixItems"}) || has_any(b, {"items", "prefixItems"})) {
      auto split = [](const Json& s) {
        std::pair<Json, Json> pr{Json::array(), Json(true)};  // prefix, rest
        if (s.contains("prefixItems")) {
          pr.first = s["prefixItems"];
          if (s.contains("items")) pr.second = s["items"];
        } else if (s.contains("items") && s["items"].is_array()) {
          pr.first = s["items"];
          if (s.contains("additionalItems")) pr.second = s["additionalItems"];
        } else if (s.contains("items")) {
          pr.second = s["items"];
        }
        return pr;
      };
      const auto [pa, ra] = split(a);
      const auto [pb, rb] = split(b);
      Json prefix = Json::array();
      for (size_t i = 0; i < std::max(pa.size(), pb.size()); ++i)
        prefix.push_back(both(i < pa.size() ? pa[i] : ra, i < pb.size() ? pb[i] : rb));
      const Json rest = both(ra, rb);
      out.erase("items");
      out.erase("prefixItems");
      out.erase("additionalItems");
      if (!prefix.empty()) out["prefixItems"] = prefix;
      if (!trivially_true(rest)) out["items"] = rest;
    }
    return out;
  }

  // What a schema accepts, coarsely, to prove that no value validates against
  // two oneOf branches.
  struct Shape {
    unsigned types = 0;
    bool literal = false;        // values lists every value it allows
    std::vector<Json> values;
    std::map<std::string, std::vector<Json>> tags;  // required properties with fixed values
  };

  Shape shape_of(const Json& schema, const std::string& path, int depth = 0) {
    Shape sh;
    if (depth > 8) {  // deep or recursive: assume it can be anything
      sh.types = kAllTypes;
      return sh;
    }
    if (schema.is_boolean()) {
      sh.types = schema.get<bool>() ? kAllTypes : 0;
      sh.literal = !schema.get<bool>();
      return sh;
    }
    const Json s = flatten(schema, path, 0);
    if (s.is_boolean()) return shape_of(s, path, depth + 1);
    if (s.contains("enum") || s.contains("const")) {
      sh.literal = true;
      if (s.contains("enum")) {
        for (const Json& v : s["enum"])
          if (!s.contains("const") || s["const"] == v) sh.values.push_back(v);
      } else {
        sh.values.push_back(s["const"]);
      }
      for (const Json& v : sh.values) sh.types |= value_bits(v);
      return sh;
    }
    for (const char* key : {"anyOf", "oneOf"})
      if (s.contains(key)) {
        sh.literal = true;
        for (size_t i = 0; i < s[key].size(); ++i) {
          const Shape b = shape_of(s[key][i], at(path, key, i), depth + 1);
          sh.types |= b.types;
          sh.literal = sh.literal && b.literal;
          sh.values.insert(sh.values.end(), b.values.begin(), b.values.end());
        }
        if (!sh.literal) sh.values.clear();
        sh.types &= accepted_type_bits(s);
        return sh;
      }
    sh.types = accepted_type_bits(s);
    if (sh.types == kObject && s.contains("required") && s.contains("properties"))
      for (const Json& n : s["required"]) {
        const std::string name = n.get<std::string>();
        if (!s["properties"].contains(name)) continue;
        const Shape p = shape_of(s["properties"][name], at(at(path, "properties"), name), depth + 1);
        if (p.literal) sh.tags[name] = p.values;
      }
    return sh;
  }

  bool disjoint(const Json& a, const std::string& pa, const Json& b, const std::string& pb) {
    const Shape sa = shape_of(a, pa), sb = shape_of(b, pb);
    if ((sa.types & sb.types) == 0) return true;
    auto none_match = [&](const Shape& lit, const Json& other, const std::string& po) {
      for (const Json& v : lit.values)
        if (!validator_.check(other, po, v)) return false;
      return true;
    };
    if (sa.literal && none_match(sa, b, pb)) return true;
    if (sb.literal && none_match(sb, a, pa)) return true;
    if ((sa.types & sb.types) == kObject)
      for (const auto& [name, va] : sa.tags) {
        const auto it = sb.tags.find(name);
        if (it == sb.tags.end()) continue;
        bool shared = false;
        for (const Json& x : va) shared = shared || std::find(it->second.begin(), it->second.end(), x) != it->second.end();
        if (!shared) return true;
      }
    return false;
  }

  int32_t alternatives(const Json& s, const std::string& path, int depth) {
    const char* key = s.contains("anyOf") ? "anyOf" : "oneOf";
    Json rest = s;
    rest.erase(key);
    const bool merge_rest = has_validating_keywords(rest);
    std::vector<Json> branches;
    std::vector<std::string> paths;
    for (size_t i = 0; i < s[key].size(); ++i) {
      paths.push_back(at(path, key, i));
      const Json& b = s[key][i];
      branches.push_back(merge_rest ? merge(rest, flatten(b, paths.back(), 0), path) : b);
    }
    if (std::string_view(key) == "oneOf")
      for (size_t i = 0; i < branches.size(); ++i)
        for (size_t j = i + 1; j < branches.size(); ++j)
          if (!disjoint(branches[i], paths[i], branches[j], paths[j]))
            throw Error(ErrorCode::kInvalidArgument,
                        "JSON schema keyword \"oneOf\" at " + at(path, "oneOf") + ": branches " + std::to_string(i) +
                            " and " + std::to_string(j) +
                            " may both match a value, which constrained decoding cannot rule out; use anyOf, or "
                            "make them differ in type or in a required constant property");
    const int32_t r = b_.add_rule(path);
    for (size_t i = 0; i < branches.size(); ++i) b_.add_alternative(r, {GB::ref(compile(branches[i], paths[i], depth + 1))});
    return r;
  }

  int32_t literals(const Json& s, const std::string& path) {
    std::vector<Json> values;
    if (s.contains("enum")) {
      for (const Json& v : s["enum"])
        if (!s.contains("const") || s["const"] == v) values.push_back(v);
    } else {
      values.push_back(s["const"]);
    }
    Json rest = s;
    rest.erase("enum");
    rest.erase("const");
    const int32_t r = b_.add_rule(path);
    std::vector<std::string> seen;
    for (const Json& v : values) {
      if (validator_.check(rest, path, v)) continue;  // another keyword rules it out
      std::string text = v.dump();
      if (std::find(seen.begin(), seen.end(), text) != seen.end()) continue;
      b_.add_alternative(r, GB::literal(text));
      seen.push_back(std::move(text));
    }
    return r;
  }

  int32_t type_rule(unsigned bit, const Json& s, const std::string& path, int depth) {
    switch (bit) {
      case kNull: return null_rule();
      case kBool: return boolean();
      case kString: return string_rule(s, path);
      case kInt: return numeric_rule(s, path, true);
      case kInt | kFrac: return numeric_rule(s, path, false);
      case kObject: return object_rule(s, path, depth);
      default: return array_rule(s, path, depth);
    }
  }

  const Json& root_;
  JsonGrammarOptions opt_;
  JsonSchemaValidator validator_;
  GrammarBuilder b_;
  std::map<std::string, int32_t> refs_, merged_, fixed_, ranges_, formats_;
  int32_t value_ = -1, object_ = -1, array_ = -1, string_ = -1, char_ = -1, number_ = -1, integer_ = -1;
  int32_t natural_ = -1, boolean_ = -1, null_ = -1, nothing_ = -1, space_ = -1, date_ = -1;
  int32_t frac_[4] = {-1, -1, -1, -1};
};

void check_options(const JsonGrammarOptions& o) {
  auto in = [](int v, int lo, int hi, const char* what) {
    if (v < lo || v > hi)
      throw Error(ErrorCode::kInvalidArgument, std::string("JSON grammar option ") + what + " must be within " +
                                                   std::to_string(lo) + ".." + std::to_string(hi));
  };
  in(o.max_integer_digits, 1, 18, "max_integer_digits");
  in(o.max_fraction_digits, 1, 64, "max_fraction_digits");
  in(o.max_exponent_digits, 1, 4, "max_exponent_digits");
}

Grammar build_schema_grammar(Compiler& c, int32_t top) {
  GrammarBuilder& b = c.builder();
  const int32_t root = b.add_rule("root", {{GB::ref(top)}});
  try {
    return b.build(root);
  } catch (const Error& e) {
    const std::string what = e.what();
    if (what.find("left-recursive") != std::string::npos)
      throw Error(ErrorCode::kInvalidArgument,
                  "JSON schema refers to itself without nesting (a $ref cycle through anyOf/oneOf), so no value "
                  "ends: " + what);
    throw Error(ErrorCode::kInvalidArgument,
                "JSON schema at # admits no JSON value the grammar can write (a false schema, an empty enum, "
                "contradictory bounds, or a recursion that never ends): " + what);
  }
}

}  // namespace

Grammar json_value_grammar(const JsonGrammarOptions& options) {
  check_options(options);
  const Json any = true;
  Compiler c(any, options);
  return build_schema_grammar(c, c.value_any());
}

Grammar json_object_grammar(const JsonGrammarOptions& options) {
  check_options(options);
  const Json any = true;
  Compiler c(any, options);
  return build_schema_grammar(c, c.object_any());
}

Grammar grammar_from_json_schema(const nlohmann::ordered_json& schema, const JsonGrammarOptions& options) {
  check_options(options);
  Compiler c(schema, options);
  c.check_document();
  return build_schema_grammar(c, c.compile(schema, "#", 0));
}

}  // namespace hearth::runtime
