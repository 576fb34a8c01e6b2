#include "plugins/plugin_host.h"

#include <signal.h>

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "hearth/plugin.h"
#include "plugins/child_frame.h"
#include "plugins/child_side.h"
#include "plugins/isolated_process.h"
#include "plugins/schema_check.h"
#include "plugins/utf8.h"

namespace hearth::plugins {
namespace {

using nlohmann::json;

// The last line the child printed, trimmed, for a crash message.
std::string last_line(const std::string& log) {
  std::string s = log;
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  const size_t nl = s.find_last_of('\n');
  if (nl != std::string::npos) s = s.substr(nl + 1);
  if (s.size() > 200) s = s.substr(0, 200) + "...";
  if (!valid_utf8(s)) return "";
  return s;
}

std::string seconds(std::chrono::milliseconds ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g s", ms.count() / 1000.0);
  return buf;
}

// The frame a child sent, or the error saying how the child failed instead.
Frame outcome_frame(const ChildOutcome& out, const std::string& who, std::chrono::milliseconds timeout) {
  if (out.timed_out)
    throw Error(ErrorCode::kInternal, who + ": did not finish within " + seconds(timeout) + " and was killed");
  if (out.too_much_output) throw Error(ErrorCode::kFormat, who + ": wrote more output than the host accepts; killed");
  const std::string printed = last_line(out.log_tail);
  const std::string tail = printed.empty() ? "" : " (its last output: " + printed + ")";
  if (out.signal != 0) {
    const char* name = ::sigabbrev_np(out.signal);
    throw Error(ErrorCode::kInternal, who + ": the plugin crashed (SIG" + std::string(name ? name : "?") +
                                          ", signal " + std::to_string(out.signal) + ")" + tail);
  }
  if (out.exit_status != 0)
    throw Error(ErrorCode::kInternal,
                who + ": the plugin's process exited with status " + std::to_string(out.exit_status) + tail);
  std::optional<Frame> f = decode_frame(out.data);
  if (!f) throw Error(ErrorCode::kInternal, who + ": the plugin's process ended without a complete result" + tail);
  return *f;
}

// A frame with one of the host's own statuses becomes the error it describes.
void throw_host_status(const Frame& f, const std::string& who) {
  switch (static_cast<FrameStatus>(f.status)) {
    case FrameStatus::kLoadFailed: throw Error(ErrorCode::kFormat, who + ": cannot load the library: " + f.message);
    case FrameStatus::kNoEntry: throw Error(ErrorCode::kFormat, who + ": " + f.message);
    case FrameStatus::kAbiMismatch: throw Error(ErrorCode::kUnsupported, who + ": " + f.message);
    case FrameStatus::kBadDescriptor: throw Error(ErrorCode::kFormat, who + ": bad descriptor: " + f.message);
    case FrameStatus::kNoCapability: throw Error(ErrorCode::kNotFound, who + ": " + f.message);
    case FrameStatus::kNoOutput: throw Error(ErrorCode::kFormat, who + ": " + f.message);
  }
}

bool is_host_status(int32_t s) { return s >= 100 && s <= 105; }

std::string describe_who(const Manifest& m) { return "plugin '" + m.name + "' (" + m.file + ")"; }

// Checks the descriptor JSON sent by describe_in_child against the manifest.
PluginInfo check_descriptor(const Manifest& m, const std::string& payload) {
  const std::string who = describe_who(m);
  json d;
  try {
    d = json::parse(payload);
  } catch (const json::exception&) {
    throw Error(ErrorCode::kInternal, who + ": the describe step sent unreadable JSON");
  }
  auto text = [&](const json& j, const char* key, const std::string& where) {
    if (!j.contains(key) || !j[key].is_string())
      throw Error(ErrorCode::kFormat, who + ": bad descriptor: " + where + key + " is NULL");
    return j[key].get<std::string>();
  };
  PluginInfo info;
  info.manifest = m;
  const std::string name = text(d, "name", "");
  const std::string version = text(d, "version", "");
  if (d.value("description", json()).is_string()) info.description = d["description"].get<std::string>();
  if (info.description.empty()) info.description = m.description;
  if (!d.value("has_free_string", false))
    throw Error(ErrorCode::kFormat, who + ": bad descriptor: free_string is NULL (it is required)");
  if (name != m.name)
    throw Error(ErrorCode::kFormat,
                who + ": the library calls itself '" + name + "' but the manifest says '" + m.name + "'");
  if (version != m.version)
    throw Error(ErrorCode::kFormat,
                who + ": the library's version is '" + version + "' but the manifest says '" + m.version + "'");
  const auto count = d.value("capability_count", 0u);
  if (count == 0 || count > 256 || d["capabilities"].size() != count)
    throw Error(ErrorCode::kFormat, who + ": bad descriptor: capability_count is " + std::to_string(count) +
                                        " (1..256 with a non-NULL capabilities array required)");
  for (size_t i = 0; i < d["capabilities"].size(); ++i) {
    const json& c = d["capabilities"][i];
    const std::string where = "capabilities[" + std::to_string(i) + "].";
    CapabilityInfo cap;
    cap.name = text(c, "name", where);
    const char* kind = capability_kind_name(c.value("kind", 0));
    if (!*kind)
      throw Error(ErrorCode::kFormat, who + ": bad descriptor: " + where + "kind is " + c["kind"].dump() +
                                          ", not an ocr, asr or tool value");
    cap.kind = kind;
    if (c["description"].is_string()) cap.description = c["description"].get<std::string>();
    for (const char* key : {"input_schema", "output_schema"}) {
      json schema;
      try {
        schema = json::parse(text(c, key, where));
      } catch (const json::parse_error& e) {
        throw Error(ErrorCode::kFormat, who + ": " + where + key + " of '" + cap.name + "' is not valid JSON");
      }
      if (!schema.is_object())
        throw Error(ErrorCode::kFormat, who + ": " + where + key + " of '" + cap.name + "' is not a JSON object");
      (std::strcmp(key, "input_schema") == 0 ? cap.input_schema : cap.output_schema) = schema;
    }
    if (!c.value("has_call", false))
      throw Error(ErrorCode::kFormat, who + ": bad descriptor: " + where + "call is NULL");
    info.capabilities.push_back(cap);
  }
  // The manifest is what `plugins list` and pipelines read without loading
  // code, so it must say what the library does, no more and no less.
  for (const auto& mc : m.capabilities) {
    const CapabilityInfo* c = info.find(mc.name);
    if (!c)
      throw Error(ErrorCode::kFormat,
                  who + ": the manifest lists capability '" + mc.name + "' but the library does not have it");
    if (c->kind != mc.kind)
      throw Error(ErrorCode::kFormat, who + ": capability '" + mc.name + "' is kind '" + c->kind +
                                          "' in the library but '" + mc.kind + "' in the manifest");
  }
  for (const auto& c : info.capabilities) {
    bool listed = false;
    for (const auto& mc : m.capabilities) listed = listed || mc.name == c.name;
    if (!listed)
      throw Error(ErrorCode::kFormat,
                  who + ": the library has capability '" + c.name + "' which the manifest does not list");
  }
  return info;
}

ErrorCode code_for_plugin_status(int32_t status) {
  switch (status) {
    case HEARTH_STATUS_INVALID_INPUT: return ErrorCode::kInvalidArgument;
    case HEARTH_STATUS_NOT_FOUND: return ErrorCode::kNotFound;
    case HEARTH_STATUS_UNSUPPORTED: return ErrorCode::kUnsupported;
    default: return ErrorCode::kInternal;
  }
}

}  // namespace

const CapabilityInfo* PluginInfo::find(const std::string& capability) const {
  for (const auto& c : capabilities)
    if (c.name == capability) return &c;
  return nullptr;
}

PluginHost::PluginHost(HostOptions options) : options_(std::move(options)) {
  dirs_ = plugin_search_dirs(options_.plugin_dirs, options_.default_dirs);
  found_ = discover_plugins(dirs_);
}

const PluginInfo& PluginHost::describe(const Manifest& m) {
  if (auto it = described_.find(m.file); it != described_.end()) return it->second;
  const std::string who = describe_who(m);
  std::error_code ec;
  if (!std::filesystem::is_regular_file(m.library, ec))
    throw Error(ErrorCode::kNotFound, who + ": the library " + m.library + " named by its \"library\" does not exist");
  const ChildOutcome out =
      run_isolated([&](int fd) { describe_in_child(m, fd); }, options_.describe_timeout);
  const Frame f = outcome_frame(out, who, options_.describe_timeout);
  if (is_host_status(f.status)) throw_host_status(f, who);
  return described_.emplace(m.file, check_descriptor(m, f.payload)).first->second;
}

const PluginInfo& PluginHost::plugin(const std::string& name) {
  for (const FoundPlugin& f : found_)
    if (f.manifest && f.manifest->name == name) return describe(*f.manifest);
  std::string where;
  for (const auto& d : dirs_) where += (where.empty() ? "" : ", ") + d;
  throw Error(ErrorCode::kNotFound, "no plugin named '" + name + "' (searched " + where + ")");
}

const PluginInfo& PluginHost::first_with_kind(const std::string& kind, std::string* capability) {
  std::string skipped;
  for (const FoundPlugin& f : found_) {
    if (!f.manifest) continue;
    bool declares = false;
    for (const auto& c : f.manifest->capabilities) declares = declares || c.kind == kind;
    if (!declares) continue;
    try {
      const PluginInfo& info = describe(*f.manifest);
      for (const auto& c : info.capabilities)
        if (c.kind == kind) {
          if (capability) *capability = c.name;
          return info;
        }
    } catch (const Error& e) {
      if (skipped.empty()) skipped = std::string("; the first that failed: ") + e.what();
    }
  }
  std::string where;
  for (const auto& d : dirs_) where += (where.empty() ? "" : ", ") + d;
  throw Error(ErrorCode::kNotFound, "no " + kind + " plugin found (searched " + where + ")" + skipped);
}

json PluginHost::call(const std::string& plugin_name, const std::string& capability, const json& input) {
  const PluginInfo& info = plugin(plugin_name);
  const std::string who = "plugin '" + plugin_name + "' capability '" + capability + "'";
  const CapabilityInfo* cap = info.find(capability);
  if (!cap) throw Error(ErrorCode::kNotFound, "plugin '" + plugin_name + "' has no capability '" + capability + "'");
  if (std::string m = schema_mismatch(input, cap->input_schema, "input"); !m.empty())
    throw Error(ErrorCode::kInvalidArgument, who + ": " + m);
  const std::string input_text = input.dump();
  const Manifest& manifest = info.manifest;
  const ChildOutcome out =
      run_isolated([&](int fd) { call_in_child(manifest, capability, input_text, fd); }, options_.call_timeout);
  const Frame f = outcome_frame(out, who, options_.call_timeout);
  if (is_host_status(f.status)) throw_host_status(f, who);
  if (f.status < 0 || f.status > HEARTH_STATUS_INTERNAL)
    throw Error(ErrorCode::kFormat, who + ": returned status " + std::to_string(f.status) + ", not a hearth_status");
  if (f.status != HEARTH_STATUS_OK) {
    std::string message = f.message;
    if (!valid_utf8(message)) message = "(its message is not valid UTF-8)";
    if (message.empty()) message = "failed with status " + std::to_string(f.status) + " and no message";
    if (message.find('\n') != std::string::npos) message = message.substr(0, message.find('\n'));
    throw Error(code_for_plugin_status(f.status), who + ": " + message);
  }
  size_t bad = 0;
  if (!valid_utf8(f.payload, &bad))
    throw Error(ErrorCode::kFormat, who + ": output is not valid UTF-8 (bad byte at offset " + std::to_string(bad) + ")");
  json output;
  try {
    output = json::parse(f.payload);
  } catch (const json::parse_error& e) {
    throw Error(ErrorCode::kFormat, who + ": output is not valid JSON (" + e.what() + ")");
  }
  if (std::string m = schema_mismatch(output, cap->output_schema, "output"); !m.empty())
    throw Error(ErrorCode::kFormat, who + ": output does not match its declared schema: " + m);
  return output;
}

}  // namespace hearth::plugins
