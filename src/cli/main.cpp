// hearth: the command-line front end. Each subcommand lives in its own file.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "core/error.h"

int main(int argc, char** argv) {
  CLI::App app{"Hearth: a local-first AI runtime"};
  app.require_subcommand(0, 1);
  app.set_version_flag("--version", "hearth 0.1.0");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  if (app.get_subcommands().empty()) {
    std::cout << app.help();
    return 0;
  }
  return 0;
}
