// Typed access to JSON fields with errors that name the file and the dotted field path
// ("config.json: field 'vision_config.depth' must be an integer, got string"). Shared by the
// config loaders, the safetensors index reader and the checkpoint; internal to libvlm.
// Policy: a JSON null counts as "absent" (HF treats an explicit null as None = use the default).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace vlm::json_util {

using Json = nlohmann::json;

// Where a JSON object sits: the file (for messages) and the dotted path of the object itself
// ("" for the document root, "text_config.rope_parameters" for a nested one).
struct JsonContext {
  std::string source;
  std::string prefix;

  std::string field(std::string_view key) const;     // "prefix.key" (or "key" at the root)
  JsonContext child(std::string_view key) const;      // context of the nested object `key`
};

// Reads a whole file; NotFound when it does not exist, Io when it cannot be read.
std::string read_text_file(const std::filesystem::path& path);

// Parses JSON text; a syntax error is InvalidModel naming `source`, the byte offset and the
// line/column. Duplicate keys in any object are refused too (nlohmann would keep the last one);
// `top_level_key` names what a key of the root object is in that message ("key", "tensor name").
Json parse_json(std::string_view text, const std::string& source,
                std::string_view top_level_key = "key");

// The value of `key` in `object`, or nullptr when absent or null. `object` must be an object.
const Json* find(const Json& object, std::string_view key);

// Optional typed fields: nullopt when absent/null, InvalidModel when present with the wrong type
// or out of the representable range.
std::optional<int64_t> opt_int(const Json& object, std::string_view key, const JsonContext& ctx);
std::optional<int> opt_int32(const Json& object, std::string_view key, const JsonContext& ctx);
// Accepts integers and floating-point numbers.
std::optional<double> opt_number(const Json& object, std::string_view key, const JsonContext& ctx);
std::optional<bool> opt_bool(const Json& object, std::string_view key, const JsonContext& ctx);
std::optional<std::string> opt_string(const Json& object, std::string_view key,
                                      const JsonContext& ctx);
// nullptr when absent/null; InvalidModel when present but not an object.
const Json* opt_object(const Json& object, std::string_view key, const JsonContext& ctx);
// A list of integers.
std::optional<std::vector<int64_t>> opt_int_list(const Json& object, std::string_view key,
                                                 const JsonContext& ctx);
// A list of numbers.
std::optional<std::vector<double>> opt_number_list(const Json& object, std::string_view key,
                                                   const JsonContext& ctx);
// Either a single integer or a list of integers (eos_token_id style).
std::optional<std::vector<int64_t>> opt_int_or_int_list(const Json& object, std::string_view key,
                                                        const JsonContext& ctx);

// "string", "integer", "object", ... for messages.
const char* type_name(const Json& value);

}  // namespace vlm::json_util
