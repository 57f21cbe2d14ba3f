// A Hugging Face checkpoint folder: one model.safetensors or shards listed by
// model.safetensors.index.json. Tensor names are normalised to the original Qwen family
// ("visual.…", "model.…", "lm_head.weight") whichever family the files use (spec §2.2), and a
// missing lm_head.weight resolves to model.embed_tokens.weight when embeddings are tied.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vlm/safetensors.h"

namespace vlm {

class Checkpoint {
 public:
  // Opens every shard (headers only); a shard path leaving model_dir is refused.
  static Checkpoint open(const std::filesystem::path& model_dir);

  bool contains(const std::string& canonical_name) const;
  // Zero-copy view of the tensor; throws NotFound naming the tensor and the folder.
  Tensor tensor(const std::string& canonical_name) const;
  // The tensor, checked to have exactly `shape` (throws InvalidModel naming both shapes).
  Tensor tensor(const std::string& canonical_name, const std::vector<int64_t>& shape) const;
  const TensorInfo& info(const std::string& canonical_name) const;
  std::vector<std::string> names() const;  // canonical names, sorted
  uint64_t total_bytes() const;
  const std::filesystem::path& dir() const { return dir_; }

  // Maps a saved name to the canonical family: "model.visual.x" -> "visual.x",
  // "model.language_model.x" -> "model.x"; other names unchanged.
  static std::string canonical_name(const std::string& saved_name);

 private:
  std::filesystem::path dir_;
  std::vector<std::shared_ptr<SafetensorsFile>> shards_;
  std::map<std::string, std::pair<size_t, std::string>> where_;  // canonical -> (shard, saved name)
};

}  // namespace vlm
