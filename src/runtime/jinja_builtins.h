// Jinja builtins: the filters (x|trim), tests (x is defined) and Python methods
// (s.strip(), d.items(), l.append(x)) that chat templates call.
#pragma once

#include <string_view>

#include "runtime/jinja_value.h"

namespace hearth::runtime::jinja {

// Known names, so that a typo fails when the template is parsed, not rendered.
bool is_known_filter(std::string_view name);
bool is_known_test(std::string_view name);

// Throw JinjaError on bad arguments or types.
Value apply_filter(std::string_view name, const Value& input, CallArgs& args);
bool apply_test(std::string_view name, const Value& input, CallArgs& args);

// Calls object.name(args) when `object` is a string, list, tuple or dict with
// such a method; returns false (result untouched) when there is no such method.
bool call_method(const Value& object, std::string_view name, CallArgs& args, Value& result);

// Python-style access: a dict key or namespace attribute for x.name (and
// x["name"]), an index or key for x[key]; missing ones give an undefined value
// that remembers what was missing.
Value get_attr(const Value& object, std::string_view name);
Value get_item(const Value& object, const Value& key);
// object[start:stop:step]; absent bounds are undefined values.
Value get_slice(const Value& object, const Value& start, const Value& stop, const Value& step);
// Python's `item in container`.
bool contains(const Value& container, const Value& item);
// The items a for loop visits: sequence items, dict keys, string characters;
// an undefined value iterates as empty, as in jinja2.
ValueList iterate(const Value& v);
// Throws JinjaError when storing `value` inside `container` would make the
// container hold itself: such a cycle could never be printed, and its shared
// storage would never be freed.
void refuse_cycle(const Value& container, const Value& value);
// What misusing an undefined value reports ("'foo' is undefined").
[[noreturn]] void fail_undefined(const Value& v);

// Reads a call's arguments by position or keyword, the way Python binds them,
// and rejects unexpected ones.
class ArgReader {
 public:
  // `what` names the callee in errors; `names` are its parameters in order, the
  // first `required` of which must be given.
  ArgReader(const CallArgs& args, std::string_view what, std::initializer_list<std::string_view> names,
            size_t required = 0);
  // Undefined when not given.
  const Value& get(size_t index) const { return values_[index]; }
  // Given by the caller, even as an undefined value (x|default(missing) is undefined, as in jinja2).
  bool has(size_t index) const { return given_[index]; }

 private:
  std::vector<Value> values_;
  std::vector<bool> given_;
};

}  // namespace hearth::runtime::jinja
