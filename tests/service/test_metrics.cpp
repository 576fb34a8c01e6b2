// Metrics: each kind renders exactly as the Prometheus text format 0.0.4 says
// (HELP, TYPE, labels escaped, cumulative buckets with +Inf, _sum, _count), in
// a stable order; a value on a bucket bound counts in that bucket; threads
// updating at once lose nothing; invalid names and clashing registrations are
// refused. When Hearth's Python has prometheus_client, its parser reads the output.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "core/error.h"
#include "service/metrics.h"

namespace hearth::service {
namespace {

ErrorCode code_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.code();
  }
  ADD_FAILURE() << "no hearth::Error thrown";
  return ErrorCode::kInternal;
}

TEST(Metrics, CounterRendersExactly) {
  MetricsRegistry r;
  CounterFamily& requests =
      r.counter("hearth_requests_total", "HTTP requests answered.", {"endpoint", "status"});
  Counter& ok = requests.with({"/v1/chat/completions", "200"});
  ok.inc();
  ok.inc(2);
  requests.with({"/v1/completions", "400"}).inc();
  requests.with({"/v1/chat/completions", "200"}).inc(0.5);  // the same child again
  ok.inc(-5);                                                // counters never go down
  ok.inc(std::nan(""));
  EXPECT_EQ(r.render(),
            "# HELP hearth_requests_total HTTP requests answered.\n"
            "# TYPE hearth_requests_total counter\n"
            "hearth_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 3.5\n"
            "hearth_requests_total{endpoint=\"/v1/completions\",status=\"400\"} 1\n");
  EXPECT_EQ(&ok, &requests.with({"/v1/chat/completions", "200"}));
}

TEST(Metrics, UnlabelledMetricsShowZeroAtOnce) {
  MetricsRegistry r;
  r.counter("b_total", "B.");
  r.gauge("a", "A.");
  EXPECT_EQ(r.render(),
            "# HELP a A.\n"
            "# TYPE a gauge\n"
            "a 0\n"
            "# HELP b_total B.\n"
            "# TYPE b_total counter\n"
            "b_total 0\n");
}

TEST(Metrics, GaugeRendersExactly) {
  MetricsRegistry r;
  GaugeFamily& depth = r.gauge("hearth_queue_depth", "Requests waiting.");
  depth.get().set(2.5);
  depth.get().inc();
  depth.get().inc(4);
  depth.get().dec(10);
  GaugeFamily& memory = r.gauge("hearth_model_memory_bytes", "Bytes per resident model.", {"model"});
  memory.with({"smollm2"}).set(123456789);
  memory.with({"gemma"}).set(1e20);
  EXPECT_EQ(r.render(),
            "# HELP hearth_model_memory_bytes Bytes per resident model.\n"
            "# TYPE hearth_model_memory_bytes gauge\n"
            "hearth_model_memory_bytes{model=\"gemma\"} 1e+20\n"
            "hearth_model_memory_bytes{model=\"smollm2\"} 123456789\n"
            "# HELP hearth_queue_depth Requests waiting.\n"
            "# TYPE hearth_queue_depth gauge\n"
            "hearth_queue_depth -2.5\n");
}

TEST(Metrics, HistogramRendersExactly) {
  MetricsRegistry r;
  HistogramFamily& ttft =
      r.histogram("hearth_time_to_first_token_seconds", "Time to first token.", {"model"}, {0.25, 0.5, 1});
  Histogram& h = ttft.with({"smollm2"});
  for (double v : {0.125, 0.25, 0.375, 1.0, 2.0}) h.observe(v);
  h.observe(std::nan(""));  // ignored
  r.histogram("empty_seconds", "No observations.", {});
  EXPECT_EQ(r.render(),
            "# HELP empty_seconds No observations.\n"
            "# TYPE empty_seconds histogram\n"
            "empty_seconds_bucket{le=\"0.005\"} 0\n"
            "empty_seconds_bucket{le=\"0.01\"} 0\n"
            "empty_seconds_bucket{le=\"0.025\"} 0\n"
            "empty_seconds_bucket{le=\"0.05\"} 0\n"
            "empty_seconds_bucket{le=\"0.1\"} 0\n"
            "empty_seconds_bucket{le=\"0.25\"} 0\n"
            "empty_seconds_bucket{le=\"0.5\"} 0\n"
            "empty_seconds_bucket{le=\"1\"} 0\n"
            "empty_seconds_bucket{le=\"2.5\"} 0\n"
            "empty_seconds_bucket{le=\"5\"} 0\n"
            "empty_seconds_bucket{le=\"10\"} 0\n"
            "empty_seconds_bucket{le=\"+Inf\"} 0\n"
            "empty_seconds_sum 0\n"
            "empty_seconds_count 0\n"
            "# HELP hearth_time_to_first_token_seconds Time to first token.\n"
            "# TYPE hearth_time_to_first_token_seconds histogram\n"
            "hearth_time_to_first_token_seconds_bucket{model=\"smollm2\",le=\"0.25\"} 2\n"
            "hearth_time_to_first_token_seconds_bucket{model=\"smollm2\",le=\"0.5\"} 3\n"
            "hearth_time_to_first_token_seconds_bucket{model=\"smollm2\",le=\"1\"} 4\n"
            "hearth_time_to_first_token_seconds_bucket{model=\"smollm2\",le=\"+Inf\"} 5\n"
            "hearth_time_to_first_token_seconds_sum{model=\"smollm2\"} 3.75\n"
            "hearth_time_to_first_token_seconds_count{model=\"smollm2\"} 5\n");
}

TEST(Metrics, ValuesOnABoundCountInThatBucket) {
  const std::vector<double> bounds = {-1, 0, 1e-9, 3, 1000};
  Histogram h(bounds);
  for (double v : bounds) h.observe(v);
  h.observe(std::nextafter(3.0, 4.0));  // just above a bound: the next bucket
  h.observe(std::nextafter(3.0, 0.0));  // just below: this one
  h.observe(-std::numeric_limits<double>::infinity());
  h.observe(std::numeric_limits<double>::infinity());
  h.observe(1001);
  const Histogram::Snapshot s = h.snapshot();
  // Per bucket: -1: {-1, -inf}; 0: {0}; 1e-9: {1e-9}; 3: {3, 3-}; 1000: {1000, 3+}; +Inf: {inf, 1001}.
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2, 3, 4, 6, 8, 10}));
  EXPECT_EQ(s.count, 10u);
}

TEST(Metrics, EscapesLabelValuesAndHelp) {
  MetricsRegistry r;
  CounterFamily& c = r.counter("escapes_total", "Help with \\ backslash,\nnewline and \"quotes\".", {"path"});
  c.with({"a\\b\"c\nd"}).inc();
  c.with({"plain {} = , é"}).inc();
  EXPECT_EQ(r.render(),
            "# HELP escapes_total Help with \\\\ backslash,\\nnewline and \"quotes\".\n"
            "# TYPE escapes_total counter\n"
            "escapes_total{path=\"a\\\\b\\\"c\\nd\"} 1\n"
            "escapes_total{path=\"plain {} = , é\"} 1\n");
  EXPECT_EQ(escape_label_value(""), "");
  EXPECT_EQ(escape_label_value("\\\\"), "\\\\\\\\");
}

TEST(Metrics, FormatsValues) {
  EXPECT_EQ(format_metric_value(0), "0");
  EXPECT_EQ(format_metric_value(-0.0), "0");
  EXPECT_EQ(format_metric_value(42), "42");
  EXPECT_EQ(format_metric_value(-7), "-7");
  EXPECT_EQ(format_metric_value(0.1), "0.1");
  EXPECT_EQ(format_metric_value(2.5e-7), "2.5e-07");
  EXPECT_EQ(format_metric_value(9007199254740991.0), "9007199254740991");
  EXPECT_EQ(format_metric_value(1e300), "1e+300");
  EXPECT_EQ(format_metric_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_metric_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_metric_value(std::nan("")), "NaN");
  EXPECT_EQ(std::stod(format_metric_value(1.0 / 3)), 1.0 / 3);  // shortest form reads back exactly
}

TEST(Metrics, RendersInAStableOrder) {
  auto build = [](bool reversed) {
    MetricsRegistry r;
    std::vector<std::string> names = {"zeta_total", "alpha_total", "mid_total"};
    if (reversed) std::reverse(names.begin(), names.end());
    for (const std::string& n : names) {
      CounterFamily& f = r.counter(n, "x", {"k"});
      std::vector<std::string> values = {"b", "a", "c", "aa"};
      if (reversed) std::reverse(values.begin(), values.end());
      for (const std::string& v : values) f.with({v}).inc();
    }
    return r.render();
  };
  const std::string a = build(false);
  EXPECT_EQ(a, build(true));
  EXPECT_LT(a.find("alpha_total{k=\"a\"}"), a.find("alpha_total{k=\"aa\"}"));
  EXPECT_LT(a.find("alpha_total{k=\"aa\"}"), a.find("alpha_total{k=\"b\"}"));
  EXPECT_LT(a.find("# HELP alpha_total"), a.find("# HELP mid_total"));
  EXPECT_LT(a.find("# HELP mid_total"), a.find("# HELP zeta_total"));
}

TEST(Metrics, CallbackGaugesRunAtScrapeTime) {
  MetricsRegistry r;
  double depth = 3;
  r.gauge_callback("hearth_queue_depth", "Requests waiting.", [&] { return depth; });
  std::vector<GaugeSample> models = {{{"b"}, 2}, {{"a"}, 1}, {{"a"}, 99}, {{"x", "y"}, 5}};
  r.gauge_callback("hearth_resident_model_bytes", "Resident models.", {"model"},
                   [&] { return models; });
  bool fail = false;
  r.gauge_callback("broken", "Throws.", [&]() -> double {
    if (fail) throw std::runtime_error("component down");
    return 1;
  });
  depth = 7;
  fail = true;
  EXPECT_EQ(r.render(),
            "# HELP broken Throws.\n"
            "# TYPE broken gauge\n"
            "# HELP hearth_queue_depth Requests waiting.\n"
            "# TYPE hearth_queue_depth gauge\n"
            "hearth_queue_depth 7\n"
            "# HELP hearth_resident_model_bytes Resident models.\n"
            "# TYPE hearth_resident_model_bytes gauge\n"
            "hearth_resident_model_bytes{model=\"a\"} 1\n"
            "hearth_resident_model_bytes{model=\"b\"} 2\n");
  models.clear();  // a model unloaded: its series goes away
  depth = 0;
  fail = false;
  EXPECT_EQ(r.render(),
            "# HELP broken Throws.\n"
            "# TYPE broken gauge\n"
            "broken 1\n"
            "# HELP hearth_queue_depth Requests waiting.\n"
            "# TYPE hearth_queue_depth gauge\n"
            "hearth_queue_depth 0\n"
            "# HELP hearth_resident_model_bytes Resident models.\n"
            "# TYPE hearth_resident_model_bytes gauge\n");
  EXPECT_EQ(code_of([&] { r.gauge_callback("hearth_queue_depth", "again", [] { return 0.0; }); }),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { r.gauge_callback("empty", "no function", std::function<double()>()); }),
            ErrorCode::kInvalidArgument);
}

TEST(Metrics, RefusesInvalidNames) {
  for (const char* bad : {"", "1abc", "a-b", "a b", "caf\xc3\xa9", "a{b}", "a.b"}) {
    EXPECT_FALSE(is_valid_metric_name(bad)) << bad;
    MetricsRegistry r;
    EXPECT_EQ(code_of([&] { r.counter(bad, "x"); }), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(r.render(), "");
  }
  for (const char* good : {"a", "_a", ":a", "hearth:requests_total", "A9_:"}) {
    EXPECT_TRUE(is_valid_metric_name(good)) << good;
  }
  for (const char* bad : {"", "1a", "a:b", "__reserved", "a-b", "a b"}) {
    EXPECT_FALSE(is_valid_label_name(bad)) << bad;
    MetricsRegistry r;
    EXPECT_EQ(code_of([&] { r.gauge("g", "x", {bad}); }), ErrorCode::kInvalidArgument) << bad;
  }
  for (const char* good : {"a", "_a", "model", "le", "A_9"}) EXPECT_TRUE(is_valid_label_name(good)) << good;

  MetricsRegistry r;
  EXPECT_EQ(code_of([&] { r.histogram("h", "x", {"le"}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { r.counter("c_total", "x", {"model", "model"}); }), ErrorCode::kInvalidArgument);
  EXPECT_NO_THROW(r.gauge("g", "x", {"le"}));  // only a histogram reserves it
}

TEST(Metrics, RefusesBadBuckets) {
  MetricsRegistry r;
  const double inf = std::numeric_limits<double>::infinity();
  for (const std::vector<double>& bad : std::vector<std::vector<double>>{
           {1, 0.5}, {1, 1}, {std::nan("")}, {0.1, std::nan(""), 1}, {-inf, 0}, {inf, inf}}) {
    EXPECT_EQ(code_of([&] { r.histogram("h", "x", {}, bad); }), ErrorCode::kInvalidArgument);
  }
  HistogramFamily& h = r.histogram("h", "x", {}, {1, 2, inf});  // a trailing +Inf is implied anyway
  EXPECT_EQ(h.bounds(), (std::vector<double>{1, 2}));
  EXPECT_EQ(&r.histogram("h", "x", {}, {1, 2}), &h);
  EXPECT_EQ(code_of([&] { r.histogram("h", "x", {}, {1, 3}); }), ErrorCode::kInvalidArgument);

  EXPECT_EQ(exponential_buckets(1, 2, 4), (std::vector<double>{1, 2, 4, 8}));
  EXPECT_EQ(linear_buckets(0, 0.5, 3), (std::vector<double>{0, 0.5, 1}));
  EXPECT_EQ(code_of([] { exponential_buckets(0, 2, 3); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([] { linear_buckets(0, 0, 3); }), ErrorCode::kInvalidArgument);
}

TEST(Metrics, RegistrationIsIdempotentButNotAmbiguous) {
  MetricsRegistry r;
  CounterFamily& a = r.counter("tokens_total", "Tokens.", {"model", "kind"});
  EXPECT_EQ(&r.counter("tokens_total", "Tokens.", {"model", "kind"}), &a);
  EXPECT_EQ(code_of([&] { r.counter("tokens_total", "Tokens.", {"model"}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { r.gauge("tokens_total", "Tokens."); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { a.with({"only-one"}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { a.with({"a", "b", "c"}); }), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code_of([&] { a.get(); }), ErrorCode::kInvalidArgument);

  // A histogram's series names are taken, both ways round.
  r.histogram("latency_seconds", "x", {});
  for (const char* clash : {"latency_seconds_bucket", "latency_seconds_sum", "latency_seconds_count"}) {
    EXPECT_EQ(code_of([&] { r.counter(clash, "x"); }), ErrorCode::kInvalidArgument) << clash;
  }
  r.gauge("queue_count", "x");
  EXPECT_EQ(code_of([&] { r.histogram("queue", "x", {}); }), ErrorCode::kInvalidArgument);
}

TEST(Metrics, ConcurrentUpdatesLoseNothing) {
  MetricsRegistry r;
  CounterFamily& tokens = r.counter("tokens_total", "x", {"model"});
  GaugeFamily& active = r.gauge("active", "x");
  HistogramFamily& lat = r.histogram("lat_seconds", "x", {"model"}, {0.5, 1, 1.5});
  constexpr int kThreads = 8;
  constexpr int kIterations = 20000;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  std::thread scraper([&] {  // rendering while others update must be safe
    while (!stop) {
      const std::string text = r.render();
      EXPECT_NE(text.find("# TYPE lat_seconds histogram"), std::string::npos);
    }
  });
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Every thread looks its children up itself: lookups race with creation.
      Counter& c = tokens.with({"m"});
      Counter& mine = tokens.with({"m" + std::to_string(t)});
      Histogram& h = lat.with({"m"});
      for (int i = 0; i < kIterations; ++i) {
        c.inc();
        mine.inc(2);
        active.get().inc();
        active.get().dec();
        h.observe(0.5 * (i % 4));  // 0, 0.5, 1, 1.5: on the bounds, exactly representable
      }
    });
  }
  for (auto& th : threads) th.join();
  stop = true;
  scraper.join();
  EXPECT_EQ(tokens.with({"m"}).value(), double{kThreads} * kIterations);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(tokens.with({"m" + std::to_string(t)}).value(), 2.0 * kIterations);
  EXPECT_EQ(active.get().value(), 0);
  const Histogram::Snapshot s = lat.with({"m"}).snapshot();
  const uint64_t quarter = uint64_t{kThreads} * kIterations / 4;
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{2 * quarter, 3 * quarter, 4 * quarter, 4 * quarter}));
  EXPECT_EQ(s.count, 4 * quarter);
  EXPECT_EQ(s.sum, (0 + 0.5 + 1 + 1.5) * static_cast<double>(quarter));
}

TEST(Metrics, ConcurrentRegistrationYieldsOneFamily) {
  MetricsRegistry r;
  std::vector<CounterFamily*> seen(8);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      seen[t] = &r.counter("shared_total", "x", {"k"});
      seen[t]->with({"v"}).inc();
    });
  }
  for (auto& th : threads) th.join();
  for (CounterFamily* f : seen) EXPECT_EQ(f, seen[0]);
  EXPECT_EQ(seen[0]->with({"v"}).value(), 8);
}

// The official Python client's parser reads the whole output back: the same
// families, types, label values (unescaped) and numbers. Needs Hearth's venv
// with prometheus_client; skipped without it.
TEST(MetricsWithPrometheusClient, ParserReadsTheOutput) {
  std::string home;
  if (const char* h = std::getenv("HEARTH_HOME"); h && *h) {
    home = h;
  } else if (const char* u = std::getenv("HOME"); u && *u) {
    home = std::string(u) + "/.cache/hearth";
  }
  const std::string python = home + "/venv/bin/python";
  if (home.empty() || !std::filesystem::exists(python) ||
      std::system(("'" + python + "' -c 'import prometheus_client' > /dev/null 2>&1").c_str()) != 0) {
    GTEST_SKIP() << "prometheus_client is not installed in Hearth's Python environment";
  }
  MetricsRegistry r;
  r.counter("hearth_requests_total", "Requests \"answered\"\nby endpoint.", {"endpoint", "status"})
      .with({"/v1/chat/completions", "200"})
      .inc(3);
  r.counter("hearth_tokens_total", "Tokens.", {"model", "kind"}).with({"a\\b\"c\nd", "prompt"}).inc(12);
  r.gauge("hearth_queue_depth", "Waiting.").get().set(4);
  Histogram& h = r.histogram("hearth_request_duration_seconds", "Duration.", {"model"}, {0.1, 1}).with({"m"});
  h.observe(0.1);
  h.observe(0.75);
  h.observe(3);
  r.gauge_callback("hearth_resident_model_bytes", "Bytes.", {"model"},
                   [] { return std::vector<GaugeSample>{{{"m"}, 1.5e9}}; });

  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("hearth-metrics-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "metrics.txt", std::ios::binary) << r.render();
  // Prints one line per sample (sorted), and the family types.
  std::ofstream(dir / "parse.py") << R"(import sys
from prometheus_client.parser import text_string_to_metric_families
lines = []
for f in text_string_to_metric_families(open(sys.argv[1], encoding="utf-8").read()):
    lines.append("family %s %s %r" % (f.name, f.type, f.documentation))
    for s in f.samples:
        labels = ",".join("%s=%r" % kv for kv in sorted(s.labels.items()))
        lines.append("sample %s{%s} %r" % (s.name, labels, float(s.value)))
print("\n".join(sorted(lines)))
)";
  const std::string out = (dir / "parsed.txt").string();
  const int rc = std::system(("'" + python + "' '" + (dir / "parse.py").string() + "' '" +
                              (dir / "metrics.txt").string() + "' > '" + out + "' 2>&1")
                                 .c_str());
  std::ifstream in(out);
  const std::string parsed((std::istreambuf_iterator<char>(in)), {});
  std::filesystem::remove_all(dir);
  ASSERT_EQ(rc, 0) << parsed;
  // prometheus_client names a counter family without its _total suffix.
  EXPECT_EQ(parsed,
            "family hearth_queue_depth gauge 'Waiting.'\n"
            "family hearth_request_duration_seconds histogram 'Duration.'\n"
            "family hearth_requests counter 'Requests \"answered\"\\nby endpoint.'\n"
            "family hearth_resident_model_bytes gauge 'Bytes.'\n"
            "family hearth_tokens counter 'Tokens.'\n"
            "sample hearth_queue_depth{} 4.0\n"
            "sample hearth_request_duration_seconds_bucket{le='+Inf',model='m'} 3.0\n"
            "sample hearth_request_duration_seconds_bucket{le='0.1',model='m'} 1.0\n"
            "sample hearth_request_duration_seconds_bucket{le='1',model='m'} 2.0\n"
            "sample hearth_request_duration_seconds_count{model='m'} 3.0\n"
            "sample hearth_request_duration_seconds_sum{model='m'} 3.85\n"
            "sample hearth_requests_total{endpoint='/v1/chat/completions',status='200'} 3.0\n"
            "sample hearth_resident_model_bytes{model='m'} 1500000000.0\n"
            "sample hearth_tokens_total{kind='prompt',model='a\\\\b\"c\\nd'} 12.0\n");
}

}  // namespace
}  // namespace hearth::service
