// Checkpoint folder: opens model.safetensors (preferred, as in transformers), or every shard named
// by model.safetensors.index.json (headers only, so opening is O(headers)), and maps the saved tensor
// names onto the original Qwen family (spec §2.2). Shard paths from the index are untrusted: they
// must be plain relative paths that stay inside the folder after resolving symlinks. Embedding
// tying follows HF: with tie_word_embeddings, lm_head.weight IS model.embed_tokens.weight. A saved
// lm_head is then ignored, with a log line (HF shares one parameter between both names, so a file
// holding two different values for it is ambiguous there too).
#include "vlm/checkpoint.h"

#include <set>

#include "io/json_util.h"
#include "vlm/error.h"
#include "vlm/log.h"

namespace vlm {

namespace fs = std::filesystem;

namespace {

constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kEmbedName = "model.embed_tokens.weight";
constexpr const char* kLmHeadName = "lm_head.weight";

// Refuses shard names that could leave the model folder; returns the resolved path.
fs::path resolve_shard(const fs::path& dir, const std::string& shard, const std::string& source) {
  VLM_CHECK(!shard.empty(), InvalidModel, source << ": empty shard file name in weight_map");
  fs::path relative(shard);
  VLM_CHECK(!relative.is_absolute() && !relative.has_root_name() && !relative.has_root_directory(),
            InvalidModel, source << ": shard path '" << shard << "' is absolute; refused");
  for (const fs::path& part : relative) {
    VLM_CHECK(part != "..", InvalidModel,
              source << ": shard path '" << shard << "' contains '..'; refused");
  }
  std::error_code ec;
  fs::path canonical_dir = fs::weakly_canonical(dir, ec);
  VLM_CHECK(!ec, Io, dir.string() << ": cannot resolve: " << ec.message());
  fs::path canonical_shard = fs::weakly_canonical(dir / relative, ec);
  VLM_CHECK(!ec, Io, (dir / relative).string() << ": cannot resolve: " << ec.message());
  fs::path inside = canonical_shard.lexically_relative(canonical_dir);
  VLM_CHECK(!inside.empty() && *inside.begin() != ".." && inside != ".", InvalidModel,
            source << ": shard path '" << shard << "' resolves to " << canonical_shard.string()
                   << ", outside the model folder; refused");
  return dir / relative;
}

// tie_word_embeddings with the loader rule of spec §1.3: text_config.X, else top-level X, else
// the class default false. A missing config.json means "not tied".
bool read_tie_word_embeddings(const fs::path& dir) {
  fs::path config_path = dir / "config.json";
  std::error_code ec;
  if (!fs::exists(config_path, ec)) return false;
  json_util::JsonContext root{config_path.string(), ""};
  json_util::Json config = json_util::parse_json(json_util::read_text_file(config_path),
                                                 root.source);
  if (const json_util::Json* text = json_util::opt_object(config, "text_config", root)) {
    if (auto tied = json_util::opt_bool(*text, "tie_word_embeddings", root.child("text_config"))) {
      return *tied;
    }
  }
  return json_util::opt_bool(config, "tie_word_embeddings", root).value_or(false);
}

}  // namespace

std::string Checkpoint::canonical_name(const std::string& saved_name) {
  static const std::string kVisual = "model.visual.";
  static const std::string kLanguage = "model.language_model.";
  if (saved_name.rfind(kVisual, 0) == 0) return "visual." + saved_name.substr(kVisual.size());
  if (saved_name.rfind(kLanguage, 0) == 0) return "model." + saved_name.substr(kLanguage.size());
  return saved_name;
}

Checkpoint Checkpoint::open(const fs::path& model_dir) {
  std::error_code ec;
  VLM_CHECK(fs::is_directory(model_dir, ec), NotFound,
            model_dir.string() << ": model folder not found");
  Checkpoint checkpoint;
  checkpoint.dir_ = model_dir;
  const fs::path index_path = model_dir / kIndexFile;
  const fs::path single_path = model_dir / kSingleFile;

  // Same preference as HF from_pretrained: model.safetensors first, then the index.
  if (fs::exists(single_path, ec)) {
    if (fs::exists(index_path, ec)) {
      log(LogLevel::Info, model_dir.string() + ": both " + kSingleFile + " and " + kIndexFile +
                              " exist; using " + kSingleFile + " (as transformers does)");
    }
    checkpoint.shards_.push_back(SafetensorsFile::open(single_path));
  } else if (fs::exists(index_path, ec)) {
    const std::string source = index_path.string();
    json_util::JsonContext root{source, ""};
    json_util::Json index = json_util::parse_json(json_util::read_text_file(index_path), source);
    VLM_CHECK(index.is_object(), InvalidModel, source << ": must be a JSON object");
    const json_util::Json* weight_map = json_util::opt_object(index, "weight_map", root);
    VLM_CHECK(weight_map, InvalidModel, source << ": missing field 'weight_map'");
    std::map<std::string, size_t> shard_of_file;
    for (auto it = weight_map->begin(); it != weight_map->end(); ++it) {
      VLM_CHECK(it.value().is_string(), InvalidModel,
                source << ": field 'weight_map." << it.key() << "' must be a file name string");
      shard_of_file.emplace(it.value().get<std::string>(), 0);
    }
    for (auto& [file, shard] : shard_of_file) {
      shard = checkpoint.shards_.size();
      checkpoint.shards_.push_back(SafetensorsFile::open(resolve_shard(model_dir, file, source)));
    }
    for (auto it = weight_map->begin(); it != weight_map->end(); ++it) {
      const std::string& file = it.value().get_ref<const std::string&>();
      VLM_CHECK(checkpoint.shards_[shard_of_file.at(file)]->contains(it.key()), InvalidModel,
                source << ": weight_map places tensor '" << it.key() << "' in '" << file
                       << "', which does not contain it");
    }
  } else {
    VLM_THROW(NotFound, model_dir.string() << ": neither " << kSingleFile << " nor " << kIndexFile
                                           << " found");
  }

  for (size_t shard = 0; shard < checkpoint.shards_.size(); ++shard) {
    for (const TensorInfo& info : checkpoint.shards_[shard]->tensors()) {
      std::string canonical = canonical_name(info.name);
      auto [it, inserted] = checkpoint.where_.emplace(canonical, std::make_pair(shard, info.name));
      if (!inserted) {
        const auto& [other_shard, other_name] = it->second;
        VLM_THROW(InvalidModel,
                  model_dir.string() << ": tensor '" << canonical << "' appears twice: as '"
                                     << other_name << "' in "
                                     << checkpoint.shards_[other_shard]->path().filename().string()
                                     << " and as '" << info.name << "' in "
                                     << checkpoint.shards_[shard]->path().filename().string());
      }
    }
  }

  if (read_tie_word_embeddings(model_dir)) {
    auto embed = checkpoint.where_.find(kEmbedName);
    VLM_CHECK(embed != checkpoint.where_.end(), InvalidModel,
              model_dir.string() << ": tie_word_embeddings is true but '" << kEmbedName
                                 << "' is missing");
    if (checkpoint.where_.count(kLmHeadName) != 0) {
      log(LogLevel::Info, model_dir.string() + ": tie_word_embeddings is true: the saved " +
                              kLmHeadName + " is ignored in favour of " + kEmbedName);
    }
    checkpoint.where_[kLmHeadName] = embed->second;
    log(LogLevel::Debug, model_dir.string() + ": " + kLmHeadName + " tied to " + kEmbedName);
  }
  return checkpoint;
}

bool Checkpoint::contains(const std::string& canonical_name) const {
  return where_.count(canonical_name) != 0;
}

const TensorInfo& Checkpoint::info(const std::string& canonical_name) const {
  auto it = where_.find(canonical_name);
  VLM_CHECK(it != where_.end(), NotFound,
            dir_.string() << ": checkpoint has no tensor '" << canonical_name << "'");
  return shards_[it->second.first]->info(it->second.second);
}

Tensor Checkpoint::tensor(const std::string& canonical_name) const {
  auto it = where_.find(canonical_name);
  VLM_CHECK(it != where_.end(), NotFound,
            dir_.string() << ": checkpoint has no tensor '" << canonical_name << "'");
  return shards_[it->second.first]->tensor(it->second.second);
}

Tensor Checkpoint::tensor(const std::string& canonical_name,
                          const std::vector<int64_t>& shape) const {
  Tensor result = tensor(canonical_name);
  VLM_CHECK(result.shape() == shape, InvalidModel,
            dir_.string() << ": tensor '" << canonical_name << "' has shape "
                          << shape_string(result.shape()) << ", expected " << shape_string(shape));
  return result;
}

std::vector<std::string> Checkpoint::names() const {
  std::vector<std::string> out;
  out.reserve(where_.size());
  for (const auto& [name, location] : where_) out.push_back(name);
  return out;
}

uint64_t Checkpoint::total_bytes() const {
  uint64_t total = 0;
  for (const auto& shard : shards_) {
    for (const TensorInfo& info : shard->tensors()) total += info.data_end - info.data_begin;
  }
  return total;
}

}  // namespace vlm
