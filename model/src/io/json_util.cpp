// Typed JSON field access with file/field-naming errors (see json_util.h). Duplicate keys are
// detected with nlohmann's parser callback, because the DOM silently keeps the last duplicate.
#include "io/json_util.h"

#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include "vlm/error.h"

namespace vlm::json_util {

std::string JsonContext::field(std::string_view key) const {
  if (prefix.empty()) return std::string(key);
  return prefix + "." + std::string(key);
}

JsonContext JsonContext::child(std::string_view key) const { return {source, field(key)}; }

std::string read_text_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) VLM_THROW(NotFound, path.string() << ": file not found");
  std::ifstream in(path, std::ios::binary);
  VLM_CHECK(in, Io, path.string() << ": cannot open for reading");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  VLM_CHECK(!in.bad(), Io, path.string() << ": read error");
  return buffer.str();
}

namespace {

// Tracks the keys seen in each open object so a repeated key can be reported with its path.
struct DuplicateKeyDetector {
  struct Frame {
    std::set<std::string> keys;
    std::string last_key;
  };
  std::vector<Frame> frames;
  std::string duplicate_path;  // first duplicate found, "" when none
  bool duplicate_at_top = false;

  bool on_event(nlohmann::json::parse_event_t event, const Json& parsed) {
    using Event = nlohmann::json::parse_event_t;
    if (event == Event::object_start) {
      frames.emplace_back();
    } else if (event == Event::object_end) {
      if (!frames.empty()) frames.pop_back();
    } else if (event == Event::key && !frames.empty()) {
      std::string key = parsed.get<std::string>();
      Frame& top = frames.back();
      if (!top.keys.insert(key).second && duplicate_path.empty()) {
        duplicate_at_top = frames.size() == 1;
        for (size_t i = 0; i + 1 < frames.size(); ++i) duplicate_path += frames[i].last_key + ".";
        duplicate_path += key;
      }
      top.last_key = std::move(key);
    }
    return true;
  }
};

void line_and_column(std::string_view text, size_t byte, size_t* line, size_t* column) {
  *line = 1;
  *column = 1;
  for (size_t i = 0; i < byte && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++*line;
      *column = 1;
    } else {
      ++*column;
    }
  }
}

}  // namespace

Json parse_json(std::string_view text, const std::string& source, std::string_view top_level_key) {
  DuplicateKeyDetector detector;
  Json result;
  try {
    result = Json::parse(
        text.begin(), text.end(),
        [&detector](int, nlohmann::json::parse_event_t event, Json& parsed) {
          return detector.on_event(event, parsed);
        });
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte is 1-based: the position of the offending character.
    size_t byte = e.byte > 0 ? e.byte - 1 : 0;
    size_t line = 0, column = 0;
    line_and_column(text, byte, &line, &column);
    std::string what = e.what();
    size_t pos = what.find("] ");
    if (pos != std::string::npos) what = what.substr(pos + 2);
    VLM_THROW(InvalidModel, source << ": JSON syntax error at byte " << byte << " (line " << line
                                   << ", column " << column << "): " << what);
  } catch (const nlohmann::json::exception& e) {
    // Not a syntax error but still invalid JSON for us, e.g. out_of_range.406 for a number
    // literal that overflows a double ("1e999").
    std::string what = e.what();
    size_t pos = what.find("] ");
    if (pos != std::string::npos) what = what.substr(pos + 2);
    VLM_THROW(InvalidModel, source << ": invalid JSON: " << what);
  }
  if (!detector.duplicate_path.empty()) {
    VLM_THROW(InvalidModel, source << ": duplicate "
                                   << (detector.duplicate_at_top ? top_level_key : "key") << " '"
                                   << detector.duplicate_path
                                   << "' (JSON keys must be unique: which value is meant?)");
  }
  return result;
}

const char* type_name(const Json& value) {
  if (value.is_number_integer()) return "integer";
  if (value.is_number_float()) return "number";
  return value.type_name();
}

const Json* find(const Json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

namespace {

int64_t as_int64(const Json& value, const std::string& field, const JsonContext& ctx) {
  VLM_CHECK(value.is_number_integer(), InvalidModel,
            ctx.source << ": field '" << field << "' must be an integer, got " << type_name(value)
                       << " " << value.dump());
  if (value.is_number_unsigned()) {
    uint64_t unsigned_value = value.get<uint64_t>();
    VLM_CHECK(unsigned_value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()),
              InvalidModel, ctx.source << ": field '" << field << "' = " << unsigned_value
                                       << " is out of range");
    return static_cast<int64_t>(unsigned_value);
  }
  return value.get<int64_t>();
}

double as_number(const Json& value, const std::string& field, const JsonContext& ctx) {
  VLM_CHECK(value.is_number(), InvalidModel,
            ctx.source << ": field '" << field << "' must be a number, got " << type_name(value)
                       << " " << value.dump());
  return value.get<double>();
}

}  // namespace

std::optional<int64_t> opt_int(const Json& object, std::string_view key, const JsonContext& ctx) {
  const Json* value = find(object, key);
  if (!value) return std::nullopt;
  return as_int64(*value, ctx.field(key), ctx);
}

std::optional<int> opt_int32(const Json& object, std::string_view key, const JsonContext& ctx) {
  std::optional<int64_t> value = opt_int(object, key, ctx);
  if (!value) return std::nullopt;
  VLM_CHECK(*value >= std::numeric_limits<int>::min() && *value <= std::numeric_limits<int>::max(),
            InvalidModel,
            ctx.source << ": field '" << ctx.field(key) << "' = " << *value
                       << " does not fit a 32-bit integer");
  return static_cast<int>(*value);
}

std::optional<double> opt_number(const Json& object, std::string_view key, const JsonContext& ctx) {
  const Json* value = find(object, key);
  if (!value) return std::nullopt;
  return as_number(*value, ctx.field(key), ctx);
}

std::optional<bool> opt_bool(const Json& object, std::string_view key, const JsonContext& ctx) {
  const Json* value = find(object, key);
  if (!value) return std::nullopt;
  VLM_CHECK(value->is_boolean(), InvalidModel,
            ctx.source << ": field '" << ctx.field(key) << "' must be true or false, got "
                       << type_name(*value) << " " << value->dump());
  return value->get<bool>();
}

std::optional<std::string> opt_string(const Json& object, std::string_view key,
                                      const JsonContext& ctx) {
  const Json* value = find(object, key);
  if (!value) return std::nullopt;
  VLM_CHECK(value->is_string(), InvalidModel,
            ctx.source << ": field '" << ctx.field(key) << "' must be a string, got "
                       << type_name(*value) << " " << value->dump());
  return value->get<std::string>();
}

const Json* opt_object(const Json& object, std::string_view key, const JsonContext& ctx) {
  const Json* value = find(object, key);
  if (!value) return nullptr;
  VLM_CHECK(value->is_object(), InvalidModel,
            ctx.source << ": field '" << ctx.field(key) << "' must be an object, got "
                       << type_name(*value));
  return value;
}

namespace {

// An optional list field whose elements (`kind`, e.g. "integers") are read by `convert`.
template <typename T>
std::optional<std::vector<T>> opt_list(const Json& object, std::string_view key,
                                       const JsonContext& ctx, const char* kind,
                                       T (*convert)(const Json&, const std::string&,
                                                    const JsonContext&)) {
  const Json* value = find(object, key);
  if (!value) return std::nullopt;
  std::string field = ctx.field(key);
  VLM_CHECK(value->is_array(), InvalidModel,
            ctx.source << ": field '" << field << "' must be a list of " << kind << ", got "
                       << type_name(*value));
  std::vector<T> out;
  out.reserve(value->size());
  for (size_t i = 0; i < value->size(); ++i) {
    out.push_back(convert((*value)[i], field + "[" + std::to_string(i) + "]", ctx));
  }
  return out;
}

}  // namespace

std::optional<std::vector<int64_t>> opt_int_list(const Json& object, std::string_view key,
                                                 const JsonContext& ctx) {
  return opt_list<int64_t>(object, key, ctx, "integers", as_int64);
}

std::optional<std::vector<double>> opt_number_list(const Json& object, std::string_view key,
                                                   const JsonContext& ctx) {
  return opt_list<double>(object, key, ctx, "numbers", as_number);
}

std::optional<std::vector<int64_t>> opt_int_or_int_list(const Json& object, std::string_view key,
                                                        const JsonContext& ctx) {
  const Json* value = find(object, key);
  if (!value) return std::nullopt;
  if (value->is_array()) return opt_int_list(object, key, ctx);
  VLM_CHECK(value->is_number_integer(), InvalidModel,
            ctx.source << ": field '" << ctx.field(key)
                       << "' must be an integer or a list of integers, got " << type_name(*value));
  return std::vector<int64_t>{as_int64(*value, ctx.field(key), ctx)};
}

}  // namespace vlm::json_util
