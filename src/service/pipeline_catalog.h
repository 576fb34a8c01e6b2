// Where pipelines are found: a path to a JSON file, or a name looked up as
// NAME.json in $HEARTH_HOME/pipelines, then beside the executable
// (<exe>/../pipelines for a build, <exe>/../share/hearth/pipelines for an install).
#pragma once

#include <string>
#include <vector>

namespace hearth::service {

// The directories searched for pipelines by name, in order: `extra` first.
std::vector<std::string> pipeline_search_dirs(const std::vector<std::string>& extra = {});

// A path when the argument names an existing file or looks like one (has a /
// or ends in .json); otherwise the first NAME.json in the search dirs.
// Error(kNotFound) naming the directories searched.
std::string find_pipeline(const std::string& name_or_path, const std::vector<std::string>& dirs);

// Every *.json in the search dirs (a name seen earlier shadows later ones), sorted by name.
std::vector<std::string> list_pipeline_files(const std::vector<std::string>& dirs);

}  // namespace hearth::service
