#include "runtime/jinja_builtins.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace hearth::runtime::jinja {
namespace {

using FilterFn = Value (*)(const Value& input, CallArgs& args);
using TestFn = bool (*)(const Value& input, CallArgs& args);

// ---- small helpers -------------------------------------------------------

bool is_py_space(char c) {
  const auto u = static_cast<unsigned char>(c);
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || (u >= 0x1c && u <= 0x1f);
}
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
// Python's \w also matches non-ASCII letters; counting every non-ASCII byte as a
// word character is the closest byte-level rule.
bool is_word(char c) { return is_alpha(c) || is_digit(c) || c == '_' || static_cast<unsigned char>(c) >= 0x80; }
char to_upper(char c) { return c >= 'a' && c <= 'z' ? static_cast<char>(c - 32) : c; }
char to_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }

std::string upper(std::string s) {
  for (char& c : s) c = to_upper(c);
  return s;
}
std::string lower(std::string s) {
  for (char& c : s) c = to_lower(c);
  return s;
}

std::string capitalize(const std::string& s) {
  std::string out = lower(s);
  if (!out.empty()) out[0] = to_upper(out[0]);
  return out;
}

// jinja2's title filter: words start after whitespace, '-', '(', '{', '[' or '<'.
std::string title_filter(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  bool start = true;
  for (char c : s) {
    const bool delimiter = is_py_space(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
    out += start ? to_upper(c) : to_lower(c);
    start = delimiter;
  }
  return out;
}

// Python's str.title(): a letter after a non-letter starts a word.
std::string title_method(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  bool prev_letter = false;
  for (char c : s) {
    out += prev_letter ? to_lower(c) : to_upper(c);
    prev_letter = is_alpha(c);
  }
  return out;
}

std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
  auto drop = [&](char c) {
    if (chars.is_undefined() || chars.is_none()) return is_py_space(c);
    return chars.as_string().find(c) != std::string::npos;
  };
  if (!chars.is_undefined() && !chars.is_none() && !chars.is_string()) {
    throw JinjaError("strip arg must be None or str, not " + chars.type_name());
  }
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e && drop(s[b])) ++b;
  }
  if (right) {
    while (e > b && drop(s[e - 1])) --e;
  }
  return s.substr(b, e - b);
}

std::string replace_all(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` around every character
    const auto chars = utf8_chars(s);
    int64_t done = 0;
    for (const auto& ch : chars) {
      if (count < 0 || done < count) {
        out += to;
        ++done;
      }
      out += ch;
    }
    if (count < 0 || done < count) out += to;
    return out;
  }
  size_t pos = 0;
  int64_t done = 0;
  while (count < 0 || done < count) {
    const size_t hit = s.find(from, pos);
    if (hit == std::string::npos) break;
    out.append(s, pos, hit - pos);
    out += to;
    pos = hit + from.size();
    ++done;
  }
  out.append(s, pos);
  return out;
}

ValueList split(const std::string& s, const Value& sep, int64_t maxsplit, bool from_right) {
  ValueList parts;
  if (sep.is_undefined() || sep.is_none()) {
    // Runs of whitespace separate; leading and trailing whitespace gives no empty parts.
    std::vector<std::string> words;
    size_t i = 0;
    if (!from_right) {
      while (true) {
        while (i < s.size() && is_py_space(s[i])) ++i;
        if (i >= s.size()) break;
        if (maxsplit >= 0 && static_cast<int64_t>(words.size()) == maxsplit) {
          size_t e = s.size();
          while (e > i && is_py_space(s[e - 1])) --e;
          words.push_back(s.substr(i, e - i));
          break;
        }
        size_t e = i;
        while (e < s.size() && !is_py_space(s[e])) ++e;
        words.push_back(s.substr(i, e - i));
        i = e;
      }
    } else {
      size_t e = s.size();
      while (true) {
        while (e > 0 && is_py_space(s[e - 1])) --e;
        if (e == 0) break;
        if (maxsplit >= 0 && static_cast<int64_t>(words.size()) == maxsplit) {
          size_t b = 0;
          while (b < e && is_py_space(s[b])) ++b;
          words.push_back(s.substr(b, e - b));
          break;
        }
        size_t b = e;
        while (b > 0 && !is_py_space(s[b - 1])) --b;
        words.push_back(s.substr(b, e - b));
        e = b;
      }
      std::reverse(words.begin(), words.end());
    }
    for (auto& w : words) parts.emplace_back(std::move(w));
    return parts;
  }
  if (!sep.is_string()) throw JinjaError("split: separator must be a string, not " + sep.type_name());
  const std::string& d = sep.as_string();
  if (d.empty()) throw JinjaError("split: empty separator");
  std::vector<std::string> pieces;
  if (!from_right) {
    size_t pos = 0;
    while (maxsplit < 0 || static_cast<int64_t>(pieces.size()) < maxsplit) {
      const size_t hit = s.find(d, pos);
      if (hit == std::string::npos) break;
      pieces.push_back(s.substr(pos, hit - pos));
      pos = hit + d.size();
    }
    pieces.push_back(s.substr(pos));
  } else {
    size_t end = s.size();
    while (maxsplit < 0 || static_cast<int64_t>(pieces.size()) < maxsplit) {
      if (end < d.size()) break;
      const size_t hit = s.rfind(d, end - d.size());
      if (hit == std::string::npos) break;
      pieces.push_back(s.substr(hit + d.size(), end - hit - d.size()));
      end = hit;
    }
    pieces.push_back(s.substr(0, end));
    std::reverse(pieces.begin(), pieces.end());
  }
  for (auto& p : pieces) parts.emplace_back(std::move(p));
  return parts;
}

std::string escape_html(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&#34;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

const std::string& require_string(const Value& v, std::string_view what) {
  if (!v.is_string()) throw JinjaError(std::string(what) + " must be a string, not " + v.type_name());
  return v.as_string();
}

int64_t require_int(const Value& v, std::string_view what) {
  if (v.is_int() || v.is_bool()) return v.as_int();
  throw JinjaError(std::string(what) + " must be an integer, not " + v.type_name());
}

// A dotted attribute path as filters take it ("a.b", "items.0").
Value attribute_path(const Value& v, const std::string& path) {
  Value cur = v;
  size_t pos = 0;
  while (true) {
    const size_t dot = path.find('.', pos);
    const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    int64_t index = 0;
    const auto res = std::from_chars(part.data(), part.data() + part.size(), index);
    if (!part.empty() && res.ec == std::errc() && res.ptr == part.data() + part.size()) {
      cur = get_item(cur, Value(index));
    } else {
      cur = get_item(cur, Value(part));
    }
    if (dot == std::string::npos) return cur;
    pos = dot + 1;
  }
}

// Sorting and uniqueness ignore case by default in jinja2.
Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(lower(v.as_string()));
  return v;
}

Value key_of(const Value& item, const Value& attribute, bool case_sensitive) {
  Value k = item;
  if (!attribute.is_undefined() && !attribute.is_none()) {
    k = attribute.is_string() ? attribute_path(item, attribute.as_string()) : get_item(item, attribute);
  }
  return sort_key(k, case_sensitive);
}

std::optional<int64_t> parse_int(std::string s, int base) {
  s = strip(s, Value(), true, true);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  bool negative = false;
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) negative = s[i++] == '-';
  auto has_prefix = [&](char p) { return i + 1 < s.size() && s[i] == '0' && to_lower(s[i + 1]) == p; };
  if ((base == 16 && has_prefix('x')) || (base == 8 && has_prefix('o')) || (base == 2 && has_prefix('b'))) {
    i += 2;
  } else if (base == 0) {
    base = has_prefix('x') ? 16 : has_prefix('o') ? 8 : has_prefix('b') ? 2 : 10;
    if (base != 10) i += 2;
  }
  if (i >= s.size()) return std::nullopt;
  uint64_t magnitude = 0;
  const auto res = std::from_chars(s.data() + i, s.data() + s.size(), magnitude, base);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  if (magnitude > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  const auto v = static_cast<int64_t>(magnitude);
  return negative ? -v : v;
}

std::optional<double> parse_float(std::string s) {
  s = strip(s, Value(), true, true);
  s.erase(std::remove(s.begin(), s.end(), '_'), s.end());
  if (s.empty()) return std::nullopt;
  const std::string low = lower(s);
  const bool negative = low[0] == '-';
  const std::string body = (low[0] == '-' || low[0] == '+') ? low.substr(1) : low;
  if (body == "inf" || body == "infinity") return negative ? -INFINITY : INFINITY;
  if (body == "nan") return NAN;
  double v = 0;
  const char* first = s.data() + (s[0] == '+' ? 1 : 0);
  const auto res = std::from_chars(first, s.data() + s.size(), v);
  if (res.ec != std::errc() || res.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// Python's round(x, n): correctly rounded, ties to even; printf does the same
// on the exact binary value.
double round_float(double x, int64_t digits) {
  if (!std::isfinite(x)) return x;
  if (digits == 0) return std::nearbyint(x);
  if (digits > 300 || digits < -300) return digits > 0 ? x : 0.0 * x;
  if (digits < 0) {
    const double scale = std::pow(10.0, static_cast<double>(-digits));
    return std::nearbyint(x / scale) * scale;
  }
  char buf[720];  // room for 309 integer digits, the point and 300 decimals
  std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(digits), x);
  return std::strtod(buf, nullptr);
}

// ---- filters -------------------------------------------------------------

Value f_abs(const Value& in, CallArgs& args) {
  ArgReader(args, "abs", {});
  if (in.is_float()) return Value(std::fabs(in.as_float()));
  if (in.is_number()) return Value(in.as_int() < 0 ? -in.as_int() : in.as_int());
  throw JinjaError("bad operand type for abs(): '" + in.type_name() + "'");
}

Value f_attr(const Value& in, CallArgs& args) {
  ArgReader a(args, "attr", {"name"}, 1);
  const std::string& name = require_string(a.get(0), "attr name");
  // Python's getattr(): a dict's keys are not its attributes, a namespace's are.
  if (in.is_namespace()) return get_attr(in, name);
  return Value::undefined("'" + in.type_name() + " object' has no attribute '" + name + "'");
}

Value f_capitalize(const Value& in, CallArgs& args) {
  ArgReader(args, "capitalize", {});
  return Value(capitalize(in.str()));
}

Value f_length(const Value& in, CallArgs& args) {
  ArgReader(args, "length", {});
  switch (in.kind()) {
    case Value::Kind::kUndefined:
      return Value(0);
    case Value::Kind::kString:
      return Value(static_cast<int64_t>(utf8_length(in.as_string())));
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      return Value(static_cast<int64_t>(in.items().size()));
    case Value::Kind::kDict:
      return Value(static_cast<int64_t>(in.entries().size()));
    default:
      throw JinjaError("object of type '" + in.type_name() + "' has no len()");
  }
}

Value f_default(const Value& in, CallArgs& args) {
  ArgReader a(args, "default", {"default_value", "boolean"});
  const bool boolean = a.get(1).truthy();
  if (in.is_undefined() || (boolean && !in.truthy())) return a.has(0) ? a.get(0) : Value("");
  return in;
}

Value f_dictsort(const Value& in, CallArgs& args) {
  ArgReader a(args, "dictsort", {"case_sensitive", "by", "reverse"});
  if (!in.is_dict()) throw JinjaError("dictsort needs a dict, not " + in.type_name());
  const bool case_sensitive = a.get(0).truthy();
  const std::string by = a.has(1) ? require_string(a.get(1), "dictsort 'by'") : "key";
  if (by != "key" && by != "value") throw JinjaError("dictsort can only sort by \"key\" or \"value\"");
  const bool by_value = by == "value";
  ValueList pairs;
  for (const auto& [k, v] : in.entries().all()) pairs.push_back(Value::tuple({k, v}));
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& x, const Value& y) {
    const size_t i = by_value ? 1 : 0;
    return value_less(sort_key(x.items()[i], case_sensitive), sort_key(y.items()[i], case_sensitive));
  });
  if (a.get(2).truthy()) std::reverse(pairs.begin(), pairs.end());
  return Value::list(std::move(pairs));
}

Value f_escape(const Value& in, CallArgs& args) {
  ArgReader(args, "escape", {});
  return Value(escape_html(in.str()));
}

Value f_first(const Value& in, CallArgs& args) {
  ArgReader(args, "first", {});
  ValueList items = iterate(in);
  if (items.empty()) return Value::undefined("first: the sequence is empty");
  return items.front();
}

Value f_last(const Value& in, CallArgs& args) {
  ArgReader(args, "last", {});
  ValueList items = iterate(in);
  if (items.empty()) return Value::undefined("last: the sequence is empty");
  return items.back();
}

Value f_float(const Value& in, CallArgs& args) {
  ArgReader a(args, "float", {"default"});
  const Value fallback = a.has(0) ? a.get(0) : Value(0.0);
  if (in.is_number()) return Value(in.as_float());
  if (in.is_string()) {
    if (auto v = parse_float(in.as_string())) return Value(*v);
  }
  return fallback;
}

Value f_int(const Value& in, CallArgs& args) {
  ArgReader a(args, "int", {"default", "base"});
  const Value fallback = a.has(0) ? a.get(0) : Value(0);
  const int64_t base = a.has(1) ? require_int(a.get(1), "int base") : 10;
  if (in.is_float()) {
    const double f = in.as_float();
    if (!std::isfinite(f) || std::fabs(f) >= 9.2e18) return fallback;
    return Value(static_cast<int64_t>(f));
  }
  if (in.is_number()) return Value(in.as_int());
  if (in.is_string()) {
    if (auto v = parse_int(in.as_string(), static_cast<int>(base))) return Value(*v);
    if (auto f = parse_float(in.as_string()); f && std::isfinite(*f) && std::fabs(*f) < 9.2e18) {
      return Value(static_cast<int64_t>(*f));
    }
  }
  return fallback;
}

Value f_indent(const Value& in, CallArgs& args) {
  ArgReader a(args, "indent", {"width", "first", "blank"});
  std::string indention;
  if (a.get(0).is_string()) {
    indention = a.get(0).as_string();
  } else {
    const int64_t width = a.has(0) ? require_int(a.get(0), "indent width") : 4;
    indention.assign(static_cast<size_t>(std::clamp<int64_t>(width, 0, 1024)), ' ');
  }
  const bool first = a.get(1).truthy();
  const bool blank = a.get(2).truthy();
  const std::string s = in.str();
  std::string out;
  size_t pos = 0;
  bool first_line = true;
  while (true) {
    const size_t nl = s.find('\n', pos);
    const std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    const bool last_segment = nl == std::string::npos;
    // A trailing newline leaves an empty last segment, indented only when blank lines are.
    const bool indent_it = first_line ? first : (blank || !line.empty());
    if (indent_it) out += indention;
    out += line;
    if (last_segment) break;
    out += '\n';
    pos = nl + 1;
    first_line = false;
  }
  return Value(std::move(out));
}

Value f_items(const Value& in, CallArgs& args) {
  ArgReader(args, "items", {});
  if (in.is_undefined()) return Value::list();
  if (!in.is_dict()) throw JinjaError("items: can only get item pairs from a mapping, not " + in.type_name());
  ValueList pairs;
  for (const auto& [k, v] : in.entries().all()) pairs.push_back(Value::tuple({k, v}));
  return Value::list(std::move(pairs));
}

Value f_join(const Value& in, CallArgs& args) {
  ArgReader a(args, "join", {"d", "attribute"});
  const std::string sep = a.has(0) ? a.get(0).str() : "";
  std::string out;
  bool first = true;
  for (const Value& item : iterate(in)) {
    if (!first) out += sep;
    first = false;
    out += (a.has(1) ? key_of(item, a.get(1), true) : item).str();
  }
  return Value(std::move(out));
}

Value f_list(const Value& in, CallArgs& args) {
  ArgReader(args, "list", {});
  return Value::list(iterate(in));
}

Value f_lower(const Value& in, CallArgs& args) {
  ArgReader(args, "lower", {});
  return Value(lower(in.str()));
}

Value f_upper(const Value& in, CallArgs& args) {
  ArgReader(args, "upper", {});
  return Value(upper(in.str()));
}

Value f_map(const Value& in, CallArgs& args) {
  ValueList out;
  const Value* attribute = nullptr;
  const Value* fallback = nullptr;
  for (const auto& [k, v] : args.keyword) {
    if (k == "attribute") attribute = &v;
    if (k == "default") fallback = &v;
  }
  if (attribute) {
    for (const Value& item : iterate(in)) {
      Value v = key_of(item, *attribute, true);
      out.push_back(v.is_undefined() && fallback ? *fallback : v);
    }
    return Value::list(std::move(out));
  }
  if (args.positional.empty()) throw JinjaError("map needs a filter name or attribute=");
  const std::string name = require_string(args.positional[0], "map filter name");
  if (!is_known_filter(name)) throw JinjaError("map: unknown filter '" + name + "'");
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keyword = args.keyword;
  for (const Value& item : iterate(in)) {
    CallArgs each = rest;
    out.push_back(apply_filter(name, item, each));
  }
  return Value::list(std::move(out));
}

Value min_max(const Value& in, CallArgs& args, bool want_max, const char* what) {
  ArgReader a(args, what, {"case_sensitive", "attribute"});
  const bool case_sensitive = a.get(0).truthy();
  ValueList items = iterate(in);
  if (items.empty()) return Value::undefined(std::string(what) + ": the sequence is empty");
  size_t best = 0;
  for (size_t i = 1; i < items.size(); ++i) {
    const Value ki = key_of(items[i], a.get(1), case_sensitive);
    const Value kb = key_of(items[best], a.get(1), case_sensitive);
    if (want_max ? value_less(kb, ki) : value_less(ki, kb)) best = i;
  }
  return items[best];
}

Value f_max(const Value& in, CallArgs& args) { return min_max(in, args, true, "max"); }
Value f_min(const Value& in, CallArgs& args) { return min_max(in, args, false, "min"); }

Value select_impl(const Value& in, CallArgs& args, bool by_attribute, bool keep_when) {
  size_t at = 0;
  Value attribute;
  if (by_attribute) {
    if (args.positional.empty()) throw JinjaError("selectattr/rejectattr need an attribute name");
    attribute = args.positional[at++];
  }
  std::string test;
  if (at < args.positional.size()) test = require_string(args.positional[at++], "test name");
  if (!test.empty() && !is_known_test(test)) throw JinjaError("unknown test '" + test + "'");
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(at), args.positional.end());
  rest.keyword = args.keyword;
  ValueList out;
  for (const Value& item : iterate(in)) {
    const Value subject = by_attribute ? key_of(item, attribute, true) : item;
    CallArgs each = rest;
    const bool passed = test.empty() ? subject.truthy() : apply_test(test, subject, each);
    if (passed == keep_when) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_select(const Value& in, CallArgs& args) { return select_impl(in, args, false, true); }
Value f_reject(const Value& in, CallArgs& args) { return select_impl(in, args, false, false); }
Value f_selectattr(const Value& in, CallArgs& args) { return select_impl(in, args, true, true); }
Value f_rejectattr(const Value& in, CallArgs& args) { return select_impl(in, args, true, false); }

Value f_replace(const Value& in, CallArgs& args) {
  ArgReader a(args, "replace", {"old", "new", "count"}, 2);
  const int64_t count = a.has(2) && !a.get(2).is_none() ? require_int(a.get(2), "replace count") : -1;
  return Value(replace_all(in.str(), a.get(0).str(), a.get(1).str(), count));
}

Value f_reverse(const Value& in, CallArgs& args) {
  ArgReader(args, "reverse", {});
  if (in.is_string()) {
    auto chars = utf8_chars(in.as_string());
    std::string out;
    out.reserve(in.as_string().size());
    for (auto it = chars.rbegin(); it != chars.rend(); ++it) out += *it;
    return Value(std::move(out));
  }
  ValueList items = iterate(in);
  std::reverse(items.begin(), items.end());
  return Value::list(std::move(items));
}

Value f_round(const Value& in, CallArgs& args) {
  ArgReader a(args, "round", {"precision", "method"});
  const int64_t precision = a.has(0) ? require_int(a.get(0), "round precision") : 0;
  const std::string method = a.has(1) ? require_string(a.get(1), "round method") : "common";
  if (!in.is_number()) throw JinjaError("round needs a number, not " + in.type_name());
  if (method == "common") {
    if (!in.is_float()) return Value(in.as_int());  // Python's round() keeps an int an int
    return Value(round_float(in.as_float(), precision));
  }
  if (method != "floor" && method != "ceil") throw JinjaError("round method must be 'common', 'ceil' or 'floor'");
  const double scale = std::pow(10.0, static_cast<double>(precision));
  const double x = in.as_float() * scale;
  return Value((method == "floor" ? std::floor(x) : std::ceil(x)) / scale);
}

Value f_safe(const Value& in, CallArgs& args) {
  ArgReader(args, "safe", {});
  return Value(in.str());
}

Value f_sort(const Value& in, CallArgs& args) {
  ArgReader a(args, "sort", {"reverse", "case_sensitive", "attribute"});
  ValueList items = iterate(in);
  const bool case_sensitive = a.get(1).truthy();
  std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
    return value_less(key_of(x, a.get(2), case_sensitive), key_of(y, a.get(2), case_sensitive));
  });
  if (a.get(0).truthy()) {
    // A stable reverse sort keeps equal items in their original order.
    std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
      return value_less(key_of(y, a.get(2), case_sensitive), key_of(x, a.get(2), case_sensitive));
    });
  }
  return Value::list(std::move(items));
}

Value f_string(const Value& in, CallArgs& args) {
  ArgReader(args, "string", {});
  return Value(in.str());
}

Value f_sum(const Value& in, CallArgs& args) {
  ArgReader a(args, "sum", {"attribute", "start"});
  Value total = a.has(1) ? a.get(1) : Value(0);
  for (const Value& item : iterate(in)) {
    const Value v = a.has(0) ? key_of(item, a.get(0), true) : item;
    if (!total.is_number() || !v.is_number()) {
      throw JinjaError("sum: unsupported operand types '" + total.type_name() + "' and '" + v.type_name() + "'");
    }
    total =
        total.is_float() || v.is_float() ? Value(total.as_float() + v.as_float()) : Value(total.as_int() + v.as_int());
  }
  return total;
}

Value f_title(const Value& in, CallArgs& args) {
  ArgReader(args, "title", {});
  return Value(title_filter(in.str()));
}

Value f_tojson(const Value& in, CallArgs& args) {
  // transformers' parameter order: a positional argument is ensure_ascii, not indent.
  ArgReader a(args, "tojson", {"ensure_ascii", "indent", "separators", "sort_keys"});
  JsonFormat format;
  format.ensure_ascii = a.get(0).truthy();
  if (a.has(1) && !a.get(1).is_none()) {
    // Python's json.dumps indents by a string as given, or by that many spaces.
    if (a.get(1).is_string()) {
      format.indent = a.get(1).as_string();
    } else {
      format.indent =
          std::string(static_cast<size_t>(std::clamp<int64_t>(require_int(a.get(1), "tojson indent"), 0, 64)), ' ');
    }
  }
  if (a.has(2) && !a.get(2).is_none()) {
    const Value& seps = a.get(2);
    if (!seps.is_sequence() || seps.items().size() != 2)
      throw JinjaError("tojson separators must be a pair of strings");
    format.item_separator = require_string(seps.items()[0], "tojson item separator");
    format.key_separator = require_string(seps.items()[1], "tojson key separator");
  }
  format.sort_keys = a.get(3).truthy();
  return Value(to_json_text(in, format));
}

Value f_trim(const Value& in, CallArgs& args) {
  ArgReader a(args, "trim", {"chars"});
  return Value(strip(in.str(), a.get(0), true, true));
}

Value f_unique(const Value& in, CallArgs& args) {
  ArgReader a(args, "unique", {"case_sensitive", "attribute"});
  const bool case_sensitive = a.get(0).truthy();
  ValueList out;
  ValueList seen;
  for (const Value& item : iterate(in)) {
    Value k = key_of(item, a.get(1), case_sensitive);
    if (std::find(seen.begin(), seen.end(), k) != seen.end()) continue;
    seen.push_back(std::move(k));
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value f_wordcount(const Value& in, CallArgs& args) {
  ArgReader(args, "wordcount", {});
  const std::string s = in.str();
  int64_t n = 0;
  for (size_t i = 0; i < s.size();) {
    if (!is_word(s[i])) {
      ++i;
      continue;
    }
    ++n;
    while (i < s.size() && is_word(s[i])) ++i;
  }
  return Value(n);
}

const std::unordered_map<std::string_view, FilterFn>& filters() {
  static const std::unordered_map<std::string_view, FilterFn> table = {
      {"abs", f_abs},
      {"attr", f_attr},
      {"capitalize", f_capitalize},
      {"count", f_length},
      {"d", f_default},
      {"default", f_default},
      {"dictsort", f_dictsort},
      {"e", f_escape},
      {"escape", f_escape},
      {"first", f_first},
      {"float", f_float},
      {"forceescape", f_escape},
      {"indent", f_indent},
      {"int", f_int},
      {"items", f_items},
      {"join", f_join},
      {"last", f_last},
      {"length", f_length},
      {"list", f_list},
      {"lower", f_lower},
      {"map", f_map},
      {"max", f_max},
      {"min", f_min},
      {"reject", f_reject},
      {"rejectattr", f_rejectattr},
      {"replace", f_replace},
      {"reverse", f_reverse},
      {"round", f_round},
      {"safe", f_safe},
      {"select", f_select},
      {"selectattr", f_selectattr},
      {"sort", f_sort},
      {"string", f_string},
      {"sum", f_sum},
      {"title", f_title},
      {"tojson", f_tojson},
      {"trim", f_trim},
      {"unique", f_unique},
      {"upper", f_upper},
      {"wordcount", f_wordcount},
  };
  return table;
}

// ---- tests ---------------------------------------------------------------

bool t_defined(const Value& v, CallArgs&) { return !v.is_undefined(); }
bool t_undefined(const Value& v, CallArgs&) { return v.is_undefined(); }
bool t_none(const Value& v, CallArgs&) { return v.is_none(); }
bool t_string(const Value& v, CallArgs&) { return v.is_string(); }
bool t_number(const Value& v, CallArgs&) { return v.is_number(); }
bool t_integer(const Value& v, CallArgs&) { return v.is_int(); }
bool t_float(const Value& v, CallArgs&) { return v.is_float(); }
bool t_boolean(const Value& v, CallArgs&) { return v.is_bool(); }
bool t_true(const Value& v, CallArgs&) { return v.is_bool() && v.as_bool(); }
bool t_false(const Value& v, CallArgs&) { return v.is_bool() && !v.as_bool(); }
bool t_mapping(const Value& v, CallArgs&) { return v.is_dict(); }
// jinja2's Undefined defines __call__ (to raise), so Python calls it callable.
bool t_callable(const Value& v, CallArgs&) { return v.is_function() || v.is_undefined(); }
bool t_iterable(const Value& v, CallArgs&) {
  return v.is_string() || v.is_sequence() || v.is_dict() || v.is_undefined();
}
bool t_sequence(const Value& v, CallArgs&) {
  return v.is_string() || v.is_sequence() || v.is_dict() || v.is_undefined();
}
bool t_odd(const Value& v, CallArgs&) { return require_int(v, "'odd' test value") % 2 != 0; }
bool t_even(const Value& v, CallArgs&) { return require_int(v, "'even' test value") % 2 == 0; }
bool t_lower(const Value& v, CallArgs&) {
  if (!v.is_string()) return false;
  const std::string& s = v.as_string();
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; }) &&
         std::none_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
}
bool t_upper(const Value& v, CallArgs&) {
  if (!v.is_string()) return false;
  const std::string& s = v.as_string();
  return std::any_of(s.begin(), s.end(), [](char c) { return c >= 'A' && c <= 'Z'; }) &&
         std::none_of(s.begin(), s.end(), [](char c) { return c >= 'a' && c <= 'z'; });
}

const Value& test_operand(CallArgs& args, const char* what) {
  if (args.positional.size() + args.keyword.size() != 1) {
    throw JinjaError(std::string("test '") + what + "' takes exactly one argument");
  }
  return args.positional.empty() ? args.keyword[0].second : args.positional[0];
}

bool t_divisibleby(const Value& v, CallArgs& args) {
  const Value& d = test_operand(args, "divisibleby");
  const int64_t n = require_int(d, "divisibleby argument");
  if (n == 0) throw JinjaError("divisibleby: division by zero");
  if (v.is_float()) return std::fmod(v.as_float(), static_cast<double>(n)) == 0;
  return require_int(v, "divisibleby value") % n == 0;
}
bool t_eq(const Value& v, CallArgs& args) { return v == test_operand(args, "eq"); }
bool t_ne(const Value& v, CallArgs& args) { return v != test_operand(args, "ne"); }
bool t_lt(const Value& v, CallArgs& args) { return value_less(v, test_operand(args, "lt")); }
bool t_le(const Value& v, CallArgs& args) {
  const Value& o = test_operand(args, "le");
  return !value_less(o, v);
}
bool t_gt(const Value& v, CallArgs& args) { return value_less(test_operand(args, "gt"), v); }
bool t_ge(const Value& v, CallArgs& args) { return !value_less(v, test_operand(args, "ge")); }
bool t_in(const Value& v, CallArgs& args) { return contains(test_operand(args, "in"), v); }
bool t_sameas(const Value& v, CallArgs& args) {
  const Value& o = test_operand(args, "sameas");
  if (v.kind() != o.kind()) return false;
  switch (v.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kBool:
    case Value::Kind::kInt:
      return v.as_int() == o.as_int();  // small ints are shared objects in Python
    case Value::Kind::kFloat:
    case Value::Kind::kString:
      return v == o;
    default:
      return v.identity() == o.identity();
  }
}

const std::unordered_map<std::string_view, TestFn>& tests() {
  static const std::unordered_map<std::string_view, TestFn> table = {
      {"defined", t_defined},
      {"undefined", t_undefined},
      {"none", t_none},
      {"string", t_string},
      {"number", t_number},
      {"integer", t_integer},
      {"float", t_float},
      {"boolean", t_boolean},
      {"true", t_true},
      {"false", t_false},
      {"mapping", t_mapping},
      {"callable", t_callable},
      {"iterable", t_iterable},
      {"sequence", t_sequence},
      {"odd", t_odd},
      {"even", t_even},
      {"lower", t_lower},
      {"upper", t_upper},
      {"divisibleby", t_divisibleby},
      {"eq", t_eq},
      {"equalto", t_eq},
      {"ne", t_ne},
      {"lt", t_lt},
      {"lessthan", t_lt},
      {"le", t_le},
      {"gt", t_gt},
      {"greaterthan", t_gt},
      {"ge", t_ge},
      {"in", t_in},
      {"sameas", t_sameas},
  };
  return table;
}

// ---- methods -------------------------------------------------------------

bool string_method(const std::string& s, std::string_view name, CallArgs& args, Value& result) {
  const std::string what = "str." + std::string(name) + "()";
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    ArgReader a(args, what, {"chars"});
    result = Value(strip(s, a.get(0), name != "rstrip", name != "lstrip"));
  } else if (name == "split" || name == "rsplit") {
    ArgReader a(args, what, {"sep", "maxsplit"});
    const int64_t maxsplit = a.has(1) ? require_int(a.get(1), "maxsplit") : -1;
    result = Value::list(split(s, a.get(0), maxsplit, name == "rsplit"));
  } else if (name == "splitlines") {
    ArgReader a(args, what, {"keepends"});
    ValueList lines;
    size_t pos = 0;
    while (pos < s.size()) {
      size_t nl = s.find_first_of("\r\n", pos);
      if (nl == std::string::npos) {
        lines.emplace_back(s.substr(pos));
        break;
      }
      const size_t end_len = (s[nl] == '\r' && nl + 1 < s.size() && s[nl + 1] == '\n') ? 2 : 1;
      lines.emplace_back(s.substr(pos, nl - pos + (a.get(0).truthy() ? end_len : 0)));
      pos = nl + end_len;
    }
    result = Value::list(std::move(lines));
  } else if (name == "startswith" || name == "endswith") {
    ArgReader a(args, what, {"prefix"}, 1);
    ValueList candidates = a.get(0).is_tuple() ? a.get(0).items() : ValueList{a.get(0)};
    bool hit = false;
    for (const Value& c : candidates) {
      const std::string& p = require_string(c, what + " argument");
      if (p.size() <= s.size() &&
          (name == "startswith" ? s.compare(0, p.size(), p) == 0 : s.compare(s.size() - p.size(), p.size(), p) == 0)) {
        hit = true;
      }
    }
    result = Value(hit);
  } else if (name == "upper" || name == "lower" || name == "title" || name == "capitalize") {
    ArgReader(args, what, {});
    result = Value(name == "upper"   ? upper(s)
                   : name == "lower" ? lower(s)
                   : name == "title" ? title_method(s)
                                     : capitalize(s));
  } else if (name == "replace") {
    ArgReader a(args, what, {"old", "new", "count"}, 2);
    const int64_t count = a.has(2) ? require_int(a.get(2), "replace count") : -1;
    result =
        Value(replace_all(s, require_string(a.get(0), "replace old"), require_string(a.get(1), "replace new"), count));
  } else if (name == "find" || name == "rfind" || name == "count") {
    ArgReader a(args, what, {"sub"}, 1);
    const std::string& sub = require_string(a.get(0), what + " argument");
    if (name == "count") {
      int64_t n = 0;
      if (sub.empty()) {
        n = static_cast<int64_t>(utf8_length(s)) + 1;
      } else {
        for (size_t p = s.find(sub); p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
      }
      result = Value(n);
    } else {
      const size_t p = name == "find" ? s.find(sub) : s.rfind(sub);
      // Python counts code points, not bytes.
      result = Value(p == std::string::npos ? int64_t{-1}
                                            : static_cast<int64_t>(utf8_length(std::string_view(s).substr(0, p))));
    }
  } else if (name == "join") {
    ArgReader a(args, what, {"iterable"}, 1);
    std::string out;
    bool first = true;
    for (const Value& item : iterate(a.get(0))) {
      if (!first) out += s;
      first = false;
      out += require_string(item, "str.join() item");
    }
    result = Value(std::move(out));
  } else if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "islower" ||
             name == "isupper") {
    ArgReader(args, what, {});
    bool ok = !s.empty();
    if (name == "islower" || name == "isupper") {
      ok = name == "islower" ? t_lower(Value(s), args) : t_upper(Value(s), args);
    } else {
      for (char c : s) {
        if (name == "isdigit") ok = ok && is_digit(c);
        if (name == "isalpha") ok = ok && is_alpha(c);
        if (name == "isalnum") ok = ok && (is_alpha(c) || is_digit(c));
        if (name == "isspace") ok = ok && is_py_space(c);
      }
    }
    result = Value(ok);
  } else if (name == "format") {
    throw JinjaError("str.format() is not supported; use ~ to join strings");
  } else {
    return false;
  }
  return true;
}

bool list_method(const Value& list, std::string_view name, CallArgs& args, Value& result) {
  const std::string what = list.type_name() + "." + std::string(name) + "()";
  ValueList& items = list.items();
  auto index_arg = [&](const Value& v, bool clamp) {
    int64_t i = require_int(v, what + " index");
    const auto n = static_cast<int64_t>(items.size());
    if (i < 0) i += n;
    if (clamp) return std::clamp<int64_t>(i, 0, n);
    if (i < 0 || i >= n) throw JinjaError(what + ": index out of range");
    return i;
  };
  if (name == "index" || name == "count") {
    ArgReader a(args, what, {"value"}, 1);
    const auto it = std::find(items.begin(), items.end(), a.get(0));
    if (name == "count") {
      result = Value(static_cast<int64_t>(std::count(items.begin(), items.end(), a.get(0))));
    } else {
      if (it == items.end()) throw JinjaError(what + ": " + a.get(0).repr() + " is not in the list");
      result = Value(static_cast<int64_t>(it - items.begin()));
    }
    return true;
  }
  if (!list.is_list()) return false;  // the rest change the list; tuples cannot change
  if (name == "append") {
    ArgReader a(args, what, {"object"}, 1);
    refuse_cycle(list, a.get(0));
    items.push_back(a.get(0));
    result = Value::none();
  } else if (name == "extend") {
    ArgReader a(args, what, {"iterable"}, 1);
    ValueList more = iterate(a.get(0));
    for (const Value& v : more) refuse_cycle(list, v);
    items.insert(items.end(), more.begin(), more.end());
    result = Value::none();
  } else if (name == "insert") {
    ArgReader a(args, what, {"index", "object"}, 2);
    refuse_cycle(list, a.get(1));
    items.insert(items.begin() + index_arg(a.get(0), true), a.get(1));
    result = Value::none();
  } else if (name == "pop") {
    ArgReader a(args, what, {"index"});
    if (items.empty()) throw JinjaError("pop from empty list");
    const int64_t i = a.has(0) ? index_arg(a.get(0), false) : static_cast<int64_t>(items.size()) - 1;
    result = items[static_cast<size_t>(i)];
    items.erase(items.begin() + i);
  } else {
    return false;
  }
  return true;
}

bool dict_method(const Value& dict, std::string_view name, CallArgs& args, Value& result) {
  const std::string what = "dict." + std::string(name) + "()";
  ValueDict& d = dict.entries();
  if (name == "get") {
    ArgReader a(args, what, {"key", "default"}, 1);
    const Value* v = d.find(a.get(0));
    result = v ? *v : (a.has(1) ? a.get(1) : Value::none());
  } else if (name == "items" || name == "keys" || name == "values") {
    ArgReader(args, what, {});
    ValueList out;
    for (const auto& [k, v] : d.all()) {
      out.push_back(name == "items" ? Value::tuple({k, v}) : name == "keys" ? k : v);
    }
    result = Value::list(std::move(out));
  } else if (name == "pop") {
    ArgReader a(args, what, {"key", "default"}, 1);
    const Value* v = d.find(a.get(0));
    if (!v && !a.has(1)) throw JinjaError(what + ": key " + a.get(0).repr() + " not found");
    result = v ? *v : a.get(1);
    if (v) d.erase(a.get(0));
  } else if (name == "setdefault") {
    ArgReader a(args, what, {"key", "default"}, 1);
    if (!d.find(a.get(0))) {
      refuse_cycle(dict, a.get(1));
      d.set(a.get(0), a.has(1) ? a.get(1) : Value::none());
    }
    result = *d.find(a.get(0));
  } else if (name == "update") {
    ArgReader a(args, what, {"other"});
    if (a.has(0)) {
      if (!a.get(0).is_dict()) throw JinjaError(what + " needs a dict, not " + a.get(0).type_name());
      const ValueDict other = a.get(0).entries();  // a copy: d.update(d) must not iterate while inserting
      for (const auto& [k, v] : other.all()) {
        refuse_cycle(dict, v);
        d.set(k, v);
      }
    }
    result = Value::none();
  } else if (name == "copy") {
    ArgReader(args, what, {});
    result = Value::dict(d);
  } else {
    return false;
  }
  return true;
}

}  // namespace

ArgReader::ArgReader(const CallArgs& args, std::string_view what, std::initializer_list<std::string_view> names,
                     size_t required)
    : values_(names.size()), given_(names.size(), false) {
  if (args.positional.size() > names.size()) {
    throw JinjaError(std::string(what) + " takes at most " + std::to_string(names.size()) + " argument(s) (" +
                     std::to_string(args.positional.size()) + " given)");
  }
  for (size_t i = 0; i < args.positional.size(); ++i) {
    values_[i] = args.positional[i];
    given_[i] = true;
  }
  for (const auto& [key, value] : args.keyword) {
    const auto it = std::find(names.begin(), names.end(), key);
    if (it == names.end()) throw JinjaError(std::string(what) + " got an unexpected keyword argument '" + key + "'");
    const auto index = static_cast<size_t>(it - names.begin());
    if (index < args.positional.size()) throw JinjaError(std::string(what) + " got multiple values for '" + key + "'");
    values_[index] = value;
    given_[index] = true;
  }
  for (size_t i = 0; i < required; ++i) {
    if (!given_[i]) {
      throw JinjaError(std::string(what) + " is missing its required argument '" + std::string(names.begin()[i]) + "'");
    }
  }
}

bool is_known_filter(std::string_view name) { return filters().count(name) != 0; }
bool is_known_test(std::string_view name) { return tests().count(name) != 0; }

Value apply_filter(std::string_view name, const Value& input, CallArgs& args) {
  const auto it = filters().find(name);
  if (it == filters().end()) throw JinjaError("unknown filter '" + std::string(name) + "'");
  return it->second(input, args);
}

bool apply_test(std::string_view name, const Value& input, CallArgs& args) {
  const auto it = tests().find(name);
  if (it == tests().end()) throw JinjaError("unknown test '" + std::string(name) + "'");
  static const std::unordered_set<std::string_view> kTakesArgument = {
      "divisibleby", "eq", "equalto", "ne", "lt", "lessthan", "le", "gt", "greaterthan", "ge", "in", "sameas"};
  if (!kTakesArgument.count(name) && (!args.positional.empty() || !args.keyword.empty())) {
    throw JinjaError("test '" + std::string(name) + "' takes no arguments");
  }
  return it->second(input, args);
}

bool call_method(const Value& object, std::string_view name, CallArgs& args, Value& result) {
  switch (object.kind()) {
    case Value::Kind::kString:
      return string_method(object.as_string(), name, args, result);
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      return list_method(object, name, args, result);
    case Value::Kind::kDict:
      return dict_method(object, name, args, result);
    default:
      return false;
  }
}

Value get_attr(const Value& object, std::string_view name) {
  switch (object.kind()) {
    case Value::Kind::kDict:
    case Value::Kind::kNamespace:
      if (const Value* v = object.entries().find_name(name)) return *v;
      return Value::undefined("'" + object.type_name() + " object' has no attribute '" + std::string(name) + "'");
    case Value::Kind::kUndefined:
      return object;  // keeps saying what was undefined first
    default:
      return Value::undefined("'" + object.type_name() + " object' has no attribute '" + std::string(name) + "'");
  }
}

Value get_item(const Value& object, const Value& key) {
  switch (object.kind()) {
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      if (key.is_int() || key.is_bool()) {
        const auto n = static_cast<int64_t>(object.items().size());
        int64_t i = key.as_int();
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value::undefined(object.type_name() + " index " + key.str() + " out of range");
        return object.items()[static_cast<size_t>(i)];
      }
      break;
    case Value::Kind::kString:
      if (key.is_int() || key.is_bool()) {
        const auto chars = utf8_chars(object.as_string());
        const auto n = static_cast<int64_t>(chars.size());
        int64_t i = key.as_int();
        if (i < 0) i += n;
        if (i < 0 || i >= n) return Value::undefined("string index " + key.str() + " out of range");
        return Value(chars[static_cast<size_t>(i)]);
      }
      break;
    case Value::Kind::kDict:
      if (const Value* v = object.entries().find(key)) return *v;
      return Value::undefined("'dict object' has no attribute " + key.repr());
    case Value::Kind::kUndefined:
      return object;
    default:
      break;
  }
  if (key.is_string()) return get_attr(object, key.as_string());
  return Value::undefined("'" + object.type_name() + " object' has no item " + key.repr());
}

Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step) {
  auto bound = [](const Value& v) -> std::optional<int64_t> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    return require_int(v, "slice index");
  };
  const int64_t st = bound(step).value_or(1);
  if (st == 0) throw JinjaError("slice step cannot be zero");
  std::vector<std::string_view> chars;
  int64_t n = 0;
  if (object.is_string()) {
    chars = utf8_chars(object.as_string());
    n = static_cast<int64_t>(chars.size());
  } else if (object.is_sequence()) {
    n = static_cast<int64_t>(object.items().size());
  } else if (object.is_undefined()) {
    return object;
  } else {  // jinja2 turns a failed subscript into an undefined value
    return Value::undefined("'" + object.type_name() + "' object cannot be sliced");
  }
  auto normalize = [&](std::optional<int64_t> v, int64_t fallback, int64_t lo, int64_t hi) {
    if (!v) return fallback;
    int64_t x = *v < 0 ? *v + n : *v;
    return std::clamp(x, lo, hi);
  };
  int64_t b, e;
  if (st > 0) {
    b = normalize(bound(start), 0, 0, n);
    e = normalize(bound(stop), n, 0, n);
  } else {
    b = normalize(bound(start), n - 1, -1, n - 1);
    e = normalize(bound(stop), -1, -1, n - 1);
  }
  std::vector<int64_t> picks;
  for (int64_t i = b; st > 0 ? i < e : i > e; i += st) picks.push_back(i);
  if (object.is_string()) {
    std::string out;
    for (int64_t i : picks) out += chars[static_cast<size_t>(i)];
    return Value(std::move(out));
  }
  ValueList out;
  out.reserve(picks.size());
  for (int64_t i : picks) out.push_back(object.items()[static_cast<size_t>(i)]);
  return object.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
}

bool contains(const Value& container, const Value& item) {
  switch (container.kind()) {
    case Value::Kind::kString:
      if (!item.is_string())
        throw JinjaError("'in <string>' requires a string as left operand, not " + item.type_name());
      return container.as_string().find(item.as_string()) != std::string::npos;
    case Value::Kind::kList:
    case Value::Kind::kTuple: {
      const ValueList& items = container.items();
      return std::find(items.begin(), items.end(), item) != items.end();
    }
    case Value::Kind::kDict:
      return container.entries().find(item) != nullptr;
    case Value::Kind::kUndefined:
      return false;
    default:
      throw JinjaError("argument of type '" + container.type_name() + "' is not iterable");
  }
}

ValueList iterate(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kList:
    case Value::Kind::kTuple:
      return v.items();
    case Value::Kind::kDict: {
      ValueList keys;
      for (const auto& e : v.entries().all()) keys.push_back(e.first);
      return keys;
    }
    case Value::Kind::kString: {
      ValueList chars;
      for (auto c : utf8_chars(v.as_string())) chars.emplace_back(c);
      return chars;
    }
    case Value::Kind::kUndefined:
      return {};
    default:
      throw JinjaError("'" + v.type_name() + "' object is not iterable");
  }
}

namespace {

bool reaches(const Value& v, const void* target, int depth) {
  if (depth > 256) throw JinjaError("value nested more than 256 levels deep");
  if (v.is_sequence()) {
    if (v.identity() == target) return true;
    for (const Value& item : v.items()) {
      if (reaches(item, target, depth + 1)) return true;
    }
  } else if (v.is_dict() || v.is_namespace()) {
    if (v.identity() == target) return true;
    for (const auto& [k, item] : v.entries().all()) {
      if (reaches(item, target, depth + 1)) return true;
    }
  }
  return false;
}

}  // namespace

void refuse_cycle(const Value& container, const Value& value) {
  if (reaches(value, container.identity(), 0)) {
    throw JinjaError("a " + container.type_name() + " cannot contain itself (directly or through its items)");
  }
}

void fail_undefined(const Value& v) {
  throw JinjaError(v.undefined_hint().empty() ? "an undefined value was used" : v.undefined_hint());
}

}  // namespace hearth::runtime::jinja
