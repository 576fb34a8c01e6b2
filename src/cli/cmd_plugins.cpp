// hearth plugins: the plugins this binary finds (`list`) and a direct call to
// one capability (`call`). Plugins are searched in --plugin-dir, then
// $HEARTH_HOME/plugins, then beside the executable (docs/plugins.md).
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "core/error.h"
#include "plugins/plugin_host.h"

namespace hearth::cli {
namespace {

struct PluginsFlags {
  std::vector<std::string> dirs;
  bool json = false;
  std::string plugin;
  std::string capability;
  std::string input;
  double timeout = 60;
};

plugins::HostOptions host_options(const PluginsFlags& f) {
  if (!(f.timeout > 0 && f.timeout <= 86400)) throw Error(ErrorCode::kInvalidArgument, "--timeout must be within (0, 86400] seconds");
  plugins::HostOptions o;
  o.plugin_dirs = f.dirs;
  o.call_timeout = std::chrono::milliseconds(static_cast<long long>(f.timeout * 1000));
  return o;
}

int list(const PluginsFlags& f) {
  plugins::PluginHost host(host_options(f));
  nlohmann::ordered_json all = nlohmann::ordered_json::array();
  int bad = 0;
  for (const plugins::FoundPlugin& found : host.found()) {
    nlohmann::ordered_json j;
    j["manifest"] = found.manifest_file;
    std::string error = found.error;
    if (found.manifest) {
      const plugins::Manifest& m = *found.manifest;
      j["name"] = m.name;
      j["version"] = m.version;
      j["library"] = m.library;
      try {
        const plugins::PluginInfo& info = host.describe(m);
        j["description"] = info.description;
        j["capabilities"] = nlohmann::ordered_json::array();
        for (const auto& c : info.capabilities)
          j["capabilities"].push_back({{"name", c.name},
                                       {"kind", c.kind},
                                       {"description", c.description},
                                       {"input_schema", c.input_schema},
                                       {"output_schema", c.output_schema}});
      } catch (const Error& e) {
        error = e.what();
      }
    }
    j["ok"] = error.empty();
    if (!error.empty()) {
      j["error"] = error;
      ++bad;
    }
    all.push_back(j);
  }
  if (f.json) {
    nlohmann::ordered_json out;
    out["search_dirs"] = host.search_dirs();
    out["plugins"] = all;
    std::cout << out.dump(2) << "\n";
  } else {
    if (all.empty()) std::printf("no plugins found\n");
    for (const auto& j : all) {
      if (!j["ok"].get<bool>()) {
        std::printf("%-16s %-8s BROKEN: %s\n", j.value("name", std::string("?")).c_str(),
                    j.value("version", std::string("")).c_str(), j["error"].get<std::string>().c_str());
        continue;
      }
      std::string caps;
      for (const auto& c : j["capabilities"])
        caps += (caps.empty() ? "" : ", ") + c["name"].get<std::string>() + " (" + c["kind"].get<std::string>() + ")";
      std::printf("%-16s %-8s %s\n%-25s %s\n", j["name"].get<std::string>().c_str(),
                  j["version"].get<std::string>().c_str(), caps.c_str(), "",
                  j["manifest"].get<std::string>().c_str());
    }
    std::printf("searched:");
    for (const auto& d : host.search_dirs()) std::printf(" %s", d.c_str());
    std::printf("\n");
  }
  // A broken plugin is reported on stderr too, one line each, and makes the
  // listing fail so that scripts notice.
  for (const auto& j : all)
    if (!j["ok"].get<bool>()) std::fprintf(stderr, "hearth plugins list: %s\n", j["error"].get<std::string>().c_str());
  return bad ? 1 : 0;
}

int call(const PluginsFlags& f) {
  nlohmann::json input;
  try {
    input = nlohmann::json::parse(f.input);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(ErrorCode::kInvalidArgument, "INPUT is not valid JSON (" + std::string(e.what()) + ")");
  }
  plugins::PluginHost host(host_options(f));
  const nlohmann::json out = host.call(f.plugin, f.capability, input);
  std::cout << out.dump(f.json ? 2 : -1) << "\n";
  return 0;
}

}  // namespace

Command add_plugins_command(CLI::App& root) {
  auto f = std::make_shared<PluginsFlags>();
  CLI::App* app = root.add_subcommand("plugins", "plugins: OCR, speech recognition, tools (docs/plugins.md)");
  app->require_subcommand(1);
  CLI::App* ls = app->add_subcommand("list", "the plugins found, each checked by loading it");
  ls->add_option("--plugin-dir", f->dirs, "also search this directory (first; repeatable)");
  ls->add_flag("--json", f->json, "print the search directories and plugins, with schemas, as JSON");
  CLI::App* cl = app->add_subcommand("call", "call one capability of a plugin with JSON input");
  cl->add_option("PLUGIN", f->plugin, "the plugin's name")->required();
  cl->add_option("CAPABILITY", f->capability, "the capability's name")->required();
  cl->add_option("INPUT", f->input, "the input, a JSON object")->required();
  cl->add_option("--plugin-dir", f->dirs, "also search this directory (first; repeatable)");
  cl->add_option("--timeout", f->timeout, "seconds before the call is killed")->capture_default_str();
  cl->add_flag("--json", f->json, "pretty-print the output");
  return {app, [f, ls] { return ls->parsed() ? list(*f) : call(*f); }};
}

}  // namespace hearth::cli
