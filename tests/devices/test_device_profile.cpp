// Device description files: the seed's five fields alone are valid, with
// defaults for the rest; units in strings are converted; wrong types,
// impossible values and unknown units are errors naming the key; unknown
// keys are warnings; every bundled profile parses and cites its sources.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "core/error.h"
#include "devices/device_profile.h"

namespace hearth::devices {
namespace {

const char* kSeedExample =
    R"({"device_name": "ExampleDevice", "cpu_cores": 8, "memory_size": 16, "gpu_available": true, "npu_performance": 5.2})";

// The message of the error parsing `text` throws, with its code.
std::string error_of(const std::string& text, ErrorCode* code = nullptr) {
  try {
    parse_device_profile(text, "dev.json");
  } catch (const Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "";
}

// The seed example with one key's value replaced by `value` (JSON text).
std::string with(const std::string& key, const std::string& value) {
  std::string s = kSeedExample;
  const size_t at = s.find("\"" + key + "\"");
  const size_t colon = s.find(':', at);
  const size_t end = s.find_first_of(",}", colon);  // the seed's values are all scalars
  return s.substr(0, colon + 1) + " " + value + s.substr(end);
}

TEST(DeviceProfile, TheSeedsFiveFieldsAloneAreValid) {
  const ParsedProfile p = parse_device_profile(kSeedExample, "seed.json");
  EXPECT_TRUE(p.warnings.empty());
  EXPECT_EQ(p.profile.device_name, "ExampleDevice");
  EXPECT_EQ(p.profile.cpu_cores, 8);
  EXPECT_DOUBLE_EQ(p.profile.memory_gb, 16);
  EXPECT_TRUE(p.profile.gpu_available);
  EXPECT_DOUBLE_EQ(p.profile.npu_tops, 5.2);
  // Documented defaults for what is left out.
  EXPECT_EQ(p.profile.memory_bandwidth_gbs, 0);
  EXPECT_FALSE(p.profile.unified_memory);
  EXPECT_TRUE(p.profile.gpus.empty());
  EXPECT_TRUE(p.profile.quant_types.empty());
}

TEST(DeviceProfile, UnitsInStringsAreConverted) {
  EXPECT_DOUBLE_EQ(parse_device_profile(with("memory_size", "\"16 GiB\""), "d").profile.memory_gb,
                   16.0 * 1073741824.0 / 1e9);
  EXPECT_DOUBLE_EQ(parse_device_profile(with("memory_size", "\"512MB\""), "d").profile.memory_gb, 0.512);
  EXPECT_DOUBLE_EQ(parse_device_profile(with("npu_performance", "\"38 TOPS\""), "d").profile.npu_tops, 38);
  EXPECT_DOUBLE_EQ(parse_quantity("120 GB/s", Quantity::kBandwidthGBs, "k"), 120);
  EXPECT_DOUBLE_EQ(parse_quantity("4.26 TFLOPS", Quantity::kGflops, "k"), 4260);
  EXPECT_DOUBLE_EQ(parse_quantity("2400 MHz", Quantity::kGhz, "k"), 2.4);
  EXPECT_DOUBLE_EQ(parse_quantity("7", Quantity::kWatts, "k"), 7);
}

TEST(DeviceProfile, WrongTypesNameTheKey) {
  ErrorCode code{};
  std::string e = error_of(with("cpu_cores", "\"eight\""), &code);
  EXPECT_EQ(code, ErrorCode::kInvalidArgument);
  EXPECT_NE(e.find("dev.json"), std::string::npos) << e;
  EXPECT_NE(e.find("\"cpu_cores\""), std::string::npos) << e;
  EXPECT_NE(e.find("a string"), std::string::npos) << e;
  e = error_of(with("gpu_available", "1"));
  EXPECT_NE(e.find("\"gpu_available\""), std::string::npos) << e;
  e = error_of(with("device_name", "42"));
  EXPECT_NE(e.find("\"device_name\""), std::string::npos) << e;
  e = error_of(with("memory_size", "[16]"));
  EXPECT_NE(e.find("\"memory_size\""), std::string::npos) << e;
  e = error_of(R"({"device_name": "x", "cpu_cores": 2, "memory_size": 4, "gpu_available": true,
                   "npu_performance": 0, "gpus": [{"name": "g", "fp32_gflops": true}]})");
  EXPECT_NE(e.find("\"gpus[0].fp32_gflops\""), std::string::npos) << e;
}

TEST(DeviceProfile, ImpossibleValuesNameTheKey) {
  for (const auto& [key, value] : std::initializer_list<std::pair<const char*, const char*>>{
           {"cpu_cores", "-4"}, {"cpu_cores", "0"}, {"cpu_cores", "2.5"}, {"cpu_cores", "1000000"},
           {"memory_size", "0"}, {"memory_size", "-16"}, {"memory_size", "1e12"}, {"npu_performance", "-1"}}) {
    const std::string e = error_of(with(key, value));
    EXPECT_NE(e.find(std::string("\"") + key + "\""), std::string::npos) << key << "=" << value << ": " << e;
  }
  const std::string e = error_of(with("gpu_available", "false").insert(1, R"("gpus": [{"name": "g"}], )"));
  EXPECT_NE(e.find("\"gpus\""), std::string::npos) << e;
}

TEST(DeviceProfile, UnknownUnitsNameTheKey) {
  std::string e = error_of(with("memory_size", "\"16 parsecs\""));
  EXPECT_NE(e.find("\"memory_size\""), std::string::npos) << e;
  EXPECT_NE(e.find("unknown unit \"parsecs\""), std::string::npos) << e;
  e = error_of(with("npu_performance", "\"5 GB\""));  // a unit of another kind
  EXPECT_NE(e.find("\"npu_performance\""), std::string::npos) << e;
  e = error_of(with("memory_size", "\"lots\""));
  EXPECT_NE(e.find("\"memory_size\""), std::string::npos) << e;
}

TEST(DeviceProfile, MeasuredRatesPerWeightType) {
  const std::string base = R"({"device_name": "x", "cpu_cores": 2, "memory_size": 4, "gpu_available": false,
                                "npu_performance": 0, )";
  const ParsedProfile p =
      parse_device_profile(base + R"("cpu_matmul_gflops": {"q8_0": 400, "F16": "0.065 TFLOPS"},
                                     "cpu_matvec_gbs": {"q4_k": "28.8 GB/s"}, "cpu_node_overhead": "2.5 us"})", "d");
  EXPECT_DOUBLE_EQ(p.profile.cpu_matmul_gflops.at(DType::kQ8_0), 400);
  EXPECT_DOUBLE_EQ(p.profile.cpu_matmul_gflops.at(DType::kF16), 65);
  EXPECT_DOUBLE_EQ(p.profile.cpu_matvec_gbs.at(DType::kQ4_K), 28.8);
  EXPECT_DOUBLE_EQ(p.profile.cpu_node_overhead_us, 2.5);
  std::string e = error_of(base + R"("cpu_matmul_gflops": {"q9_9": 1}})");
  EXPECT_NE(e.find("\"cpu_matmul_gflops.q9_9\" is not a weight type"), std::string::npos) << e;
  e = error_of(base + R"("cpu_matvec_gbs": {"q8_0": -3}})");
  EXPECT_NE(e.find("\"cpu_matvec_gbs.q8_0\""), std::string::npos) << e;
  e = error_of(base + R"("cpu_matvec_gbs": [1]})");
  EXPECT_NE(e.find("\"cpu_matvec_gbs\""), std::string::npos) << e;
  e = error_of(base + R"("cpu_node_overhead": "-1 us"})");
  EXPECT_NE(e.find("\"cpu_node_overhead\""), std::string::npos) << e;
}

TEST(DeviceProfile, MeasuredAcceleratorRates) {
  const std::string base = R"({"device_name": "x", "cpu_cores": 2, "memory_size": 4, "gpu_available": true,
                                "npu_performance": 0, "gpus": [{"name": "cl", "fp32_gflops": 30, "backends": ["opencl"], )";
  const ParsedProfile p = parse_device_profile(
      base + R"("matmul_gflops": {"q4_1": 12.5}, "matvec_gbs": {"q8_0": "9 GB/s"}, "launch_overhead": "0.02 ms",
               "copy_bandwidth": "6 GB/s", "copy_latency": "47.5 us"}]})",
      "d");
  ASSERT_EQ(p.profile.gpus.size(), 1u);
  const AcceleratorProfile& g = p.profile.gpus[0];
  EXPECT_DOUBLE_EQ(g.matmul_gflops.at(DType::kQ4_1), 12.5);
  EXPECT_DOUBLE_EQ(g.matvec_gbs.at(DType::kQ8_0), 9);
  EXPECT_DOUBLE_EQ(g.launch_overhead_us, 20);
  EXPECT_DOUBLE_EQ(g.copy_bandwidth_gbs, 6);
  EXPECT_DOUBLE_EQ(g.copy_latency_us, 47.5);
  EXPECT_TRUE(p.warnings.empty());
  std::string e = error_of(base + R"("matmul_gflops": {"q9": 1}}]})");
  EXPECT_NE(e.find("\"gpus[0].matmul_gflops.q9\" is not a weight type"), std::string::npos) << e;
  e = error_of(base + R"("launch_overhead": "3 parsecs"}]})");
  EXPECT_NE(e.find("gpus[0].launch_overhead"), std::string::npos) << e;
  EXPECT_NE(e.find("parsecs"), std::string::npos) << e;
  e = error_of(base + R"("copy_latency": "4 furlongs"}]})");
  EXPECT_NE(e.find("gpus[0].copy_latency"), std::string::npos) << e;
  e = error_of(base + R"("copy_bandwidth": true}]})");
  EXPECT_NE(e.find("\"gpus[0].copy_bandwidth\" must be a number"), std::string::npos) << e;
}

TEST(DeviceProfile, MissingFieldsAndBadDocuments) {
  std::string e = error_of(R"({"device_name": "x", "cpu_cores": 2, "memory_size": 4, "gpu_available": true})");
  EXPECT_NE(e.find("\"npu_performance\" is missing"), std::string::npos) << e;
  ErrorCode code{};
  e = error_of("{\"device_name\": ", &code);
  EXPECT_EQ(code, ErrorCode::kFormat);
  EXPECT_NE(e.find("not valid JSON"), std::string::npos) << e;
  error_of("[1, 2]", &code);
  EXPECT_EQ(code, ErrorCode::kFormat);
  EXPECT_THROW(load_device_profile("/nonexistent/dev.json"), Error);
}

TEST(DeviceProfile, UnknownKeysAreWarnedAboutByName) {
  const ParsedProfile p = parse_device_profile(
      R"({"device_name": "x", "cpu_cores": 2, "memory_size": 4, "gpu_available": true, "npu_performance": 0,
          "colour": "red", "gpus": [{"name": "g", "shaders": 12}]})",
      "dev.json");
  ASSERT_EQ(p.warnings.size(), 2u);
  EXPECT_NE(p.warnings[0].find("\"gpus[0].shaders\""), std::string::npos) << p.warnings[0];
  EXPECT_NE(p.warnings[1].find("\"colour\""), std::string::npos) << p.warnings[1];
}

TEST(DeviceProfile, EveryBundledProfileParsesAndCitesItsSources) {
  const std::filesystem::path dir = std::filesystem::path(HEARTH_TEST_DATA) / ".." / ".." / "devices";
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    const ParsedProfile p = load_device_profile(e.path().string());
    EXPECT_TRUE(p.warnings.empty()) << e.path() << ": " << (p.warnings.empty() ? "" : p.warnings[0]);
    EXPECT_FALSE(p.profile.sources.empty()) << e.path();
    EXPECT_GT(p.profile.memory_bandwidth_gbs, 0) << e.path();
    ++n;
  }
  EXPECT_GE(n, 4);
}

// Mutated descriptions (bytes flipped, dropped, duplicated, truncated) parse
// or fail with hearth::Error, nothing else.
TEST(DeviceProfile, MutatedFilesFailCleanly) {
  const std::string base = std::string(kSeedExample).insert(1, R"("memory_bandwidth": "17 GB/s", "gpus": [{"name": "g",
      "fp32_gflops": "1 TFLOPS", "backends": ["opencl"]}], "cpu_matmul_gflops": {"q8_0": 100}, )");
  std::mt19937 rng(17);
  int errors = 0, parsed = 0;
  const std::string alphabet = "{}[]\":,.-+e0123456789 aZ\\";
  for (int trial = 0; trial < 5000; ++trial) {
    std::string s = base;
    for (int m = 0; m < 1 + static_cast<int>(rng() % 4); ++m) {
      const size_t at = rng() % s.size();
      switch (rng() % 4) {
        case 0: s[at] = alphabet[rng() % alphabet.size()]; break;
        case 1: s.erase(at, 1 + rng() % 8); break;
        case 2: s.insert(at, s.substr(rng() % s.size(), 1 + rng() % 12)); break;
        default: s.resize(at); break;
      }
      if (s.empty()) s = "{";
    }
    try {
      parse_device_profile(s, "mutated.json");
      ++parsed;
    } catch (const Error&) {
      ++errors;
    }
  }
  EXPECT_GT(errors, 0);
  EXPECT_GT(parsed + errors, 4999);
}

}  // namespace
}  // namespace hearth::devices
