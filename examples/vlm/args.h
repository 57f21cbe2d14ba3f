// A small command-line option parser shared by the vlm subcommands: `--name value`,
// `--name=value`, repeatable options and flags, with errors that name the offending option; and
// the subcommands' common way of reporting a failure (report_command_failure).
#pragma once

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace vlm_cli {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Args {
 public:
  // value_options take a value (may repeat); flags take none. Anything else is a UsageError.
  Args(int argc, char** argv, const std::vector<std::string>& value_options,
       const std::vector<std::string>& flags);

  bool has(const std::string& name) const;
  bool flag(const std::string& name) const { return has(name); }
  std::optional<std::string> get(const std::string& name) const;  // last occurrence
  std::string get_or(const std::string& name, const std::string& fallback) const;
  std::vector<std::string> all(const std::string& name) const;
  std::string require(const std::string& name) const;
  int get_int(const std::string& name, int fallback) const;
  double get_double(const std::string& name, double fallback) const;
  const std::vector<std::string>& positional() const { return positional_; }

 private:
  std::map<std::string, std::vector<std::string>> values_;
  std::vector<std::string> positional_;
};

// For a subcommand's `catch (...)`: prints the exception in flight as "vlm <command>: <what>" on
// stderr and returns the exit status: 2 (with the usage text) for a UsageError, 1 for any other
// std::exception; anything else is rethrown. newline_first starts the error on a new line (after
// a progress bar).
int report_command_failure(const char* command, const char* usage, bool newline_first = false);

}  // namespace vlm_cli
