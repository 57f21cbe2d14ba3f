// Implementation of the shared option parser and failure report (see args.h).
#include "args.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <exception>

namespace vlm_cli {

Args::Args(int argc, char** argv, const std::vector<std::string>& value_options,
           const std::vector<std::string>& flags) {
  auto is_in = [](const std::vector<std::string>& list, const std::string& name) {
    return std::find(list.begin(), list.end(), name) != list.end();
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0 || arg == "--") {
      positional_.push_back(arg);
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> inline_value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (is_in(flags, name)) {
      if (inline_value) throw UsageError("option --" + name + " takes no value");
      values_[name].push_back("");
    } else if (is_in(value_options, name)) {
      if (inline_value) {
        values_[name].push_back(*inline_value);
      } else {
        if (i + 1 >= argc) throw UsageError("option --" + name + " needs a value");
        values_[name].push_back(argv[++i]);
      }
    } else {
      throw UsageError("unknown option --" + name);
    }
  }
}

bool Args::has(const std::string& name) const { return values_.count(name) != 0; }

std::optional<std::string> Args::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string Args::get_or(const std::string& name, const std::string& fallback) const {
  return get(name).value_or(fallback);
}

std::vector<std::string> Args::all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

std::string Args::require(const std::string& name) const {
  auto value = get(name);
  if (!value) throw UsageError("missing required option --" + name);
  return *value;
}

int Args::get_int(const std::string& name, int fallback) const {
  auto value = get(name);
  if (!value) return fallback;
  char* end = nullptr;
  long parsed = std::strtol(value->c_str(), &end, 10);
  if (end == value->c_str() || *end != '\0' || parsed < -2147483647L || parsed > 2147483647L) {
    throw UsageError("option --" + name + " expects an integer, got '" + *value + "'");
  }
  return static_cast<int>(parsed);
}

double Args::get_double(const std::string& name, double fallback) const {
  auto value = get(name);
  if (!value) return fallback;
  char* end = nullptr;
  double parsed = std::strtod(value->c_str(), &end);
  if (end == value->c_str() || *end != '\0') {
    throw UsageError("option --" + name + " expects a number, got '" + *value + "'");
  }
  return parsed;
}

int report_command_failure(const char* command, const char* usage, bool newline_first) {
  try {
    throw;
  } catch (const UsageError& e) {
    std::fprintf(stderr, "vlm %s: %s\n%s", command, e.what(), usage);
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%svlm %s: %s\n", newline_first ? "\n" : "", command, e.what());
    return 1;
  }
}

}  // namespace vlm_cli
