// The plugin host against plugins that get one thing wrong each (built from
// tests/plugins/fixtures): every failure is one Error with the right code and a
// message naming the plugin and the problem, and the same host goes on to call
// a well-behaved plugin afterwards.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>

#include "core/error.h"
#include "plugins/plugin_host.h"

namespace hearth::plugins {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kFixtures = HEARTH_PLUGIN_FIXTURES;

std::string fixture_dir(const std::string& name) { return kFixtures + "/" + name; }

// A host that searches the fixture root first: every fixture is visible by name.
HostOptions fixture_options(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
  HostOptions o;
  o.default_dirs = false;
  o.plugin_dirs = {kFixtures};
  o.call_timeout = timeout;
  o.describe_timeout = timeout;
  return o;
}

json echo_input() { return json{{"text", "hello"}}; }

struct Expected {
  const char* fixture;
  ErrorCode code;
  const char* message_part;
};

// What the host must say about each broken plugin, at describe or at call.
const Expected kBroken[] = {
    {"wrong_abi", ErrorCode::kUnsupported, "built for plugin ABI version 42 but this Hearth speaks version 1"},
    {"short_struct", ErrorCode::kFormat, "struct_size is 8"},
    {"no_entry", ErrorCode::kFormat, "does not export hearth_plugin_entry"},
    {"null_descriptor", ErrorCode::kFormat, "hearth_plugin_entry returned NULL"},
    {"name_mismatch", ErrorCode::kFormat, "calls itself 'somebody_else' but the manifest says 'name_mismatch'"},
    {"zero_capabilities", ErrorCode::kFormat, "capability_count is 0"},
    {"no_free_string", ErrorCode::kFormat, "free_string is NULL"},
    {"crash_on_load", ErrorCode::kInternal, "the plugin crashed (SIGSEGV"},
    {"crash_in_call", ErrorCode::kInternal, "the plugin crashed (SIGSEGV"},
    {"abort_in_call", ErrorCode::kInternal, "the plugin crashed (SIGABRT"},
    {"exit_in_call", ErrorCode::kInternal, "exited with status 7 (its last output: fixture: giving up)"},
    {"garbage_output", ErrorCode::kFormat, "output is not valid JSON"},
    {"not_utf8_output", ErrorCode::kFormat, "output is not valid UTF-8 (bad byte at offset 13)"},
    {"schema_mismatch", ErrorCode::kFormat, "output does not match its declared schema"},
    {"no_output", ErrorCode::kFormat, "reported success but returned no output"},
    {"bad_status", ErrorCode::kFormat, "returned status 77, not a hearth_status"},
    {"error_result", ErrorCode::kInvalidArgument, "the text is not to my liking"},
    {"init_fails", ErrorCode::kInternal, "could not start: the engine's data files are missing"},
};

// Calls the fixture's echo and returns the Error it raised; fails the test if
// the call succeeded or threw anything else.
Error call_error(PluginHost& host, const std::string& fixture) {
  try {
    host.call(fixture, "echo", echo_input());
  } catch (const Error& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << fixture << ": threw a non-hearth exception: " << e.what();
    return Error(ErrorCode::kInternal, "");
  }
  ADD_FAILURE() << fixture << ": the call succeeded";
  return Error(ErrorCode::kInternal, "");
}

TEST(PluginHost, WellBehavedFixtureAnswers) {
  PluginHost host(fixture_options());
  const json out = host.call("well_behaved", "echo", echo_input());
  EXPECT_EQ(out.at("echo"), std::to_string(echo_input().dump().size()));
}

TEST(PluginHost, EachBrokenPluginIsOneClearErrorAndTheHostCarriesOn) {
  PluginHost host(fixture_options());
  for (const Expected& x : kBroken) {
    SCOPED_TRACE(x.fixture);
    const Error e = call_error(host, x.fixture);
    const std::string message = e.what();
    EXPECT_EQ(error_code_name(e.code()), std::string(error_code_name(x.code))) << message;
    EXPECT_NE(message.find(x.message_part), std::string::npos) << message;
    EXPECT_NE(message.find(std::string("plugin '") + x.fixture + "'"), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
    // The same host, straight after the failure.
    EXPECT_EQ(host.call("well_behaved", "echo", echo_input()).at("echo").get<std::string>().empty(), false);
  }
}

TEST(PluginHost, HangsAreKilledAtTheTimeout) {
  for (const char* fixture : {"hang_in_call", "close_and_hang"}) {
    SCOPED_TRACE(fixture);
    PluginHost host(fixture_options(std::chrono::milliseconds(400)));
    const auto start = std::chrono::steady_clock::now();
    const Error e = call_error(host, fixture);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(e.code(), ErrorCode::kInternal);
    EXPECT_NE(std::string(e.what()).find("did not finish within 0.4 s and was killed"), std::string::npos) << e.what();
    EXPECT_LT(seconds, 5.0);
    EXPECT_FALSE(host.call("well_behaved", "echo", echo_input()).empty());
  }
}

TEST(PluginHost, ChatterOnStdoutStaysOutOfTheResultAndTheHostsOutput) {
  PluginHost host(fixture_options());
  testing::internal::CaptureStdout();
  testing::internal::CaptureStderr();
  const json out = host.call("noisy", "echo", echo_input());
  const std::string printed = testing::internal::GetCapturedStdout() + testing::internal::GetCapturedStderr();
  EXPECT_EQ(out.at("echo"), "quiet result");
  EXPECT_EQ(printed, "");
}

TEST(PluginHost, ErrorMessagesKeepOnlyTheirFirstLine) {
  PluginHost host(fixture_options());
  const std::string message = call_error(host, "error_result").what();
  EXPECT_EQ(message.find("second line"), std::string::npos) << message;
}

TEST(PluginHost, InputIsCheckedAgainstTheSchemaBeforeAnyCall) {
  PluginHost host(fixture_options());
  try {
    // crash_in_call would crash if it were reached; the schema stops it first.
    host.call("crash_in_call", "echo", json{{"text", 5}});
    FAIL() << "accepted a number for a string";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(std::string(e.what()).find("text"), std::string::npos) << e.what();
  }
}

TEST(PluginHost, UnknownPluginsAndCapabilitiesAreNotFound) {
  PluginHost host(fixture_options());
  try {
    host.call("no_such_plugin", "echo", echo_input());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("no plugin named 'no_such_plugin' (searched " + kFixtures), std::string::npos)
        << e.what();
  }
  try {
    host.call("well_behaved", "shout", echo_input());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("has no capability 'shout'"), std::string::npos) << e.what();
  }
}

TEST(PluginHost, AMissingPluginDirIsNamed) {
  HostOptions o;
  o.default_dirs = false;
  o.plugin_dirs = {kFixtures + "/does-not-exist"};
  try {
    PluginHost host(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("does-not-exist"), std::string::npos) << e.what();
  }
}

// A scratch plugin directory per test, removed afterwards.
class ScratchDir : public testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() / ("hearth-plugin-test-" + std::to_string(::getpid()) + "-" +
                                         testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  // A plugin directory holding `manifest` and a copy of the well-behaved library.
  std::string plugin(const std::string& dir_name, const std::string& manifest) {
    const fs::path dir = root_ / dir_name;
    fs::create_directories(dir);
    fs::copy_file(fixture_dir("well_behaved") + "/well_behaved.so", dir / "well_behaved.so");
    std::ofstream(dir / "manifest.json") << manifest;
    return dir.string();
  }

  fs::path root_;
};

const char kGoodManifest[] =
    R"({"name": "well_behaved", "version": "1.0.0", "abi_version": 1, "library": "well_behaved.so",
        "capabilities": [{"name": "echo", "kind": "tool"}]})";

using Manifests = ScratchDir;

TEST_F(Manifests, EachBadManifestIsReportedWithItsKey) {
  struct Case {
    const char* text;
    const char* message_part;
  };
  const Case cases[] = {
      {"{\"name\": \"x\",", "not valid JSON"},
      {"[1, 2]", "must be a JSON object, not an array"},
      {R"({"version": "1", "abi_version": 1, "library": "a.so", "capabilities": [{"name": "a", "kind": "tool"}]})",
       "\"name\" is missing"},
      {R"({"name": "Bad Name", "version": "1", "abi_version": 1, "library": "a.so", "capabilities": [{"name": "a", "kind": "tool"}]})",
       "\"name\" must be 1-64 characters of [a-z0-9_]"},
      {R"({"name": "a", "version": "1", "abi_version": 2, "library": "a.so", "capabilities": [{"name": "a", "kind": "tool"}]})",
       "\"abi_version\" is 2 but this Hearth speaks plugin ABI version 1"},
      {R"({"name": "a", "version": "1", "abi_version": "1", "library": "a.so", "capabilities": [{"name": "a", "kind": "tool"}]})",
       "\"abi_version\" must be an integer, not a string"},
      {R"({"name": "a", "version": "1", "abi_version": 1, "library": "a.so", "capabilities": [{"name": "a", "kind": "tool"}], "colour": "red"})",
       "unknown key \"colour\""},
      {R"({"name": "a", "version": "1", "abi_version": 1, "library": "a.so", "capabilities": []})",
       "\"capabilities\" must list at least one capability"},
      {R"({"name": "a", "version": "1", "abi_version": 1, "library": "a.so", "capabilities": [{"name": "a", "kind": "video"}]})",
       "capabilities[0]: \"kind\" must be one of ocr, asr, tool, not 'video'"},
      {R"({"name": "a", "version": "1", "abi_version": 1, "library": "a.so", "capabilities": [{"name": "a", "kind": "tool"}, {"name": "a", "kind": "ocr"}]})",
       "capabilities[1]: \"name\" 'a' is listed twice"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    fs::remove_all(root_);
    const std::string dir = plugin("p", c.text);
    HostOptions o;
    o.default_dirs = false;
    o.plugin_dirs = {dir};
    PluginHost host(o);
    ASSERT_FALSE(host.found().empty());
    const FoundPlugin& f = host.found().front();
    EXPECT_FALSE(f.manifest.has_value());
    EXPECT_NE(f.error.find(dir + "/manifest.json"), std::string::npos) << f.error;
    EXPECT_NE(f.error.find(c.message_part), std::string::npos) << f.error;
  }
}

TEST_F(Manifests, AManifestWhoseLibraryIsMissingIsNotFound) {
  const std::string dir = plugin("p", R"({"name": "well_behaved", "version": "1.0.0", "abi_version": 1,
      "library": "gone.so", "capabilities": [{"name": "echo", "kind": "tool"}]})");
  HostOptions o;
  o.default_dirs = false;
  o.plugin_dirs = {dir};
  PluginHost host(o);
  try {
    host.call("well_behaved", "echo", echo_input());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("gone.so named by its \"library\" does not exist"), std::string::npos)
        << e.what();
  }
}

TEST_F(Manifests, ALibraryThatIsNotASharedObjectIsAFormatError) {
  const std::string dir = plugin("p", kGoodManifest);
  std::ofstream(fs::path(dir) / "well_behaved.so", std::ios::trunc) << "this is not an ELF file\n";
  HostOptions o;
  o.default_dirs = false;
  o.plugin_dirs = {dir};
  PluginHost host(o);
  try {
    host.call("well_behaved", "echo", echo_input());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    EXPECT_NE(std::string(e.what()).find("cannot load the library"), std::string::npos) << e.what();
  }
}

TEST_F(Manifests, TheManifestMustListWhatTheLibraryHas) {
  const std::string dir = plugin("p", R"({"name": "well_behaved", "version": "1.0.0", "abi_version": 1,
      "library": "well_behaved.so", "capabilities": [{"name": "echo", "kind": "ocr"}]})");
  HostOptions o;
  o.default_dirs = false;
  o.plugin_dirs = {dir};
  PluginHost host(o);
  try {
    host.call("well_behaved", "echo", echo_input());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kFormat);
    EXPECT_NE(std::string(e.what()).find("capability 'echo' is kind 'tool' in the library but 'ocr' in the manifest"),
              std::string::npos)
        << e.what();
  }
}

TEST_F(Manifests, AGoodCopyWorksAndAnEarlierDirectoryShadowsALaterOne) {
  const std::string first = plugin("first", kGoodManifest);
  HostOptions o;
  o.default_dirs = false;
  o.plugin_dirs = {first, kFixtures};
  PluginHost host(o);
  EXPECT_FALSE(host.call("well_behaved", "echo", echo_input()).empty());
  EXPECT_EQ(host.plugin("well_behaved").manifest.dir, first);
}

TEST_F(Manifests, FirstWithKindSkipsPluginsThatFailToLoad) {
  // Broken tool plugins sort before the good one; the search passes them by.
  for (const char* name : {"a_crash", "b_wrong_abi"}) {
    const std::string fixture = std::string(name).substr(2) == "crash" ? "crash_on_load" : "wrong_abi";
    const fs::path dir = root_ / name;
    fs::create_directories(dir);
    fs::copy_file(fixture_dir(fixture) + "/" + fixture + ".so", dir / (fixture + ".so"));
    fs::copy_file(fixture_dir(fixture) + "/manifest.json", dir / "manifest.json");
  }
  plugin("c_good", kGoodManifest);
  HostOptions o;
  o.default_dirs = false;
  o.plugin_dirs = {root_.string()};
  PluginHost host(o);
  std::string capability;
  const PluginInfo& info = host.first_with_kind("tool", &capability);
  EXPECT_EQ(info.manifest.name, "well_behaved");
  EXPECT_EQ(capability, "echo");
  try {
    host.first_with_kind("asr", nullptr);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kNotFound);
    EXPECT_NE(std::string(e.what()).find("no asr plugin found"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace hearth::plugins
