// The resume checkpoint of `vlm localize`: the finished coarse windows and refine answers of a run,
// tied to its input, queries and options so a checkpoint is never applied to a different job.
// Written atomically (temporary file + rename) after every finished step, so a kill at any moment
// leaves either the previous or the new state, never a torn file.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "vlm/localize.h"

namespace vlm::localize_detail {

// A refine answer and the clip it answered: time of its first frame and end of its last sample.
struct RefineAnswer {
  std::string text;
  double first_seconds = 0.0;
  double limit_seconds = 0.0;
};

struct CheckpointState {
  std::vector<WindowScore> windows;
  bool coarse_done = false;
  double duration_seconds = 0.0;
  bool complete = true;
  std::string decode_error;
  double decoded_until_seconds = 0.0;
  std::map<int, RefineAnswer> answers;  // refine clip index -> model answer
};

class CheckpointFile {
 public:
  CheckpointFile(std::filesystem::path path, std::string input_id,
                 std::vector<std::string> queries, const LocalizeOptions& options);
  bool enabled() const { return !path_.empty(); }
  // The saved state, or nullopt when there is no file. Throws InvalidInput when the file is not a
  // checkpoint or belongs to another input/query list/option set.
  std::optional<CheckpointState> load() const;
  void save(const CheckpointState& state) const;

 private:
  std::filesystem::path path_;
  std::string input_id_;
  std::vector<std::string> queries_;
  std::string options_key_;
};

}  // namespace vlm::localize_detail
