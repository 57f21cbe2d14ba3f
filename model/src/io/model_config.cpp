// config.json loader for Qwen2.5-VL (flat 4.x, hybrid 4.52+ and nested 5.x layouts) and Qwen2-VL,
// following the loader policy of spec §1.3:
//   * text field X: text_config.X if present, else top-level X, else the HF class default; when both
//     are present they must agree (the hybrid layout duplicates them);
//   * mrope_section: text_config.rope_parameters -> text_config.rope_scaling -> rope_scaling, all
//     present ones must agree; rope type "mrope"/"default" only (yarn, dynamic, ... refused);
//   * rope_theta: text_config.rope_parameters.rope_theta -> text_config.rope_theta -> rope_theta
//     -> 1e6;
//   * vision keys missing from vision_config take the HF vision class defaults (hidden_size 3584,
//     tokens_per_second 4 — the traps of a save_pretrained diff), exactly as HF would.
// Defaults are applied as HF applies them, but never silently: every default is logged (Info), and
// the result is validated for consistency; each error names the file and the field.
#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "io/json_util.h"
#include "vlm/config.h"
#include "vlm/error.h"
#include "vlm/log.h"

namespace vlm {

using json_util::Json;
using json_util::JsonContext;

bool VisionConfig::is_full_attention_block(int block) const {
  return std::find(fullatt_block_indexes.begin(), fullatt_block_indexes.end(), block) !=
         fullatt_block_indexes.end();
}

namespace {

// Resolves fields of one config.json and remembers, for messages, where each value came from.
class ConfigReader {
 public:
  ConfigReader(const Json& root, const std::string& source)
      : root_(root), root_ctx_{source, ""}, text_ctx_{source, "text_config"} {
    text_ = json_util::opt_object(root_, "text_config", root_ctx_);
    vision_ = json_util::opt_object(root_, "vision_config", root_ctx_);
  }

  const std::string& source() const { return root_ctx_.source; }
  const Json& root() const { return root_; }
  const JsonContext& root_ctx() const { return root_ctx_; }
  const Json* text() const { return text_; }
  const Json* vision() const { return vision_; }
  JsonContext vision_ctx() const { return root_ctx_.child("vision_config"); }

  // A text field: text_config.X or X (which must agree), nullptr object when neither exists.
  std::pair<const Json*, JsonContext> locate_text(const std::string& key) {
    const Json* in_text = text_ ? json_util::find(*text_, key) : nullptr;
    const Json* in_root = json_util::find(root_, key);
    if (in_text && in_root && *in_text != *in_root) {
      VLM_THROW(InvalidModel, source() << ": inconsistent fields: 'text_config." << key << "' = "
                                       << in_text->dump() << " but '" << key
                                       << "' = " << in_root->dump());
    }
    if (in_text) return {text_, text_ctx_};
    if (in_root) return {&root_, root_ctx_};
    return {nullptr, root_ctx_};
  }

  int text_int(const std::string& key, int class_default) {
    auto [object, ctx] = locate_text(key);
    names_[key] = object ? ctx.field(key) : key + " (class default)";
    if (!object) return note_default(key, class_default);
    return *json_util::opt_int32(*object, key, ctx);
  }
  double text_number(const std::string& key, double class_default) {
    auto [object, ctx] = locate_text(key);
    names_[key] = object ? ctx.field(key) : key + " (class default)";
    if (!object) return note_default(key, class_default);
    return *json_util::opt_number(*object, key, ctx);
  }
  bool text_bool(const std::string& key, bool class_default) {
    auto [object, ctx] = locate_text(key);
    names_[key] = object ? ctx.field(key) : key + " (class default)";
    if (!object) return note_default(key, class_default);
    return *json_util::opt_bool(*object, key, ctx);
  }
  std::string text_string(const std::string& key, const std::string& class_default) {
    auto [object, ctx] = locate_text(key);
    names_[key] = object ? ctx.field(key) : key + " (class default)";
    if (!object) return note_default(key, class_default);
    return *json_util::opt_string(*object, key, ctx);
  }

  // A vision field under one of `keys` (the first is the HF attribute, the others legacy aliases,
  // which must agree with it when both are present).
  int vision_int(std::initializer_list<const char*> keys, int class_default) {
    const char* found = nullptr;
    std::optional<int> value;
    for (const char* key : keys) {
      std::optional<int> candidate =
          vision_ ? json_util::opt_int32(*vision_, key, vision_ctx()) : std::nullopt;
      if (!candidate) continue;
      if (value && *candidate != *value) {
        VLM_THROW(InvalidModel, source() << ": inconsistent fields: 'vision_config." << found
                                         << "' = " << *value << " but 'vision_config." << key
                                         << "' = " << *candidate);
      }
      if (!value) {
        value = candidate;
        found = key;
      }
    }
    const std::string primary = *keys.begin();
    names_["vision." + primary] =
        value ? "vision_config." + std::string(found) : "vision_config." + primary + " (class default)";
    if (!value) return note_default("vision_config." + primary, class_default);
    return *value;
  }
  double vision_number(const std::string& key, double class_default) {
    std::optional<double> value =
        vision_ ? json_util::opt_number(*vision_, key, vision_ctx()) : std::nullopt;
    names_["vision." + key] = value ? "vision_config." + key : "vision_config." + key + " (class default)";
    if (!value) return note_default("vision_config." + key, class_default);
    return *value;
  }
  std::string vision_string(const std::string& key, const std::string& class_default) {
    std::optional<std::string> value =
        vision_ ? json_util::opt_string(*vision_, key, vision_ctx()) : std::nullopt;
    names_["vision." + key] = value ? "vision_config." + key : "vision_config." + key + " (class default)";
    if (!value) return note_default("vision_config." + key, class_default);
    return *value;
  }
  std::vector<int> vision_int_list(const std::string& key, const std::vector<int>& class_default) {
    std::optional<std::vector<int64_t>> value =
        vision_ ? json_util::opt_int_list(*vision_, key, vision_ctx()) : std::nullopt;
    names_["vision." + key] = "vision_config." + key;
    if (!value) {
      note_default_text("vision_config." + key, "[...]");
      return class_default;
    }
    std::vector<int> out;
    for (int64_t item : *value) {
      VLM_CHECK(item >= 0 && item < (1 << 20), InvalidModel,
                source() << ": field 'vision_config." << key << "' has an out-of-range entry "
                         << item);
      out.push_back(static_cast<int>(item));
    }
    return out;
  }

  // The display name of a resolved field ("text_config.hidden_size", "vision_config.depth").
  std::string name(const std::string& key) const {
    auto it = names_.find(key);
    return it == names_.end() ? key : it->second;
  }

  template <typename T>
  T note_default(const std::string& field, T value) {
    std::ostringstream text;
    text << value;
    note_default_text(field, text.str());
    return value;
  }
  void note_default_text(const std::string& field, const std::string& value) {
    defaults_.push_back(field + "=" + value);
  }
  const std::vector<std::string>& defaults() const { return defaults_; }

 private:
  const Json& root_;
  JsonContext root_ctx_;
  JsonContext text_ctx_;
  const Json* text_ = nullptr;
  const Json* vision_ = nullptr;
  std::map<std::string, std::string> names_;
  std::vector<std::string> defaults_;
};

#define CONFIG_CHECK(cond_, reader_, msg_) \
  VLM_CHECK(cond_, InvalidModel, (reader_).source() << ": " << msg_)

// Checks a rope dict's type and returns its mrope_section when present.
std::optional<std::vector<int64_t>> read_rope_dict(const Json& rope, const JsonContext& ctx) {
  for (const char* type_key : {"rope_type", "type"}) {
    if (std::optional<std::string> type = json_util::opt_string(rope, type_key, ctx)) {
      VLM_CHECK(*type == "mrope" || *type == "default", Unsupported,
                ctx.source << ": field '" << ctx.field(type_key) << "' = \"" << *type
                           << "\" is not supported (only \"mrope\"/\"default\"; RoPE scaling such "
                              "as yarn or dynamic hurts Qwen2.5-VL grounding and is not "
                              "implemented)");
    }
  }
  return json_util::opt_int_list(rope, "mrope_section", ctx);
}

void read_rope(ConfigReader& reader, TextConfig& text) {
  struct Source {
    const Json* object;
    JsonContext ctx;
  };
  std::vector<Source> sources;
  JsonContext text_ctx = reader.root_ctx().child("text_config");
  if (reader.text()) {
    if (const Json* params = json_util::opt_object(*reader.text(), "rope_parameters", text_ctx)) {
      sources.push_back({params, text_ctx.child("rope_parameters")});
    }
    if (const Json* scaling = json_util::opt_object(*reader.text(), "rope_scaling", text_ctx)) {
      sources.push_back({scaling, text_ctx.child("rope_scaling")});
    }
  }
  if (const Json* scaling = json_util::opt_object(reader.root(), "rope_scaling", reader.root_ctx())) {
    sources.push_back({scaling, reader.root_ctx().child("rope_scaling")});
  }
  std::optional<std::vector<int64_t>> section;
  std::string section_field;
  for (const Source& source : sources) {
    std::optional<std::vector<int64_t>> candidate = read_rope_dict(*source.object, source.ctx);
    if (!candidate) continue;
    if (section && *candidate != *section) {
      VLM_THROW(InvalidModel, reader.source() << ": inconsistent fields: '" << section_field
                                              << "' and '" << source.ctx.field("mrope_section")
                                              << "' differ");
    }
    if (!section) {
      section = candidate;
      section_field = source.ctx.field("mrope_section");
    }
  }
  VLM_CHECK(section, InvalidModel,
            reader.source() << ": missing field 'rope_scaling.mrope_section' (also looked for "
                               "text_config.rope_parameters and text_config.rope_scaling); the "
                               "multimodal RoPE cannot be built without it");
  VLM_CHECK(section->size() == 3, InvalidModel,
            reader.source() << ": field '" << section_field << "' must have 3 entries, has "
                            << section->size());
  int64_t sum = 0;
  for (size_t i = 0; i < 3; ++i) {
    VLM_CHECK((*section)[i] > 0 && (*section)[i] <= 65536, InvalidModel,
              reader.source() << ": field '" << section_field << "[" << i << "]' = "
                              << (*section)[i] << " must be positive");
    text.mrope_section[i] = static_cast<int>((*section)[i]);
    sum += (*section)[i];
  }
  VLM_CHECK(sum * 2 == text.head_dim, InvalidModel,
            reader.source() << ": field '" << section_field << "' sums to " << sum
                            << ", but twice that must equal head_dim = hidden_size / "
                               "num_attention_heads = "
                            << text.head_dim);

  // rope_theta: rope_parameters.rope_theta -> text_config.rope_theta -> rope_theta -> 1e6.
  std::optional<double> theta;
  if (!sources.empty() && sources.front().ctx.prefix == "text_config.rope_parameters") {
    theta = json_util::opt_number(*sources.front().object, "rope_theta", sources.front().ctx);
  }
  if (theta) {
    text.rope_theta = *theta;
  } else {
    text.rope_theta = reader.text_number("rope_theta", 1000000.0);
  }
  VLM_CHECK(std::isfinite(text.rope_theta) && text.rope_theta > 0, InvalidModel,
            reader.source() << ": rope_theta = " << text.rope_theta << " must be positive");
}

void read_text(ConfigReader& reader, TextConfig& text) {
  // Class defaults of Qwen2_5_VLConfig / Qwen2_5_VLTextConfig / Qwen2VLConfig (identical).
  text.vocab_size = reader.text_int("vocab_size", 152064);
  text.hidden_size = reader.text_int("hidden_size", 8192);
  text.intermediate_size = reader.text_int("intermediate_size", 29568);
  text.num_hidden_layers = reader.text_int("num_hidden_layers", 80);
  text.num_attention_heads = reader.text_int("num_attention_heads", 64);
  // HF: an explicit null means "as many kv heads as heads"; absence means the class default 8.
  const bool kv_present = reader.locate_text("num_key_value_heads").first != nullptr;
  const bool kv_null = !kv_present && ((reader.text() && reader.text()->contains("num_key_value_heads")) ||
                                       reader.root().contains("num_key_value_heads"));
  if (kv_null) {
    text.num_key_value_heads = text.num_attention_heads;
    reader.note_default("num_key_value_heads (null: = num_attention_heads)", text.num_attention_heads);
  } else {
    text.num_key_value_heads = reader.text_int("num_key_value_heads", 8);
  }
  text.hidden_act = reader.text_string("hidden_act", "silu");
  text.max_position_embeddings = reader.text_int("max_position_embeddings", 32768);
  text.rms_norm_eps = static_cast<float>(reader.text_number("rms_norm_eps", 1e-5));
  text.tie_word_embeddings = reader.text_bool("tie_word_embeddings", false);

  struct Positive {
    const char* key;
    int value;
  };
  for (const Positive& field :
       {Positive{"vocab_size", text.vocab_size}, Positive{"hidden_size", text.hidden_size},
        Positive{"intermediate_size", text.intermediate_size},
        Positive{"num_hidden_layers", text.num_hidden_layers},
        Positive{"num_attention_heads", text.num_attention_heads},
        Positive{"num_key_value_heads", text.num_key_value_heads},
        Positive{"max_position_embeddings", text.max_position_embeddings}}) {
    CONFIG_CHECK(field.value > 0, reader,
                 "field '" << reader.name(field.key) << "' = " << field.value << " must be positive");
  }
  CONFIG_CHECK(text.hidden_size % text.num_attention_heads == 0, reader,
               "field '" << reader.name("hidden_size") << "' = " << text.hidden_size
                         << " is not divisible by '" << reader.name("num_attention_heads")
                         << "' = " << text.num_attention_heads);
  CONFIG_CHECK(text.num_attention_heads % text.num_key_value_heads == 0, reader,
               "field '" << reader.name("num_attention_heads") << "' = " << text.num_attention_heads
                         << " is not divisible by '" << reader.name("num_key_value_heads")
                         << "' = " << text.num_key_value_heads);
  text.head_dim = text.hidden_size / text.num_attention_heads;
  // HF's Qwen2.5-VL attention ignores a head_dim key; one that disagrees is refused.
  if (auto [object, ctx] = reader.locate_text("head_dim"); object) {
    int declared = *json_util::opt_int32(*object, "head_dim", ctx);
    CONFIG_CHECK(declared == text.head_dim, reader,
                 "field '" << ctx.field("head_dim") << "' = " << declared
                           << " disagrees with hidden_size / num_attention_heads = " << text.head_dim);
  }
  CONFIG_CHECK(std::isfinite(text.rms_norm_eps) && text.rms_norm_eps > 0, reader,
               "field '" << reader.name("rms_norm_eps") << "' = " << text.rms_norm_eps
                         << " must be positive");
  VLM_CHECK(text.hidden_act == "silu", Unsupported,
            reader.source() << ": field '" << reader.name("hidden_act") << "' = \""
                            << text.hidden_act << "\" is not supported (only \"silu\")");
  read_rope(reader, text);
}

void read_vision_qwen2_5(ConfigReader& reader, VisionConfig& vision) {
  // Qwen2_5_VLVisionConfig class defaults.
  vision.depth = reader.vision_int({"depth"}, 32);
  vision.hidden_size = reader.vision_int({"hidden_size"}, 3584);
  vision.hidden_act = reader.vision_string("hidden_act", "silu");
  vision.intermediate_size = reader.vision_int({"intermediate_size"}, 3420);
  vision.num_heads = reader.vision_int({"num_heads"}, 16);
  vision.in_channels = reader.vision_int({"in_channels", "in_chans"}, 3);
  vision.patch_size = reader.vision_int({"patch_size", "spatial_patch_size"}, 14);
  vision.spatial_merge_size = reader.vision_int({"spatial_merge_size"}, 2);
  vision.temporal_patch_size = reader.vision_int({"temporal_patch_size"}, 2);
  vision.tokens_per_second = static_cast<float>(reader.vision_number("tokens_per_second", 4.0));
  vision.window_size = reader.vision_int({"window_size"}, 112);
  vision.out_hidden_size = reader.vision_int({"out_hidden_size"}, 3584);
  vision.fullatt_block_indexes = reader.vision_int_list("fullatt_block_indexes", {7, 15, 23, 31});
  VLM_CHECK(vision.hidden_act == "silu", Unsupported,
            reader.source() << ": field '" << reader.name("vision.hidden_act") << "' = \""
                            << vision.hidden_act << "\" is not supported (only \"silu\")");
  CONFIG_CHECK(std::isfinite(vision.tokens_per_second) && vision.tokens_per_second > 0, reader,
               "field '" << reader.name("vision.tokens_per_second") << "' = "
                         << vision.tokens_per_second << " must be positive");
  CONFIG_CHECK(vision.window_size > 0, reader,
               "field '" << reader.name("vision.window_size") << "' = " << vision.window_size
                         << " must be positive");
}

void read_vision_qwen2(ConfigReader& reader, VisionConfig& vision) {
  // Qwen2VLVisionConfig class defaults; no window attention, every block attends per frame.
  vision.depth = reader.vision_int({"depth"}, 32);
  vision.hidden_size = reader.vision_int({"embed_dim"}, 1280);
  vision.out_hidden_size = reader.vision_int({"hidden_size"}, 3584);
  vision.hidden_act = reader.vision_string("hidden_act", "quick_gelu");
  double mlp_ratio = reader.vision_number("mlp_ratio", 4.0);
  vision.num_heads = reader.vision_int({"num_heads"}, 16);
  vision.in_channels = reader.vision_int({"in_channels", "in_chans"}, 3);
  vision.patch_size = reader.vision_int({"patch_size", "spatial_patch_size"}, 14);
  vision.spatial_merge_size = reader.vision_int({"spatial_merge_size"}, 2);
  vision.temporal_patch_size = reader.vision_int({"temporal_patch_size"}, 2);
  VLM_CHECK(vision.hidden_act == "quick_gelu", Unsupported,
            reader.source() << ": field '" << reader.name("vision.hidden_act") << "' = \""
                            << vision.hidden_act << "\" is not supported for Qwen2-VL (only "
                               "\"quick_gelu\")");
  double intermediate = vision.hidden_size * mlp_ratio;  // HF: int(embed_dim * mlp_ratio)
  CONFIG_CHECK(std::isfinite(mlp_ratio) && mlp_ratio > 0 && intermediate < (1 << 30), reader,
               "field '" << reader.name("vision.mlp_ratio") << "' = " << mlp_ratio
                         << " must be positive");
  vision.intermediate_size = static_cast<int>(intermediate);
  vision.window_size = 0;
  // Not a Qwen2-VL concept (its temporal position is the frame-group index); kept at the
  // Qwen2.5-VL default only so the field holds a defined value.
  vision.tokens_per_second = 4.0f;
  vision.fullatt_block_indexes.clear();
  for (int block = 0; block < vision.depth; ++block) vision.fullatt_block_indexes.push_back(block);
}

void validate_vision(ConfigReader& reader, const VisionConfig& vision, const TextConfig& text,
                     ModelFamily family) {
  struct Positive {
    const char* key;
    int value;
  };
  for (const Positive& field :
       {Positive{"vision.depth", vision.depth},
        Positive{family == ModelFamily::Qwen2VL ? "vision.embed_dim" : "vision.hidden_size",
                 vision.hidden_size},
        Positive{"vision.intermediate_size", vision.intermediate_size},
        Positive{"vision.num_heads", vision.num_heads},
        Positive{"vision.patch_size", vision.patch_size},
        Positive{"vision.spatial_merge_size", vision.spatial_merge_size},
        Positive{"vision.temporal_patch_size", vision.temporal_patch_size}}) {
    if (family == ModelFamily::Qwen2VL && std::string(field.key) == "vision.intermediate_size") {
      continue;  // derived from mlp_ratio, checked there
    }
    CONFIG_CHECK(field.value > 0, reader,
                 "field '" << reader.name(field.key) << "' = " << field.value << " must be positive");
  }
  const std::string width_key = family == ModelFamily::Qwen2VL ? "vision.embed_dim" : "vision.hidden_size";
  const std::string out_key = family == ModelFamily::Qwen2VL ? "vision.hidden_size" : "vision.out_hidden_size";
  CONFIG_CHECK(vision.in_channels == 3, reader,
               "field '" << reader.name("vision.in_channels") << "' = " << vision.in_channels
                         << " must be 3 (RGB)");
  CONFIG_CHECK(vision.hidden_size % vision.num_heads == 0, reader,
               "field '" << reader.name(width_key) << "' = " << vision.hidden_size
                         << " is not divisible by '" << reader.name("vision.num_heads") << "' = "
                         << vision.num_heads);
  CONFIG_CHECK(vision.head_dim() % 4 == 0, reader,
               "vision head_dim = " << reader.name(width_key) << " / " << reader.name("vision.num_heads")
                                    << " = " << vision.head_dim()
                                    << " must be a multiple of 4 (2D rotary embedding)");
  CONFIG_CHECK(vision.out_hidden_size == text.hidden_size, reader,
               "field '" << reader.name(out_key) << "' = " << vision.out_hidden_size
                         << " must equal the text hidden_size ('" << reader.name("hidden_size")
                         << "' = " << text.hidden_size << ")");
  if (family == ModelFamily::Qwen2_5VL) {
    const int factor = vision.patch_size * vision.spatial_merge_size;
    CONFIG_CHECK(vision.window_size % factor == 0, reader,
                 "field '" << reader.name("vision.window_size") << "' = " << vision.window_size
                           << " must be a multiple of patch_size * spatial_merge_size = " << factor);
    for (size_t i = 0; i < vision.fullatt_block_indexes.size(); ++i) {
      int block = vision.fullatt_block_indexes[i];
      CONFIG_CHECK(block < vision.depth, reader,
                   "field 'vision_config.fullatt_block_indexes[" << i << "]' = " << block
                                                                 << " is not below depth = "
                                                                 << vision.depth);
      CONFIG_CHECK(i == 0 || block > vision.fullatt_block_indexes[i - 1], reader,
                   "field 'vision_config.fullatt_block_indexes' must be strictly increasing");
    }
  }
}

int32_t read_token_id(ConfigReader& reader, const std::string& key, int32_t fallback,
                      int vocab_size) {
  int id = reader.text_int(key, fallback);
  CONFIG_CHECK(id >= 0 && id < vocab_size, reader,
               "field '" << reader.name(key) << "' = " << id << " is outside the vocabulary [0, "
                         << vocab_size << ")");
  return id;
}

}  // namespace

ModelConfig parse_model_config(std::string_view json_text, const std::string& source) {
  Json root = json_util::parse_json(json_text, source);
  VLM_CHECK(root.is_object(), InvalidModel, source << ": must be a JSON object");
  ConfigReader reader(root, source);
  ModelConfig config;

  std::optional<std::string> model_type = json_util::opt_string(root, "model_type", reader.root_ctx());
  VLM_CHECK(model_type, InvalidModel, source << ": missing field 'model_type'");
  if (*model_type == "qwen2_5_vl") {
    config.family = ModelFamily::Qwen2_5VL;
  } else if (*model_type == "qwen2_vl") {
    config.family = ModelFamily::Qwen2VL;
  } else {
    VLM_THROW(Unsupported, source << ": field 'model_type' = \"" << *model_type
                                  << "\" is not supported (qwen2_5_vl, qwen2_vl)");
  }

  read_text(reader, config.text);
  if (config.family == ModelFamily::Qwen2_5VL) {
    read_vision_qwen2_5(reader, config.vision);
  } else {
    read_vision_qwen2(reader, config.vision);
  }
  validate_vision(reader, config.vision, config.text, config.family);

  const int vocab = config.text.vocab_size;
  config.image_token_id = read_token_id(reader, "image_token_id", 151655, vocab);
  config.video_token_id = read_token_id(reader, "video_token_id", 151656, vocab);
  config.vision_start_token_id = read_token_id(reader, "vision_start_token_id", 151652, vocab);
  config.vision_end_token_id = read_token_id(reader, "vision_end_token_id", 151653, vocab);
  config.bos_token_id = read_token_id(reader, "bos_token_id", 151643, vocab);

  auto [eos_object, eos_ctx] = reader.locate_text("eos_token_id");
  if (eos_object) {
    std::vector<int64_t> ids = *json_util::opt_int_or_int_list(*eos_object, "eos_token_id", eos_ctx);
    VLM_CHECK(!ids.empty(), InvalidModel,
              source << ": field '" << eos_ctx.field("eos_token_id") << "' is an empty list");
    config.eos_token_ids.clear();
    for (int64_t id : ids) {
      VLM_CHECK(id >= 0 && id < vocab, InvalidModel,
                source << ": field '" << eos_ctx.field("eos_token_id") << "' contains " << id
                       << ", outside the vocabulary [0, " << vocab << ")");
      config.eos_token_ids.push_back(static_cast<int32_t>(id));
    }
  } else {
    reader.note_default("eos_token_id", config.eos_token_ids.front());
  }

  // torch_dtype (<= 4.5x) or dtype (newer): informational (weights say their own dtype).
  if (reader.locate_text("torch_dtype").first) {
    config.torch_dtype = reader.text_string("torch_dtype", config.torch_dtype);
  } else {
    config.torch_dtype = reader.text_string("dtype", config.torch_dtype);
  }

  if (!reader.defaults().empty()) {
    std::string message = source + ": class defaults applied for missing keys:";
    for (const std::string& item : reader.defaults()) message += " " + item;
    log(LogLevel::Info, message);
  }
  return config;
}

ModelConfig load_model_config(const std::filesystem::path& config_json) {
  return parse_model_config(json_util::read_text_file(config_json), config_json.string());
}

}  // namespace vlm
