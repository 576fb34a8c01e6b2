// hearth: the command-line front end. Exit status: 0 success, 1 a user error
// (bad file, bad value), 2 a usage error (unknown flag, unparsable value).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"

int main(int argc, char** argv) {
  using namespace hearth::cli;
  CLI::App app{"Hearth: a local-first AI runtime. Runs GGUF language models on this machine."};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", "hearth 0.1.0");
  std::vector<Command> commands = {add_run_command(app), add_chat_command(app), add_info_command(app),
                                   add_tokenize_command(app), add_bench_command(app),
                                   add_quantize_command(app), add_synth_command(app),
                                   add_serve_command(app), add_device_command(app),
                                   add_plan_command(app), add_plugins_command(app),
                                   add_ocr_command(app), add_transcribe_command(app),
                                   add_pipeline_command(app)};
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "hearth: " << e.what() << " (see --help)\n";
    return 2;
  }
  for (const Command& c : commands) {
    if (!c.app->parsed()) continue;
    try {
      return c.run();
    } catch (const hearth::Error& e) {
      std::cerr << "hearth " << c.app->get_name() << ": " << e.what() << "\n";
      return e.code() == hearth::ErrorCode::kInternal ? 3 : 1;
    } catch (const std::exception& e) {
      std::cerr << "hearth " << c.app->get_name() << ": internal error: " << e.what() << "\n";
      return 3;
    }
  }
  std::cout << app.help();
  return 0;
}
