#include "devices/device_profile.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <fstream>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/json_type.h"

namespace hearth::devices {
namespace {

using nlohmann::json;

struct UnitScale {
  const char* unit;  // lower case, no spaces
  double scale;      // to the kind's base unit
};

// Base units: GB (10^9 bytes), GB/s, TOPS, GFLOP/s, GHz, W, microseconds.
const std::vector<UnitScale>& units(Quantity kind) {
  static const std::vector<UnitScale> bytes = {{"b", 1e-9},         {"kb", 1e-6},
                                               {"mb", 1e-3},        {"gb", 1},
                                               {"tb", 1e3},         {"kib", 1024.0 / 1e9},
                                               {"mib", 1048576.0 / 1e9}, {"gib", 1073741824.0 / 1e9},
                                               {"tib", 1099511627776.0 / 1e9}};
  static const std::vector<UnitScale> bandwidth = {{"mb/s", 1e-3}, {"gb/s", 1}, {"tb/s", 1e3},
                                                   {"gib/s", 1073741824.0 / 1e9}};
  static const std::vector<UnitScale> tops = {{"tops", 1}, {"gops", 1e-3}};
  static const std::vector<UnitScale> gflops = {{"gflops", 1}, {"gflop/s", 1}, {"tflops", 1e3}, {"tflop/s", 1e3}};
  static const std::vector<UnitScale> ghz = {{"mhz", 1e-3}, {"ghz", 1}};
  static const std::vector<UnitScale> watts = {{"w", 1}, {"mw", 1e-3}};
  static const std::vector<UnitScale> micros = {{"ns", 1e-3}, {"us", 1}, {"ms", 1e3}};
  switch (kind) {
    case Quantity::kBytesGB: return bytes;
    case Quantity::kBandwidthGBs: return bandwidth;
    case Quantity::kTops: return tops;
    case Quantity::kGflops: return gflops;
    case Quantity::kGhz: return ghz;
    case Quantity::kWatts: return watts;
    case Quantity::kMicroseconds: return micros;
  }
  return bytes;
}

const char* base_unit(Quantity kind) {
  switch (kind) {
    case Quantity::kBytesGB: return "GB";
    case Quantity::kBandwidthGBs: return "GB/s";
    case Quantity::kTops: return "TOPS";
    case Quantity::kGflops: return "GFLOP/s";
    case Quantity::kGhz: return "GHz";
    case Quantity::kWatts: return "W";
    case Quantity::kMicroseconds: return "us";
  }
  return "";
}

[[noreturn]] void bad(const std::string& origin, const std::string& key, const std::string& why) {
  throw Error(ErrorCode::kInvalidArgument, origin + ": \"" + key + "\" " + why);
}

// Reads one object's fields, remembering which keys were used so the rest
// can be warned about.
class Fields {
 public:
  Fields(const json& object, std::string origin, std::string prefix)
      : object_(object), origin_(std::move(origin)), prefix_(std::move(prefix)) {}

  std::string name(const std::string& key) const { return prefix_ + key; }
  const json* find(const std::string& key) {
    used_.insert(key);
    auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }
  const json& require(const std::string& key) {
    const json* v = find(key);
    if (!v) bad(origin_, name(key), "is missing (required)");
    return *v;
  }

  std::string string(const std::string& key, bool required) {
    const json* v = required ? &require(key) : find(key);
    if (!v) return "";
    if (!v->is_string()) bad(origin_, name(key), std::string("must be a string, not ") + json_type_name(*v));
    const std::string s = v->get<std::string>();
    if (required && s.empty()) bad(origin_, name(key), "must not be empty");
    return s;
  }

  bool boolean(const std::string& key, bool required, bool fallback) {
    const json* v = required ? &require(key) : find(key);
    if (!v) return fallback;
    if (!v->is_boolean()) bad(origin_, name(key), std::string("must be true or false, not ") + json_type_name(*v));
    return v->get<bool>();
  }

  int count(const std::string& key, bool required, int lo, int hi) {
    const json* v = required ? &require(key) : find(key);
    if (!v) return 0;
    if (!v->is_number()) bad(origin_, name(key), std::string("must be a whole number, not ") + json_type_name(*v));
    const double d = v->get<double>();
    if (d != std::floor(d)) bad(origin_, name(key), "must be a whole number, not " + v->dump());
    if (d < lo || d > hi)
      bad(origin_, name(key), "must be within " + std::to_string(lo) + ".." + std::to_string(hi) + ", not " + v->dump());
    return static_cast<int>(d);
  }

  // A number in the base unit or a "<number> <unit>" string; within [0, max].
  // `positive`: zero is impossible too.
  double quantity(const std::string& key, bool required, Quantity kind, double max, bool positive) {
    const json* v = required ? &require(key) : find(key);
    if (!v) return 0;
    double value;
    if (v->is_number()) {
      value = v->get<double>();
    } else if (v->is_string()) {
      value = parse_quantity(v->get<std::string>(), kind, origin_ + ": \"" + name(key) + "\"");
    } else {
      bad(origin_, name(key),
          std::string("must be a number (") + base_unit(kind) + ") or a string with a unit, not " + json_type_name(*v));
    }
    if (!std::isfinite(value) || value < 0 || (positive && value == 0))
      bad(origin_, name(key), std::string("must be ") + (positive ? "above zero" : "zero or more") + ", not " + v->dump());
    if (value > max)
      bad(origin_, name(key), "is implausibly large: " + v->dump() + " (at most " + std::to_string(max) + " " +
                                  base_unit(kind) + ")");
    return value;
  }

  std::vector<std::string> strings(const std::string& key) {
    const json* v = find(key);
    if (!v) return {};
    if (v->is_string()) return {v->get<std::string>()};
    if (!v->is_array()) bad(origin_, name(key), std::string("must be an array of strings, not ") + json_type_name(*v));
    std::vector<std::string> out;
    for (size_t i = 0; i < v->size(); ++i) {
      if (!(*v)[i].is_string())
        bad(origin_, name(key) + "[" + std::to_string(i) + "]", std::string("must be a string, not ") + json_type_name((*v)[i]));
      out.push_back((*v)[i].get<std::string>());
    }
    return out;
  }

  void warn_unknown(std::vector<std::string>* warnings) const {
    for (auto it = object_.begin(); it != object_.end(); ++it)
      if (!used_.count(it.key()))
        warnings->push_back(origin_ + ": unknown key \"" + name(it.key()) + "\" ignored");
  }

 private:
  const json& object_;
  std::string origin_;
  std::string prefix_;
  std::set<std::string> used_;
};

std::map<DType, double> per_type(Fields& f, const std::string& origin, const std::string& prefix,
                                 const std::string& key, Quantity kind, double max);

AcceleratorProfile parse_gpu(const json& v, const std::string& origin, const std::string& prefix,
                             std::vector<std::string>* warnings) {
  if (!v.is_object()) bad(origin, prefix, std::string("must be an object, not ") + json_type_name(v));
  Fields f(v, origin, prefix + ".");
  AcceleratorProfile g;
  g.name = f.string("name", false);
  g.fp32_gflops = f.quantity("fp32_gflops", false, Quantity::kGflops, 1e7, false);
  g.fp16_gflops = f.quantity("fp16_gflops", false, Quantity::kGflops, 1e7, false);
  g.int8_tops = f.quantity("int8_tops", false, Quantity::kTops, 1e5, false);
  g.memory_bandwidth_gbs = f.quantity("memory_bandwidth", false, Quantity::kBandwidthGBs, 1e5, false);
  g.backends = f.strings("backends");
  g.matmul_gflops = per_type(f, origin, prefix + ".", "matmul_gflops", Quantity::kGflops, 1e7);
  g.matvec_gbs = per_type(f, origin, prefix + ".", "matvec_gbs", Quantity::kBandwidthGBs, 1e5);
  g.launch_overhead_us = f.quantity("launch_overhead", false, Quantity::kMicroseconds, 1e6, false);
  g.copy_bandwidth_gbs = f.quantity("copy_bandwidth", false, Quantity::kBandwidthGBs, 1e5, false);
  g.copy_latency_us = f.quantity("copy_latency", false, Quantity::kMicroseconds, 1e6, false);
  f.warn_unknown(warnings);
  return g;
}

// An object of weight type: quantity (cpu_matmul_gflops, gpus[i].matvec_gbs, ...);
// prefix names the object holding it in messages.
std::map<DType, double> per_type(Fields& f, const std::string& origin, const std::string& prefix,
                                 const std::string& key, Quantity kind, double max) {
  std::map<DType, double> out;
  const json* m = f.find(key);
  if (!m) return out;
  const std::string shown = prefix + key;
  if (!m->is_object()) bad(origin, shown, std::string("must be an object of weight type: value, not ") + json_type_name(*m));
  Fields per(*m, origin, shown + ".");
  for (auto it = m->begin(); it != m->end(); ++it) {
    const std::optional<DType> t = dtype_from_name(it.key());
    if (!t) bad(origin, shown + "." + it.key(), "is not a weight type (f32, f16, q8_0, q4_k, ...)");
    out[*t] = per.quantity(it.key(), false, kind, max, true);
  }
  return out;
}

}  // namespace

double parse_quantity(const std::string& text, Quantity kind, const std::string& key) {
  const char* p = text.c_str();
  char* end = nullptr;
  const double number = std::strtod(p, &end);
  if (end == p) throw Error(ErrorCode::kInvalidArgument, key + " must start with a number, not \"" + text + "\"");
  std::string unit;
  for (const char* c = end; *c; ++c)
    if (!std::isspace(static_cast<unsigned char>(*c))) unit += static_cast<char>(std::tolower(static_cast<unsigned char>(*c)));
  if (unit.empty()) return number;  // a bare number in a string: the base unit
  std::string known;
  for (const UnitScale& u : units(kind)) {
    if (unit == u.unit) return number * u.scale;
    known += std::string(known.empty() ? "" : ", ") + u.unit;
  }
  throw Error(ErrorCode::kInvalidArgument,
              key + " has an unknown unit \"" + unit + "\" in \"" + text + "\" (known: " + known + ")");
}

ParsedProfile parse_device_profile(const std::string& json_text, const std::string& origin) {
  json doc;
  try {
    doc = json::parse(json_text);
  } catch (const json::parse_error& e) {
    throw Error(ErrorCode::kFormat, origin + ": not valid JSON (" + e.what() + ")");
  }
  if (!doc.is_object()) throw Error(ErrorCode::kFormat, origin + ": a device description is a JSON object");
  ParsedProfile out;
  DeviceProfile& d = out.profile;
  Fields f(doc, origin, "");
  f.find("$schema");  // editors' schema link: allowed, not used
  d.device_name = f.string("device_name", true);
  d.cpu_cores = f.count("cpu_cores", true, 1, 4096);
  d.memory_gb = f.quantity("memory_size", true, Quantity::kBytesGB, 1e5, true);
  d.gpu_available = f.boolean("gpu_available", true, false);
  d.npu_tops = f.quantity("npu_performance", true, Quantity::kTops, 1e5, false);
  d.cpu_model = f.string("cpu_model", false);
  d.cpu_ghz = f.quantity("cpu_frequency", false, Quantity::kGhz, 10, false);
  d.cpu_fp32_gflops = f.quantity("cpu_fp32_gflops", false, Quantity::kGflops, 1e6, false);
  d.cpu_matmul_gflops = per_type(f, origin, "", "cpu_matmul_gflops", Quantity::kGflops, 1e7);
  d.cpu_matvec_gbs = per_type(f, origin, "", "cpu_matvec_gbs", Quantity::kBandwidthGBs, 1e5);
  d.cpu_node_overhead_us = f.quantity("cpu_node_overhead", false, Quantity::kMicroseconds, 1e6, false);
  d.cpu_features = f.strings("cpu_features");
  d.cpu_caches = f.strings("cpu_caches");
  d.memory_bandwidth_gbs = f.quantity("memory_bandwidth", false, Quantity::kBandwidthGBs, 1e5, false);
  d.unified_memory = f.boolean("unified_memory", false, false);
  if (const json* gpus = f.find("gpus")) {
    if (!gpus->is_array()) bad(origin, "gpus", std::string("must be an array of objects, not ") + json_type_name(*gpus));
    for (size_t i = 0; i < gpus->size(); ++i)
      d.gpus.push_back(parse_gpu((*gpus)[i], origin, "gpus[" + std::to_string(i) + "]", &out.warnings));
  }
  if (!d.gpu_available && !d.gpus.empty()) bad(origin, "gpus", "lists GPUs but \"gpu_available\" is false");
  d.quant_types = f.strings("quant_types");
  d.power_watts = f.quantity("power", false, Quantity::kWatts, 1e5, false);
  d.sources = f.strings("sources");
  f.warn_unknown(&out.warnings);
  return out;
}

ParsedProfile load_device_profile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot open the device description");
  constexpr std::streamsize kMaxBytes = 1 << 20;  // a description is a few hundred bytes
  std::string text(static_cast<size_t>(kMaxBytes) + 1, '\0');
  in.read(text.data(), kMaxBytes + 1);
  if (in.gcount() > kMaxBytes) throw Error(ErrorCode::kFormat, path + ": larger than 1 MiB: not a device description");
  text.resize(static_cast<size_t>(in.gcount()));
  return parse_device_profile(text, path);
}

}  // namespace hearth::devices
