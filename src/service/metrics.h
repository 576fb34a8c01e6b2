// Metrics: a thread-safe registry of Prometheus counters, gauges and histograms
// with labels, rendered for GET /metrics in the text exposition format 0.0.4.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::service {

// The Content-Type of a GET /metrics answer.
inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

// One labelled child of a family. Update calls are lock-free atomics and never
// throw, so a handle taken once from a family can be updated per token.
class Counter {
 public:
  // Counters only go up: a negative or NaN amount is ignored (a caller's bug,
  // but a hot path must not throw).
  void inc(double amount = 1) {
    if (amount > 0) value_.fetch_add(amount, std::memory_order_relaxed);
  }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Gauge {
 public:
  void set(double value) { value_.store(value, std::memory_order_relaxed); }
  void inc(double amount = 1) { value_.fetch_add(amount, std::memory_order_relaxed); }
  void dec(double amount = 1) { value_.fetch_sub(amount, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

class Histogram {
 public:
  // `bounds`: the upper bounds, strictly increasing, without +Inf; owned by
  // the family, which outlives its children.
  explicit Histogram(const std::vector<double>& bounds);
  // Counts `value` in the first bucket whose bound is >= value (a value equal
  // to a bound is in that bucket, as "le" says). NaN is ignored.
  void observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // per bound, then +Inf (== count)
    double sum = 0;
    uint64_t count = 0;
  };
  // Count is the sum of the buckets read, so +Inf always equals _count even
  // while other threads observe.
  Snapshot snapshot() const;

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// Prometheus's default buckets (seconds): .005 .01 .025 .05 .1 .25 .5 1 2.5 5 10.
std::vector<double> default_buckets();
// start, start*factor, ... (count bounds); start > 0, factor > 1.
std::vector<double> exponential_buckets(double start, double factor, size_t count);
// start, start+width, ... (count bounds); width > 0.
std::vector<double> linear_buckets(double start, double width, size_t count);

// A value as the text format writes it: integers without a fraction, others in
// the shortest form that reads back exactly, "+Inf", "-Inf", "NaN".
std::string format_metric_value(double value);
// A label value escaped for the text format (backslash, double quote, newline).
std::string escape_label_value(std::string_view value);
bool is_valid_metric_name(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool is_valid_label_name(std::string_view name);   // [a-zA-Z_][a-zA-Z0-9_]*, not starting "__"

// A metric with a name, help text and label names; its children are its
// samples, one per set of label values.
class MetricFamily {
 public:
  enum class Type { kCounter, kGauge, kHistogram };
  MetricFamily(std::string name, std::string help, Type type, std::vector<std::string> label_names);
  virtual ~MetricFamily() = default;
  MetricFamily(const MetricFamily&) = delete;
  MetricFamily& operator=(const MetricFamily&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  Type type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Appends "# HELP", "# TYPE" and the samples, children in label-value order.
  void render(std::string& out) const;

 protected:
  // The sample lines, after HELP and TYPE.
  virtual void render_samples(std::string& out) const = 0;
  // `k1="v1",k2="v2"` for these values (no braces).
  std::string label_pairs(const std::vector<std::string>& values) const;
  void check_label_count(size_t count) const;

 private:
  std::string name_;
  std::string help_;
  Type type_;
  std::vector<std::string> label_names_;
};

// A family whose children are created on first use and live as long as it:
// references returned by with() stay valid, so take them once and keep them.
template <class Child>
class LabelledFamily : public MetricFamily {
 public:
  using MetricFamily::MetricFamily;

  // The child for these label values (as many as label_names(), in order).
  // Throws hearth::Error kInvalidArgument for the wrong number of values.
  Child& with(std::initializer_list<std::string_view> label_values);
  Child& with(const std::vector<std::string>& label_values);
  // The one child of a family without labels.
  Child& get() { return with(std::vector<std::string>{}); }

 protected:
  virtual std::unique_ptr<Child> make_child() const = 0;
  void render_samples(std::string& out) const override;
  virtual void render_child(std::string& out, const std::vector<std::string>& values,
                            const Child& child) const = 0;

 private:
  mutable std::mutex mutex_;
  std::map<std::vector<std::string>, std::unique_ptr<Child>> children_;
};

class CounterFamily final : public LabelledFamily<Counter> {
 public:
  CounterFamily(std::string name, std::string help, std::vector<std::string> label_names);

 private:
  std::unique_ptr<Counter> make_child() const override;
  void render_child(std::string& out, const std::vector<std::string>& values,
                    const Counter& child) const override;
};

class GaugeFamily final : public LabelledFamily<Gauge> {
 public:
  GaugeFamily(std::string name, std::string help, std::vector<std::string> label_names);

 private:
  std::unique_ptr<Gauge> make_child() const override;
  void render_child(std::string& out, const std::vector<std::string>& values,
                    const Gauge& child) const override;
};

class HistogramFamily final : public LabelledFamily<Histogram> {
 public:
  HistogramFamily(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds);
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  std::unique_ptr<Histogram> make_child() const override;
  void render_child(std::string& out, const std::vector<std::string>& values,
                    const Histogram& child) const override;
  std::vector<double> bounds_;
};

// A gauge whose samples are computed at scrape time (queue depth, resident
// models and their memory): no one has to keep it up to date.
struct GaugeSample {
  std::vector<std::string> label_values;
  double value = 0;
};
using GaugeCallback = std::function<std::vector<GaugeSample>()>;

class CallbackGaugeFamily final : public MetricFamily {
 public:
  CallbackGaugeFamily(std::string name, std::string help, std::vector<std::string> label_names,
                      GaugeCallback callback);

 private:
  // Samples with the wrong number of label values, or repeating an earlier
  // sample's, are dropped; if the callback throws, the family has no samples.
  void render_samples(std::string& out) const override;
  GaugeCallback callback_;
};

// Registering a name again with the same type, labels (and buckets) returns
// the existing family, so components can share one without passing it around;
// anything else about names throws hearth::Error kInvalidArgument: an invalid
// metric or label name, a repeated label name, "le" on a histogram, a name
// registered as something else, or one a histogram's _bucket/_sum/_count
// would clash with. Thread-safe.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  CounterFamily& counter(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names = {});
  // Bounds strictly increasing and not NaN; a trailing +Inf is implied and may be omitted.
  HistogramFamily& histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names,
                             std::vector<double> bounds = default_buckets());
  // The callback runs on the scraping thread with no registry lock held, so
  // it may take the locks of the component it reads. A name registers once.
  void gauge_callback(const std::string& name, const std::string& help,
                      std::vector<std::string> label_names, GaugeCallback callback);
  void gauge_callback(const std::string& name, const std::string& help,
                      std::function<double()> callback);

  // Every family in name order: the body of a GET /metrics answer.
  std::string render() const;

 private:
  template <class Family, class... Extra>
  Family& add(const std::string& name, const std::string& help, MetricFamily::Type type,
              std::vector<std::string>& label_names, Extra&&... extra);

  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<MetricFamily>> families_;  // name order is the render order
};

}  // namespace hearth::service
