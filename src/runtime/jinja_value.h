// Jinja values: the dynamically typed data chat templates compute with, following
// Python's rules (truthiness, equality, str/repr, arithmetic) as jinja2 does.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth::runtime::jinja {

class Value;
class ValueDict;
using ValueList = std::vector<Value>;

// Thrown by value operations and builtins, which do not know where in the
// template they run; the interpreter adds the line and column and rethrows it as
// hearth::Error.
class JinjaError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Arguments of a call: positional, then keyword (in the order written).
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
};

using NativeFunction = std::function<Value(CallArgs&)>;

struct Function {
  std::string name;
  NativeFunction call;
};

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kTuple, kDict, kNamespace, kFunction };

  Value() = default;  // undefined
  Value(bool b) : kind_(Kind::kBool), int_(b) {}
  Value(int i) : kind_(Kind::kInt), int_(i) {}
  Value(int64_t i) : kind_(Kind::kInt), int_(i) {}
  Value(double f) : kind_(Kind::kFloat), float_(f) {}
  Value(std::string s) : kind_(Kind::kString), str_(std::move(s)) {}
  Value(std::string_view s) : kind_(Kind::kString), str_(s) {}
  Value(const char* s) : kind_(Kind::kString), str_(s) {}

  // `hint` names what was undefined, for the error raised when it is misused.
  static Value undefined(std::string hint = {});
  static Value none();
  static Value list(ValueList items = {});
  static Value tuple(ValueList items);
  static Value dict();
  static Value dict(ValueDict entries);
  static Value make_namespace();
  static Value function(std::string name, NativeFunction fn);

  static Value from_json(const nlohmann::ordered_json& j);
  // Undefined becomes null; functions cannot be represented and throw.
  nlohmann::ordered_json to_json() const;

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_bool() const { return kind_ == Kind::kBool; }
  bool is_int() const { return kind_ == Kind::kInt; }
  bool is_float() const { return kind_ == Kind::kFloat; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat || kind_ == Kind::kBool; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_tuple() const { return kind_ == Kind::kTuple; }
  bool is_sequence() const { return kind_ == Kind::kList || kind_ == Kind::kTuple; }
  bool is_dict() const { return kind_ == Kind::kDict; }
  bool is_namespace() const { return kind_ == Kind::kNamespace; }
  bool is_function() const { return kind_ == Kind::kFunction; }

  bool as_bool() const { return int_ != 0; }
  // Bool counts as int, as in Python.
  int64_t as_int() const { return int_; }
  double as_float() const { return kind_ == Kind::kFloat ? float_ : static_cast<double>(int_); }
  const std::string& as_string() const { return str_; }
  const std::string& undefined_hint() const { return str_; }
  // Lists and tuples share storage kind; dicts and namespaces too.
  ValueList& items() const { return *list_; }
  ValueDict& entries() const { return *dict_; }
  const Function& function() const { return *fn_; }
  // Identity of the shared object behind a list, dict, namespace or function.
  const void* identity() const;

  bool truthy() const;
  std::string str() const;        // Python str(): what {{ }} prints
  std::string repr() const;       // Python repr(): how values print inside containers
  std::string type_name() const;  // Python's name of the type, for error messages

  bool operator==(const Value& other) const;
  bool operator!=(const Value& other) const { return !(*this == other); }

 private:
  Kind kind_ = Kind::kUndefined;
  int64_t int_ = 0;
  double float_ = 0;
  std::string str_;
  std::shared_ptr<ValueList> list_;
  std::shared_ptr<ValueDict> dict_;
  std::shared_ptr<Function> fn_;
};

// An insertion-ordered mapping; keys compare with Python equality (1 == 1.0 == true).
class ValueDict {
 public:
  using Entry = std::pair<Value, Value>;
  const Value* find(const Value& key) const;
  Value* find(const Value& key);
  const Value* find_name(std::string_view key) const;
  void set(const Value& key, Value value);
  // Appends without looking for the key first; the caller knows it is new
  // (JSON object keys, the fields of a loop object).
  void insert_new(Value key, Value value) { entries_.emplace_back(std::move(key), std::move(value)); }
  void reserve(size_t n) { entries_.reserve(n); }
  bool erase(const Value& key);
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& all() const { return entries_; }

 private:
  std::vector<Entry> entries_;
};

// Python's ordering (<) for numbers, strings and sequences; throws JinjaError for
// values Python would refuse to compare.
bool value_less(const Value& a, const Value& b);

// Python float repr: shortest round-trip digits, "1.0", "1e+20", "inf".
std::string format_float(double f);

// Python string repr with its quoting rules.
std::string repr_string(std::string_view s);

// json.dumps(value, indent, separators, sort_keys, ensure_ascii) as transformers
// defines the tojson filter for chat templates (no HTML escaping).
struct JsonFormat {
  std::optional<std::string> indent;          // what each level indents by; none: one line
  std::optional<std::string> item_separator;  // default: ", " without indent, "," with it
  std::string key_separator = ": ";
  bool sort_keys = false;
  bool ensure_ascii = false;
};
std::string to_json_text(const Value& v, const JsonFormat& format);

// UTF-8 helpers: Python indexes strings by code point.
std::vector<std::string_view> utf8_chars(std::string_view s);
size_t utf8_length(std::string_view s);

}  // namespace hearth::runtime::jinja
