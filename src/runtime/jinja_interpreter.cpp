#include "runtime/jinja_interpreter.h"

#include <cmath>
#include <limits>

#include "core/error.h"
#include "runtime/jinja_builtins.h"

namespace hearth::runtime::jinja {
namespace {

// raise_exception(msg): the template's own message, reported as the template wrote it.
class RaisedError : public JinjaError {
 public:
  using JinjaError::JinjaError;
};

// A variable scope. For-loop iterations, macro calls and {% with %} open one;
// {% if %} does not, as in jinja2.
struct Frame {
  explicit Frame(std::shared_ptr<Frame> p) : parent(std::move(p)) {}
  std::shared_ptr<Frame> parent;
  std::vector<std::pair<std::string, Value>> vars;

  const Value* lookup(std::string_view name) const {
    for (const Frame* f = this; f; f = f->parent.get()) {
      for (const auto& [k, v] : f->vars) {
        if (k == name) return &v;
      }
    }
    return nullptr;
  }
  void set(std::string_view name, Value value) {
    for (auto& [k, v] : vars) {
      if (k == name) {
        v = std::move(value);
        return;
      }
    }
    vars.emplace_back(std::string(name), std::move(value));
  }
};
using FramePtr = std::shared_ptr<Frame>;

enum class Flow { kNormal, kBreak, kContinue };

[[noreturn]] void fail_at(const SourceLocation& where, const std::string& what) {
  throw Error(ErrorCode::kInvalidArgument, located_message(where, what));
}

// Python integers never overflow; ours are 64-bit, so overflow is an error
// rather than a silently wrong number.
int64_t add_checked(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_add_overflow(a, b, &r)) throw JinjaError("integer overflow");
  return r;
}
int64_t sub_checked(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_sub_overflow(a, b, &r)) throw JinjaError("integer overflow");
  return r;
}
int64_t mul_checked(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) throw JinjaError("integer overflow");
  return r;
}

class Renderer {
 public:
  explicit Renderer(const RenderOptions& options) : options_(options), limits_(options.limits) {}

  std::string run(const Body& body, const ValueDict& context) {
    auto globals = std::make_shared<Frame>(nullptr);
    install_globals(*globals);
    auto top = std::make_shared<Frame>(globals);
    for (const auto& [k, v] : context.all()) top->set(k.str(), v);
    std::string out;
    out_ = &out;
    exec_body(body, top);
    return out;
  }

 private:
  // ---- limits --------------------------------------------------------------

  void count_iterations(uint64_t n) {
    iterations_ += n;
    if (iterations_ > limits_.max_loop_iterations) {
      throw JinjaError("loops ran more than " + std::to_string(limits_.max_loop_iterations) +
                       " iterations in total (an unbounded loop?)");
    }
  }

  const Value& check_size(const Value& v) const {
    if (v.is_string() && v.as_string().size() > limits_.max_output_bytes) {
      throw JinjaError("a string of " + std::to_string(v.as_string().size()) + " bytes exceeds the limit of " +
                       std::to_string(limits_.max_output_bytes) + " bytes");
    }
    return v;
  }

  void emit(const SourceLocation& where, std::string_view s) {
    if (out_->size() + s.size() > limits_.max_output_bytes) {
      fail_at(where, "the output exceeds the limit of " + std::to_string(limits_.max_output_bytes) + " bytes");
    }
    out_->append(s);
  }

  std::string capture(const Body& body, const FramePtr& frame) {
    std::string buffer;
    std::string* saved = out_;
    out_ = &buffer;
    try {
      exec_body(body, frame);
    } catch (...) {
      out_ = saved;
      throw;
    }
    out_ = saved;
    return buffer;
  }

  // ---- globals -------------------------------------------------------------

  void install_globals(Frame& g) {
    g.set("range", Value::function("range", [this](CallArgs& args) {
            if (!args.keyword.empty()) throw JinjaError("range() takes no keyword arguments");
            const auto& p = args.positional;
            if (p.empty() || p.size() > 3)
              throw JinjaError("range expected 1 to 3 arguments, got " + std::to_string(p.size()));
            for (const Value& v : p) {
              if (!v.is_int() && !v.is_bool()) throw JinjaError("range() needs integers, not " + v.type_name());
            }
            const int64_t start = p.size() == 1 ? 0 : p[0].as_int();
            const int64_t stop = p.size() == 1 ? p[0].as_int() : p[1].as_int();
            const int64_t step = p.size() == 3 ? p[2].as_int() : 1;
            if (step == 0) throw JinjaError("range() step must not be zero");
            const double count =
                std::max(0.0, std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / step));
            if (count > static_cast<double>(limits_.max_loop_iterations)) {
              throw JinjaError("range() of " + format_float(count) + " items exceeds the loop limit of " +
                               std::to_string(limits_.max_loop_iterations));
            }
            ValueList items;
            items.reserve(static_cast<size_t>(count));
            for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) items.emplace_back(i);
            return Value::list(std::move(items));
          }));
    g.set("namespace", Value::function("namespace", [](CallArgs& args) {
            Value ns = Value::make_namespace();
            for (const Value& p : args.positional) {
              if (!p.is_dict()) throw JinjaError("namespace() takes a dict or keyword arguments, not " + p.type_name());
              for (const auto& [k, v] : p.entries().all()) ns.entries().set(k, v);
            }
            for (const auto& [k, v] : args.keyword) ns.entries().set(Value(k), v);
            return ns;
          }));
    g.set("dict", Value::function("dict", [](CallArgs& args) {
            Value d = Value::dict();
            for (const Value& p : args.positional) {
              if (!p.is_dict()) throw JinjaError("dict() takes a dict or keyword arguments, not " + p.type_name());
              for (const auto& [k, v] : p.entries().all()) d.entries().set(k, v);
            }
            for (const auto& [k, v] : args.keyword) d.entries().set(Value(k), v);
            return d;
          }));
    g.set("raise_exception", Value::function("raise_exception", [](CallArgs& args) -> Value {
            ArgReader a(args, "raise_exception", {"message"}, 1);
            throw RaisedError(a.get(0).str());
          }));
    g.set("strftime_now", Value::function("strftime_now", [this](CallArgs& args) {
            ArgReader a(args, "strftime_now", {"format"}, 1);
            if (!a.get(0).is_string()) throw JinjaError("strftime_now() needs a format string");
            const std::time_t t = options_.clock ? options_.clock() : std::time(nullptr);
            std::tm tm{};
            localtime_r(&t, &tm);
            std::string buf(256 + a.get(0).as_string().size() * 16, '\0');
            const size_t n = std::strftime(buf.data(), buf.size(), a.get(0).as_string().c_str(), &tm);
            buf.resize(n);
            return Value(std::move(buf));
          }));
  }

  // ---- statements ----------------------------------------------------------

  Flow exec_body(const Body& body, const FramePtr& frame) {
    for (const Stmt& s : body) {
      const Flow flow = exec(s, frame);
      if (flow != Flow::kNormal) return flow;
    }
    return Flow::kNormal;
  }

  Flow exec(const Stmt& s, const FramePtr& frame) {
    try {
      return exec_inner(s, frame);
    } catch (const JinjaError& e) {  // from work done outside any expression, like a {% call %}
      fail_at(s.where, e.what());
    }
  }

  Flow exec_inner(const Stmt& s, const FramePtr& frame) {
    if (const auto* t = std::get_if<TextStmt>(&s.node)) {
      emit(s.where, t->text);
    } else if (const auto* o = std::get_if<OutputStmt>(&s.node)) {
      const Value v = eval(*o->expr, frame);
      if (v.is_string()) {
        emit(s.where, v.as_string());
      } else {
        emit(s.where, located_str(v, o->expr->where));
      }
    } else if (const auto* i = std::get_if<IfStmt>(&s.node)) {
      for (const auto& [cond, body] : i->branches) {
        if (eval(*cond, frame).truthy()) return exec_body(body, frame);
      }
      return exec_body(i->else_body, frame);
    } else if (const auto* f = std::get_if<ForStmt>(&s.node)) {
      return exec_for(*f, s.where, frame);
    } else if (const auto* set = std::get_if<SetStmt>(&s.node)) {
      exec_set(*set, s.where, frame);
    } else if (const auto* m = std::get_if<MacroStmt>(&s.node)) {
      frame->set(m->name, make_macro(*m, frame));
    } else if (const auto* c = std::get_if<CallBlockStmt>(&s.node)) {
      exec_call_block(*c, s.where, frame);
    } else if (const auto* fb = std::get_if<FilterBlockStmt>(&s.node)) {
      Value v(capture(fb->body, frame));
      emit(s.where, apply_filters(fb->filters, std::move(v), frame).str());
    } else if (const auto* w = std::get_if<WithStmt>(&s.node)) {
      auto inner = std::make_shared<Frame>(frame);
      for (const auto& [name, expr] : w->assignments) inner->set(name, eval(*expr, inner));
      return exec_body(w->body, inner);
    } else if (std::holds_alternative<BreakStmt>(s.node)) {
      return Flow::kBreak;
    } else if (std::holds_alternative<ContinueStmt>(s.node)) {
      return Flow::kContinue;
    } else if (const auto* d = std::get_if<DoStmt>(&s.node)) {
      eval(*d->expr, frame);
    } else if (const auto* scope = std::get_if<ScopeStmt>(&s.node)) {
      return exec_body(scope->body, frame);
    }
    return Flow::kNormal;
  }

  std::string located_str(const Value& v, const SourceLocation& where) {
    try {
      return v.str();
    } catch (const JinjaError& e) {
      fail_at(where, e.what());
    }
  }

  void bind_targets(const std::vector<std::string>& targets, const Value& item, Frame& frame,
                    const SourceLocation& where) {
    if (targets.size() == 1) {
      frame.set(targets[0], item);
      return;
    }
    if (!item.is_sequence() && !item.is_string()) {
      fail_at(where, "cannot unpack a " + item.type_name() + " into " + std::to_string(targets.size()) + " names");
    }
    const ValueList parts = iterate(item);
    if (parts.size() != targets.size()) {
      fail_at(where, "cannot unpack " + std::to_string(parts.size()) + " values into " +
                         std::to_string(targets.size()) + " names");
    }
    for (size_t i = 0; i < parts.size(); ++i) frame.set(targets[i], parts[i]);
  }

  Flow exec_for(const ForStmt& f, const SourceLocation& where, const FramePtr& frame) {
    const Value iterable = eval(*f.iterable, frame);
    ValueList items;
    try {
      items = iterate(iterable);
    } catch (const JinjaError& e) {
      fail_at(f.iterable->where, e.what());
    }
    if (f.filter) {
      ValueList kept;
      for (Value& item : items) {
        try {
          count_iterations(1);
        } catch (const JinjaError& e) {
          fail_at(where, e.what());
        }
        auto probe = std::make_shared<Frame>(frame);
        bind_targets(f.targets, item, *probe, where);
        if (eval(*f.filter, probe).truthy()) kept.push_back(std::move(item));
      }
      items = std::move(kept);
    }
    if (items.empty()) return exec_body(f.else_body, frame);
    const auto n = static_cast<int64_t>(items.size());
    // One cycle() per loop, reading the current position, rather than one per iteration.
    auto position = std::make_shared<int64_t>(0);
    const Value cycle = Value::function("loop.cycle", [position](CallArgs& args) {
      if (args.positional.empty()) throw JinjaError("loop.cycle() needs at least one value");
      return args.positional[static_cast<size_t>(*position) % args.positional.size()];
    });
    for (int64_t i = 0; i < n; ++i) {
      try {
        count_iterations(1);
      } catch (const JinjaError& e) {
        fail_at(where, e.what());
      }
      auto inner = std::make_shared<Frame>(frame);
      bind_targets(f.targets, items[static_cast<size_t>(i)], *inner, where);
      ValueDict loop;
      loop.reserve(12);
      loop.insert_new(Value("index"), Value(i + 1));
      loop.insert_new(Value("index0"), Value(i));
      loop.insert_new(Value("revindex"), Value(n - i));
      loop.insert_new(Value("revindex0"), Value(n - i - 1));
      loop.insert_new(Value("first"), Value(i == 0));
      loop.insert_new(Value("last"), Value(i == n - 1));
      loop.insert_new(Value("length"), Value(n));
      loop.insert_new(Value("depth"), Value(1));
      loop.insert_new(Value("depth0"), Value(0));
      if (i > 0) loop.insert_new(Value("previtem"), items[static_cast<size_t>(i - 1)]);
      if (i + 1 < n) loop.insert_new(Value("nextitem"), items[static_cast<size_t>(i + 1)]);
      loop.insert_new(Value("cycle"), cycle);
      *position = i;
      inner->set("loop", Value::dict(std::move(loop)));
      const Flow flow = exec_body(f.body, inner);
      if (flow == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }

  void exec_set(const SetStmt& s, const SourceLocation& where, const FramePtr& frame) {
    Value v;
    if (s.value) {
      v = eval(*s.value, frame);
    } else {
      v = apply_filters(s.filters, Value(capture(s.body, frame)), frame);
    }
    if (!s.attribute.empty()) {
      const Value* target = frame->lookup(s.targets[0]);
      if (!target || !target->is_namespace()) {
        fail_at(where, "cannot assign attribute '" + s.attribute + "' on '" + s.targets[0] +
                           "': only namespace() objects take attribute assignment");
      }
      try {
        refuse_cycle(*target, v);
      } catch (const JinjaError& e) {
        fail_at(where, e.what());
      }
      target->entries().set(Value(s.attribute), std::move(v));
      return;
    }
    if (s.targets.size() == 1) {
      frame->set(s.targets[0], std::move(v));
    } else {
      bind_targets(s.targets, v, *frame, where);
    }
  }

  Value apply_filters(const std::vector<FilterCall>& filters, Value v, const FramePtr& frame) {
    for (const FilterCall& f : filters) {
      CallArgs args;
      for (const auto& a : f.args) args.positional.push_back(eval(*a, frame));
      for (const auto& [k, a] : f.keywords) args.keyword.emplace_back(k, eval(*a, frame));
      try {
        v = check_size(apply_filter(f.name, v, args));
      } catch (const JinjaError& e) {
        fail_at(f.where, e.what());
      }
    }
    return v;
  }

  // ---- macros --------------------------------------------------------------

  struct DepthGuard {
    DepthGuard(Renderer& r, const std::string& name) : renderer(r) {
      if (++renderer.call_depth_ > renderer.limits_.max_call_depth) {
        --renderer.call_depth_;
        throw JinjaError("calls to '" + name + "' nested more than " + std::to_string(renderer.limits_.max_call_depth) +
                         " deep (unbounded recursion?)");
      }
    }
    ~DepthGuard() { --renderer.call_depth_; }
    Renderer& renderer;
  };

  // Binds a call's arguments to parameters the way jinja2 binds macro
  // arguments: missing ones take their defaults (evaluated in the new scope,
  // so they may use earlier parameters) or are undefined; extras land in
  // varargs and kwargs.
  void bind_params(const std::vector<MacroParam>& params, CallArgs& args, const FramePtr& f, const std::string& name) {
    std::vector<bool> given(params.size(), false);
    ValueList varargs;
    for (size_t i = 0; i < args.positional.size(); ++i) {
      if (i < params.size()) {
        f->set(params[i].name, args.positional[i]);
        given[i] = true;
      } else {
        varargs.push_back(args.positional[i]);
      }
    }
    Value kwargs = Value::dict();
    for (auto& [k, v] : args.keyword) {
      if (k == "caller") {
        f->set("caller", v);
        continue;
      }
      size_t idx = 0;
      while (idx < params.size() && params[idx].name != k) ++idx;
      if (idx == params.size()) {
        kwargs.entries().set(Value(k), v);
      } else {
        if (given[idx]) throw JinjaError("'" + name + "' got multiple values for argument '" + k + "'");
        f->set(k, v);
        given[idx] = true;
      }
    }
    for (size_t i = 0; i < params.size(); ++i) {
      if (given[i]) continue;
      f->set(params[i].name, params[i].default_value ? eval(*params[i].default_value, f)
                                                     : Value::undefined("'" + params[i].name + "' is undefined"));
    }
    f->set("varargs", Value::tuple(std::move(varargs)));
    f->set("kwargs", std::move(kwargs));
  }

  Value make_macro(const MacroStmt& m, const FramePtr& frame) {
    // A weak reference: the macro usually lives in the very scope it captures.
    std::weak_ptr<Frame> scope = frame;
    return Value::function(m.name, [this, &m, scope](CallArgs& args) {
      FramePtr parent = scope.lock();
      if (!parent) throw JinjaError("macro '" + m.name + "' was called after the scope defining it ended");
      DepthGuard guard(*this, m.name);
      auto f = std::make_shared<Frame>(parent);
      bind_params(m.params, args, f, m.name);
      return Value(capture(m.body, f));
    });
  }

  void exec_call_block(const CallBlockStmt& c, const SourceLocation& where, const FramePtr& frame) {
    std::weak_ptr<Frame> scope = frame;
    Value caller = Value::function("caller", [this, &c, scope](CallArgs& args) {
      FramePtr parent = scope.lock();
      if (!parent) throw JinjaError("caller() was called after its {% call %} block ended");
      DepthGuard guard(*this, "caller");
      auto f = std::make_shared<Frame>(parent);
      bind_params(c.caller_params, args, f, "caller");
      return Value(capture(c.body, f));
    });
    const Expr& call = *c.call;
    const Value callee = eval(*call.operands[0], frame);
    CallArgs args = eval_args(call, frame);
    args.keyword.emplace_back("caller", caller);
    emit(where, call_value(callee, args).str());
  }

  // ---- expressions ---------------------------------------------------------

  Value eval(const Expr& e, const FramePtr& frame) {
    try {
      return eval_inner(e, frame);
    } catch (const RaisedError& r) {
      throw Error(ErrorCode::kInvalidArgument, std::string(r.what()) + " (raised by the template at line " +
                                                   std::to_string(e.where.line) + ", column " +
                                                   std::to_string(e.where.column) + ")");
    } catch (const JinjaError& err) {
      fail_at(e.where, err.what());
    }
  }

  CallArgs eval_args(const Expr& e, const FramePtr& frame) {
    CallArgs args;
    for (size_t i = 1; i < e.operands.size(); ++i) args.positional.push_back(eval(*e.operands[i], frame));
    for (const auto& [k, a] : e.keywords) args.keyword.emplace_back(k, eval(*a, frame));
    return args;
  }

  static Value call_value(const Value& callee, CallArgs& args) {
    if (callee.is_undefined()) fail_undefined(callee);
    if (!callee.is_function()) throw JinjaError("'" + callee.type_name() + "' object is not callable");
    return callee.function().call(args);
  }

  Value eval_inner(const Expr& e, const FramePtr& frame) {
    switch (e.kind) {
      case ExprKind::kLiteral:
        return e.literal;
      case ExprKind::kName: {
        if (const Value* v = frame->lookup(e.name)) return *v;
        return Value::undefined("'" + e.name + "' is undefined");
      }
      case ExprKind::kList:
      case ExprKind::kTuple: {
        ValueList items;
        items.reserve(e.operands.size());
        for (const auto& o : e.operands) items.push_back(eval(*o, frame));
        return e.kind == ExprKind::kList ? Value::list(std::move(items)) : Value::tuple(std::move(items));
      }
      case ExprKind::kDict: {
        Value d = Value::dict();
        for (size_t i = 0; i + 1 < e.operands.size(); i += 2) {
          Value k = eval(*e.operands[i], frame);
          d.entries().set(k, eval(*e.operands[i + 1], frame));
        }
        return d;
      }
      case ExprKind::kGetAttr:
        return get_attr(eval(*e.operands[0], frame), e.name);
      case ExprKind::kGetItem: {
        const Value object = eval(*e.operands[0], frame);
        return get_item(object, eval(*e.operands[1], frame));
      }
      case ExprKind::kSlice: {
        const Value object = eval(*e.operands[0], frame);
        auto part = [&](size_t i) { return e.operands[i] ? eval(*e.operands[i], frame) : Value(); };
        return get_slice(object, part(1), part(2), part(3));
      }
      case ExprKind::kCall:
        return eval_call(e, frame);
      case ExprKind::kFilter: {
        const Value input = eval(*e.operands[0], frame);
        CallArgs args = eval_args(e, frame);
        return check_size(apply_filter(e.name, input, args));
      }
      case ExprKind::kTest: {
        const Value input = eval(*e.operands[0], frame);
        CallArgs args = eval_args(e, frame);
        return Value(apply_test(e.name, input, args) != e.negated);
      }
      case ExprKind::kUnary:
        return unary(e.name, eval(*e.operands[0], frame));
      case ExprKind::kBinary: {
        const Value a = eval(*e.operands[0], frame);
        const Value b = eval(*e.operands[1], frame);
        return check_size(binary(e.name, a, b));
      }
      case ExprKind::kAnd: {
        Value a = eval(*e.operands[0], frame);
        return a.truthy() ? eval(*e.operands[1], frame) : a;
      }
      case ExprKind::kOr: {
        Value a = eval(*e.operands[0], frame);
        return a.truthy() ? a : eval(*e.operands[1], frame);
      }
      case ExprKind::kCompare: {
        Value left = eval(*e.operands[0], frame);
        for (size_t i = 0; i < e.compare_ops.size(); ++i) {
          Value right = eval(*e.operands[i + 1], frame);
          if (!compare(e.compare_ops[i], left, right)) return Value(false);
          left = std::move(right);
        }
        return Value(true);
      }
      case ExprKind::kCondition: {
        if (eval(*e.operands[0], frame).truthy()) return eval(*e.operands[1], frame);
        if (e.operands[2]) return eval(*e.operands[2], frame);
        return Value::undefined("the condition of an 'if' expression without 'else' was false");
      }
    }
    return Value();
  }

  Value eval_call(const Expr& e, const FramePtr& frame) {
    const Expr& callee = *e.operands[0];
    if (callee.kind == ExprKind::kGetAttr) {
      const Value object = eval(*callee.operands[0], frame);
      CallArgs args = eval_args(e, frame);
      Value result;
      if (call_method(object, callee.name, args, result)) return result;
      const Value fn = get_attr(object, callee.name);
      if (fn.is_undefined() && !object.is_undefined() && !object.is_dict() && !object.is_namespace()) {
        throw JinjaError("'" + object.type_name() + "' object has no method '" + callee.name + "'");
      }
      return call_value(fn, args);
    }
    const Value fn = eval(callee, frame);
    CallArgs args = eval_args(e, frame);
    return call_value(fn, args);
  }

  static Value unary(const std::string& op, const Value& v) {
    if (op == "not") return Value(!v.truthy());
    if (v.is_undefined()) fail_undefined(v);
    if (!v.is_number()) throw JinjaError("bad operand type for unary " + op + ": '" + v.type_name() + "'");
    if (op == "+") return v.is_float() ? v : Value(v.as_int());
    if (v.is_float()) return Value(-v.as_float());
    if (v.as_int() == std::numeric_limits<int64_t>::min()) throw JinjaError("integer overflow");
    return Value(-v.as_int());
  }

  static bool compare(const std::string& op, const Value& a, const Value& b) {
    if (op == "==") return a == b;
    if (op == "!=") return a != b;
    if (op == "in") return contains(b, a);
    if (op == "notin") return !contains(b, a);
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    if (op == "<") return value_less(a, b);
    if (op == ">") return value_less(b, a);
    if (op == "<=") return !value_less(b, a);
    return !value_less(a, b);  // >=
  }

  [[noreturn]] static void unsupported(const std::string& op, const Value& a, const Value& b) {
    throw JinjaError("unsupported operand type(s) for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
  }

  Value repeat(const Value& seq, int64_t times) const {
    times = std::max<int64_t>(times, 0);
    if (seq.is_string()) {
      const auto total = static_cast<double>(seq.as_string().size()) * static_cast<double>(times);
      if (total > static_cast<double>(limits_.max_output_bytes)) {
        throw JinjaError("repeating a string " + std::to_string(times) + " times exceeds the limit of " +
                         std::to_string(limits_.max_output_bytes) + " bytes");
      }
      std::string out;
      out.reserve(static_cast<size_t>(total));
      for (int64_t i = 0; i < times; ++i) out += seq.as_string();
      return Value(std::move(out));
    }
    const auto total = static_cast<double>(seq.items().size()) * static_cast<double>(times);
    if (total > static_cast<double>(limits_.max_loop_iterations)) {
      throw JinjaError("repeating a list " + std::to_string(times) + " times exceeds the limit of " +
                       std::to_string(limits_.max_loop_iterations) + " items");
    }
    ValueList out;
    out.reserve(static_cast<size_t>(total));
    for (int64_t i = 0; i < times; ++i) out.insert(out.end(), seq.items().begin(), seq.items().end());
    return seq.is_tuple() ? Value::tuple(std::move(out)) : Value::list(std::move(out));
  }

  Value binary(const std::string& op, const Value& a, const Value& b) const {
    if (op == "~") return Value(a.str() + b.str());
    if (a.is_undefined()) fail_undefined(a);
    if (b.is_undefined()) fail_undefined(b);
    const bool numbers = a.is_number() && b.is_number();
    const bool floats = numbers && (a.is_float() || b.is_float());
    if (op == "+") {
      if (floats) return Value(a.as_float() + b.as_float());
      if (numbers) return Value(add_checked(a.as_int(), b.as_int()));
      if (a.is_string() && b.is_string()) return Value(a.as_string() + b.as_string());
      if (a.kind() == b.kind() && a.is_sequence()) {
        ValueList items = a.items();
        items.insert(items.end(), b.items().begin(), b.items().end());
        return a.is_tuple() ? Value::tuple(std::move(items)) : Value::list(std::move(items));
      }
      unsupported(op, a, b);
    }
    if (op == "-") {
      if (floats) return Value(a.as_float() - b.as_float());
      if (numbers) return Value(sub_checked(a.as_int(), b.as_int()));
      unsupported(op, a, b);
    }
    if (op == "*") {
      if (floats) return Value(a.as_float() * b.as_float());
      if (numbers) return Value(mul_checked(a.as_int(), b.as_int()));
      const bool a_seq = a.is_string() || a.is_sequence();
      const bool b_seq = b.is_string() || b.is_sequence();
      if (a_seq && (b.is_int() || b.is_bool())) return repeat(a, b.as_int());
      if (b_seq && (a.is_int() || a.is_bool())) return repeat(b, a.as_int());
      unsupported(op, a, b);
    }
    if (op == "%" && a.is_string())
      throw JinjaError("string formatting with % is not supported; use ~ to join strings");
    if (!numbers) unsupported(op, a, b);
    if (op == "/") {
      if (b.as_float() == 0) throw JinjaError("division by zero");
      return Value(a.as_float() / b.as_float());
    }
    if (op == "//" || op == "%") {
      if (floats) {
        const double x = a.as_float(), y = b.as_float();
        if (y == 0) throw JinjaError(op == "//" ? "float floor division by zero" : "float modulo by zero");
        if (op == "//") return Value(std::floor(x / y));
        double m = std::fmod(x, y);
        if (m != 0 && ((m < 0) != (y < 0))) m += y;  // Python's modulo takes the divisor's sign
        return Value(m);
      }
      const int64_t x = a.as_int(), y = b.as_int();
      if (y == 0) throw JinjaError(op == "//" ? "integer division by zero" : "integer modulo by zero");
      if (x == std::numeric_limits<int64_t>::min() && y == -1) {
        if (op == "%") return Value(0);
        throw JinjaError("integer overflow");
      }
      int64_t q = x / y, m = x % y;
      if (m != 0 && ((m < 0) != (y < 0))) {
        --q;
        m += y;
      }
      return op == "//" ? Value(q) : Value(m);
    }
    if (op == "**") {
      if (floats || b.as_int() < 0) {
        const double base = a.as_float(), exp = b.as_float();
        if (base == 0 && exp < 0) throw JinjaError("0.0 cannot be raised to a negative power");
        return Value(std::pow(base, exp));
      }
      int64_t result = 1, base = a.as_int(), exp = b.as_int();
      while (exp > 0) {
        if (exp & 1) result = mul_checked(result, base);
        exp >>= 1;
        if (exp > 0) base = mul_checked(base, base);
      }
      return Value(result);
    }
    throw JinjaError("unknown operator '" + op + "'");
  }

  const RenderOptions& options_;
  const RenderLimits& limits_;
  std::string* out_ = nullptr;
  uint64_t iterations_ = 0;
  int call_depth_ = 0;
};

}  // namespace

Template Template::parse(std::string_view source, const ParseOptions& options) {
  Template t;
  t.body_ = std::make_shared<const Body>(parse_template(source, options));
  return t;
}

std::string Template::render(const ValueDict& context, const RenderOptions& options) const {
  if (!body_) throw Error(ErrorCode::kInvalidArgument, "rendering a template that was never parsed");
  return Renderer(options).run(*body_, context);
}

}  // namespace hearth::runtime::jinja
