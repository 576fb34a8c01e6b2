#include "service/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <tuple>
#include <type_traits>
#include <utility>

#include "core/error.h"

namespace hearth::service {
namespace {

bool is_name_char(char c, bool first, bool allow_colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_') return true;
  if (allow_colon && c == ':') return true;
  return !first && c >= '0' && c <= '9';
}

// HELP text escapes only backslash and newline (a double quote stays as it is).
void append_help(std::string& out, std::string_view help) {
  for (char c : help) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

const char* type_name(MetricFamily::Type type) {
  switch (type) {
    case MetricFamily::Type::kCounter: return "counter";
    case MetricFamily::Type::kGauge: return "gauge";
    case MetricFamily::Type::kHistogram: return "histogram";
  }
  return "untyped";
}

// name{pairs} value\n; no braces when there are no labels.
void append_sample(std::string& out, std::string_view name, const std::string& pairs, double value) {
  out += name;
  if (!pairs.empty()) {
    out += '{';
    out += pairs;
    out += '}';
  }
  out += ' ';
  out += format_metric_value(value);
  out += '\n';
}

// Sample names a family writes: a histogram's three suffixes must not be
// another family's name, nor the other way round.
std::vector<std::string> sample_names(const std::string& name, MetricFamily::Type type) {
  if (type != MetricFamily::Type::kHistogram) return {name};
  return {name, name + "_bucket", name + "_sum", name + "_count"};
}

std::vector<double> checked_bounds(const std::string& name, std::vector<double> bounds) {
  if (!bounds.empty() && bounds.back() == std::numeric_limits<double>::infinity()) {
    bounds.pop_back();  // +Inf is always the last bucket; saying so is allowed
  }
  for (size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      throw Error(ErrorCode::kInvalidArgument,
                  "metric " + name + ": bucket bound " + std::to_string(i) + " is not finite");
    }
    if (i > 0 && !(bounds[i - 1] < bounds[i])) {
      throw Error(ErrorCode::kInvalidArgument,
                  "metric " + name + ": bucket bounds must be strictly increasing (" +
                      format_metric_value(bounds[i - 1]) + " then " +
                      format_metric_value(bounds[i]) + ")");
    }
  }
  return bounds;
}

}  // namespace

std::string format_metric_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Integral values (counts, bytes, tokens) read best without an exponent;
  // 2^53 is where doubles stop holding every integer.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0) {
    return std::to_string(static_cast<int64_t>(value));
  }
  char buf[32];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '"': out += "\\\""; break;
      case '\n': out += "\\n"; break;
      default: out += c;
    }
  }
  return out;
}

bool is_valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0, true)) return false;
  }
  return true;
}

bool is_valid_label_name(std::string_view name) {
  if (name.empty() || name.substr(0, 2) == "__") return false;  // "__" is Prometheus's own
  for (size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i], i == 0, false)) return false;
  }
  return true;
}

std::vector<double> default_buckets() {
  return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}

std::vector<double> exponential_buckets(double start, double factor, size_t count) {
  if (!(start > 0) || !(factor > 1)) {
    throw Error(ErrorCode::kInvalidArgument,
                "exponential buckets need start > 0 and factor > 1 (got start " +
                    format_metric_value(start) + ", factor " + format_metric_value(factor) + ")");
  }
  std::vector<double> bounds;
  for (size_t i = 0; i < count; ++i) bounds.push_back(start * std::pow(factor, static_cast<double>(i)));
  return bounds;
}

std::vector<double> linear_buckets(double start, double width, size_t count) {
  if (!(width > 0) || !std::isfinite(start)) {
    throw Error(ErrorCode::kInvalidArgument, "linear buckets need a finite start and width > 0 (got " +
                                                 format_metric_value(width) + ")");
  }
  std::vector<double> bounds;
  for (size_t i = 0; i < count; ++i) bounds.push_back(start + width * static_cast<double>(i));
  return bounds;
}

// ---- Histogram ----------------------------------------------------------------

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::observe(double value) {
  if (std::isnan(value)) return;  // it would make _sum NaN for good
  // lower_bound: the first bound >= value, so a value on a bound counts there.
  const size_t bucket = static_cast<size_t>(
      std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::snapshot() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t total = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    total += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = total;
  }
  s.count = total;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

// ---- Families -----------------------------------------------------------------

MetricFamily::MetricFamily(std::string name, std::string help, Type type,
                           std::vector<std::string> label_names)
    : name_(std::move(name)), help_(std::move(help)), type_(type), label_names_(std::move(label_names)) {}

void MetricFamily::render(std::string& out) const {
  out += "# HELP ";
  out += name_;
  out += ' ';
  append_help(out, help_);
  out += "\n# TYPE ";
  out += name_;
  out += ' ';
  out += type_name(type_);
  out += '\n';
  render_samples(out);
}

std::string MetricFamily::label_pairs(const std::vector<std::string>& values) const {
  std::string out;
  for (size_t i = 0; i < label_names_.size() && i < values.size(); ++i) {
    if (i) out += ',';
    out += label_names_[i];
    out += "=\"";
    out += escape_label_value(values[i]);
    out += '"';
  }
  return out;
}

void MetricFamily::check_label_count(size_t count) const {
  if (count != label_names_.size()) {
    throw Error(ErrorCode::kInvalidArgument,
                "metric " + name_ + ": " + std::to_string(count) + " label values given, it has " +
                    std::to_string(label_names_.size()) + " labels");
  }
}

template <class Child>
Child& LabelledFamily<Child>::with(std::initializer_list<std::string_view> label_values) {
  std::vector<std::string> values;
  values.reserve(label_values.size());
  for (std::string_view v : label_values) values.emplace_back(v);
  return with(values);
}

template <class Child>
Child& LabelledFamily<Child>::with(const std::vector<std::string>& label_values) {
  check_label_count(label_values.size());
  std::lock_guard lock(mutex_);
  auto it = children_.find(label_values);
  if (it == children_.end()) it = children_.emplace(label_values, make_child()).first;
  return *it->second;
}

template <class Child>
void LabelledFamily<Child>::render_samples(std::string& out) const {
  std::lock_guard lock(mutex_);
  for (const auto& [values, child] : children_) render_child(out, values, *child);
}

template class LabelledFamily<Counter>;
template class LabelledFamily<Gauge>;
template class LabelledFamily<Histogram>;

CounterFamily::CounterFamily(std::string name, std::string help, std::vector<std::string> label_names)
    : LabelledFamily(std::move(name), std::move(help), Type::kCounter, std::move(label_names)) {}
std::unique_ptr<Counter> CounterFamily::make_child() const { return std::make_unique<Counter>(); }
void CounterFamily::render_child(std::string& out, const std::vector<std::string>& values,
                                 const Counter& child) const {
  append_sample(out, name(), label_pairs(values), child.value());
}

GaugeFamily::GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names)
    : LabelledFamily(std::move(name), std::move(help), Type::kGauge, std::move(label_names)) {}
std::unique_ptr<Gauge> GaugeFamily::make_child() const { return std::make_unique<Gauge>(); }
void GaugeFamily::render_child(std::string& out, const std::vector<std::string>& values,
                               const Gauge& child) const {
  append_sample(out, name(), label_pairs(values), child.value());
}

HistogramFamily::HistogramFamily(std::string name, std::string help,
                                 std::vector<std::string> label_names, std::vector<double> bounds)
    : LabelledFamily(std::move(name), std::move(help), Type::kHistogram, std::move(label_names)),
      bounds_(std::move(bounds)) {}
std::unique_ptr<Histogram> HistogramFamily::make_child() const {
  return std::make_unique<Histogram>(bounds_);
}
void HistogramFamily::render_child(std::string& out, const std::vector<std::string>& values,
                                   const Histogram& child) const {
  const Histogram::Snapshot s = child.snapshot();
  const std::string pairs = label_pairs(values);
  const std::string bucket = name() + "_bucket";
  const std::string prefix = pairs.empty() ? std::string() : pairs + ",";
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    const std::string le = i < bounds_.size() ? format_metric_value(bounds_[i]) : "+Inf";
    append_sample(out, bucket, prefix + "le=\"" + le + "\"", static_cast<double>(s.cumulative[i]));
  }
  append_sample(out, name() + "_sum", pairs, s.sum);
  append_sample(out, name() + "_count", pairs, static_cast<double>(s.count));
}

CallbackGaugeFamily::CallbackGaugeFamily(std::string name, std::string help,
                                         std::vector<std::string> label_names, GaugeCallback callback)
    : MetricFamily(std::move(name), std::move(help), Type::kGauge, std::move(label_names)),
      callback_(std::move(callback)) {}

void CallbackGaugeFamily::render_samples(std::string& out) const {
  std::vector<GaugeSample> samples;
  try {
    samples = callback_();
  } catch (...) {
    return;  // a failing component must not take /metrics down with it
  }
  // Stable order and no duplicate series, whatever order the callback used.
  std::stable_sort(samples.begin(), samples.end(), [](const GaugeSample& a, const GaugeSample& b) {
    return a.label_values < b.label_values;
  });
  const std::vector<std::string>* previous = nullptr;
  for (const GaugeSample& s : samples) {
    if (s.label_values.size() != label_names().size()) continue;
    if (previous && *previous == s.label_values) continue;
    append_sample(out, name(), label_pairs(s.label_values), s.value);
    previous = &s.label_values;
  }
}

// ---- Registry -----------------------------------------------------------------

template <class Family, class... Extra>
Family& MetricsRegistry::add(const std::string& name, const std::string& help,
                             MetricFamily::Type type, std::vector<std::string>& label_names,
                             Extra&&... extra) {
  if (!is_valid_metric_name(name)) {
    throw Error(ErrorCode::kInvalidArgument,
                "metric name '" + name + "' is invalid: it must match [a-zA-Z_:][a-zA-Z0-9_:]*");
  }
  std::set<std::string_view> seen;
  for (const std::string& label : label_names) {
    if (!is_valid_label_name(label)) {
      throw Error(ErrorCode::kInvalidArgument,
                  "metric " + name + ": label name '" + label +
                      "' is invalid: it must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __");
    }
    if (type == MetricFamily::Type::kHistogram && label == "le") {
      throw Error(ErrorCode::kInvalidArgument,
                  "metric " + name + ": a histogram cannot have a label 'le' (its buckets use it)");
    }
    if (!seen.insert(label).second) {
      throw Error(ErrorCode::kInvalidArgument, "metric " + name + ": label '" + label + "' repeated");
    }
  }

  std::lock_guard lock(mutex_);
  if (auto it = families_.find(name); it != families_.end()) {
    auto* existing = dynamic_cast<Family*>(it->second.get());
    bool same = existing && existing->type() == type && existing->label_names() == label_names;
    if constexpr (std::is_same_v<Family, HistogramFamily>) {
      same = same && existing->bounds() == std::get<0>(std::forward_as_tuple(extra...));
    }
    if constexpr (std::is_same_v<Family, CallbackGaugeFamily>) same = false;  // callbacks don't compare
    if (!same) {
      throw Error(ErrorCode::kInvalidArgument,
                  "metric " + name + " is already registered with another type, labels or buckets");
    }
    return *existing;
  }
  for (const std::string& sample : sample_names(name, type)) {
    for (const auto& [other_name, other] : families_) {
      for (const std::string& other_sample : sample_names(other_name, other->type())) {
        if (sample == other_sample) {
          throw Error(ErrorCode::kInvalidArgument, "metric " + name + ": its series " + sample +
                                                       " clashes with metric " + other_name);
        }
      }
    }
  }
  auto family =
      std::make_unique<Family>(name, help, std::move(label_names), std::forward<Extra>(extra)...);
  Family& ref = *family;
  families_.emplace(name, std::move(family));
  // A family without labels shows its one sample (as 0) from the first scrape.
  if constexpr (!std::is_same_v<Family, CallbackGaugeFamily>) {
    if (ref.label_names().empty()) ref.get();
  }
  return ref;
}

CounterFamily& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names) {
  return add<CounterFamily>(name, help, MetricFamily::Type::kCounter, label_names);
}

GaugeFamily& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names) {
  return add<GaugeFamily>(name, help, MetricFamily::Type::kGauge, label_names);
}

HistogramFamily& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                            std::vector<std::string> label_names,
                                            std::vector<double> bounds) {
  bounds = checked_bounds(name, std::move(bounds));
  return add<HistogramFamily>(name, help, MetricFamily::Type::kHistogram, label_names, std::move(bounds));
}

void MetricsRegistry::gauge_callback(const std::string& name, const std::string& help,
                                     std::vector<std::string> label_names, GaugeCallback callback) {
  if (!callback) {
    throw Error(ErrorCode::kInvalidArgument, "metric " + name + ": the gauge callback is empty");
  }
  add<CallbackGaugeFamily>(name, help, MetricFamily::Type::kGauge, label_names, std::move(callback));
}

void MetricsRegistry::gauge_callback(const std::string& name, const std::string& help,
                                     std::function<double()> callback) {
  if (!callback) {
    throw Error(ErrorCode::kInvalidArgument, "metric " + name + ": the gauge callback is empty");
  }
  gauge_callback(name, help, {}, [fn = std::move(callback)]() {
    return std::vector<GaugeSample>{GaugeSample{{}, fn()}};
  });
}

std::string MetricsRegistry::render() const {
  // Families are never removed, so the pointers outlive the lock; rendering
  // without it lets callbacks take other components' locks without an ordering
  // against ours.
  std::vector<const MetricFamily*> families;
  {
    std::lock_guard lock(mutex_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  std::string out;
  for (const MetricFamily* family : families) family->render(out);
  return out;
}

}  // namespace hearth::service
