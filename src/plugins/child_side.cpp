#include "plugins/child_side.h"

#include <dlfcn.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "hearth/plugin.h"
#include "plugins/child_frame.h"

namespace hearth::plugins {
namespace {

Frame host_failure(FrameStatus status, const std::string& message) {
  return Frame{static_cast<int32_t>(status), "", message};
}

// Loads the library and returns its descriptor, or fills *failure.
const hearth_plugin* open_plugin(const Manifest& m, Frame* failure) {
  void* handle = ::dlopen(m.library.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    *failure = host_failure(FrameStatus::kLoadFailed, why ? why : "dlopen failed");
    return nullptr;
  }
  ::dlerror();
  void* entry = ::dlsym(handle, HEARTH_PLUGIN_ENTRY_SYMBOL);
  if (!entry) {
    *failure = host_failure(FrameStatus::kNoEntry, std::string("the library does not export ") +
                                                      HEARTH_PLUGIN_ENTRY_SYMBOL + " (is it a Hearth plugin?)");
    return nullptr;
  }
  const hearth_plugin* d = reinterpret_cast<hearth_plugin_entry_fn>(entry)();
  if (!d) {
    *failure = host_failure(FrameStatus::kBadDescriptor, std::string(HEARTH_PLUGIN_ENTRY_SYMBOL) + " returned NULL");
    return nullptr;
  }
  if (d->abi_version != HEARTH_PLUGIN_ABI_VERSION) {
    *failure = host_failure(FrameStatus::kAbiMismatch,
                            "the library was built for plugin ABI version " + std::to_string(d->abi_version) +
                                " but this Hearth speaks version " + std::to_string(HEARTH_PLUGIN_ABI_VERSION));
    return nullptr;
  }
  if (d->struct_size < sizeof(hearth_plugin)) {
    *failure = host_failure(FrameStatus::kBadDescriptor,
                            "the descriptor's struct_size is " + std::to_string(d->struct_size) + ", less than the " +
                                std::to_string(sizeof(hearth_plugin)) + " bytes of ABI version " +
                                std::to_string(HEARTH_PLUGIN_ABI_VERSION));
    return nullptr;
  }
  return d;
}

nlohmann::json text_or_null(const char* s) { return s ? nlohmann::json(s) : nlohmann::json(nullptr); }

std::string take_string(const hearth_plugin* d, char* s) {
  if (!s) return "";
  std::string copy(s);
  if (d->free_string) d->free_string(s);
  return copy;
}

}  // namespace

void describe_in_child(const Manifest& manifest, int fd) {
  Frame failure;
  const hearth_plugin* d = open_plugin(manifest, &failure);
  if (!d) {
    send_frame(fd, failure);
    return;
  }
  nlohmann::json j;
  j["abi_version"] = d->abi_version;
  j["name"] = text_or_null(d->name);
  j["version"] = text_or_null(d->version);
  j["description"] = text_or_null(d->description);
  j["has_free_string"] = d->free_string != nullptr;
  j["capability_count"] = d->capability_count;
  j["capabilities"] = nlohmann::json::array();
  // The host refuses absurd counts; reading past a short array would only
  // crash this child, but there is no need to walk a garbage count.
  if (d->capabilities && d->capability_count <= 256)
    for (uint32_t i = 0; i < d->capability_count; ++i) {
      const hearth_capability& c = d->capabilities[i];
      j["capabilities"].push_back({{"name", text_or_null(c.name)},
                                   {"kind", c.kind},
                                   {"description", text_or_null(c.description)},
                                   {"input_schema", text_or_null(c.input_schema)},
                                   {"output_schema", text_or_null(c.output_schema)},
                                   {"has_call", c.call != nullptr}});
    }
  std::string text;
  try {
    text = j.dump();  // throws on text that is not UTF-8
  } catch (const nlohmann::json::exception&) {
    send_frame(fd, host_failure(FrameStatus::kBadDescriptor, "the descriptor holds text that is not valid UTF-8"));
    return;
  }
  send_frame(fd, Frame{0, text, ""});
}

void call_in_child(const Manifest& manifest, const std::string& capability, const std::string& input_json, int fd) {
  Frame failure;
  const hearth_plugin* d = open_plugin(manifest, &failure);
  if (!d) {
    send_frame(fd, failure);
    return;
  }
  const hearth_capability* cap = nullptr;
  for (uint32_t i = 0; d->capabilities && i < d->capability_count && i <= 256; ++i)
    if (d->capabilities[i].name && capability == d->capabilities[i].name) cap = &d->capabilities[i];
  if (!cap || !cap->call) {
    send_frame(fd, host_failure(FrameStatus::kNoCapability, "the plugin has no callable capability '" + capability + "'"));
    return;
  }
  if (d->init) {
    hearth_result r{};
    const std::string config = nlohmann::json{{"plugin_dir", manifest.dir}}.dump();
    d->init(config.c_str(), &r);
    std::string out = take_string(d, r.output_json);
    std::string message = take_string(d, r.error_message);
    if (r.status != HEARTH_STATUS_OK) {
      send_frame(fd, Frame{r.status, "", "could not start: " + message});
      return;
    }
  }
  hearth_result r{};
  cap->call(input_json.c_str(), &r);
  Frame result{r.status, take_string(d, r.output_json), take_string(d, r.error_message)};
  if (r.status == HEARTH_STATUS_OK && !r.output_json)
    result = host_failure(FrameStatus::kNoOutput, "the call reported success but returned no output");
  if (d->shutdown) d->shutdown();
  send_frame(fd, result);
}

}  // namespace hearth::plugins
