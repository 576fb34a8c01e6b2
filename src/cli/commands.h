// The subcommands of `hearth`: each file registers its options on the root app
// and returns the action to run when that subcommand is chosen.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace hearth::cli {

using Action = std::function<int()>;

struct Command {
  CLI::App* app;
  Action run;
};

Command add_run_command(CLI::App& root);
Command add_chat_command(CLI::App& root);
Command add_info_command(CLI::App& root);
Command add_tokenize_command(CLI::App& root);
Command add_bench_command(CLI::App& root);
Command add_quantize_command(CLI::App& root);
Command add_synth_command(CLI::App& root);
Command add_serve_command(CLI::App& root);
Command add_device_command(CLI::App& root);
Command add_plan_command(CLI::App& root);
Command add_plugins_command(CLI::App& root);
Command add_ocr_command(CLI::App& root);
Command add_transcribe_command(CLI::App& root);
Command add_pipeline_command(CLI::App& root);

}  // namespace hearth::cli
