// SAX handler for tokenizer.json; see tokenizer_json_reader.h. Values outside model.vocab and
// model.merges are assembled into a DOM exactly as nlohmann::json::parse would (last duplicate key
// wins); inside them only the shapes HF accepts are allowed.
#include "tokenizer/tokenizer_json_reader.h"

#include "vlm/error.h"

namespace vlm::tokenizer_detail {

namespace {

using nlohmann::json;

class Reader : public nlohmann::json_sax<json> {
 public:
  Reader(TokenizerJson& out, const std::string& source) : out_(out), source_(source) {}

  bool null() override { return value(json(nullptr), "null"); }
  bool boolean(bool flag) override { return value(json(flag), "a boolean"); }
  bool number_integer(number_integer_t number) override { return integer(number); }
  bool number_unsigned(number_unsigned_t number) override {
    return integer(number > static_cast<number_unsigned_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(number));
  }
  bool number_float(number_float_t number, const string_t&) override { return value(json(number), "a float"); }
  bool string(string_t& text) override {
    if (!stack_.empty() && stack_.back().mode == Mode::Merges) {
      const size_t space = text.find(' ');
      VLM_CHECK(space != std::string::npos && text.find(' ', space + 1) == std::string::npos, InvalidModel,
                source_ << ": merges[" << out_.merges.size() << "] must be \"left right\" with one space");
      out_.merges.emplace_back(text.substr(0, space), text.substr(space + 1));
      return true;
    }
    if (!stack_.empty() && stack_.back().mode == Mode::MergePair) {
      pair_.push_back(std::move(text));
      return true;
    }
    return value(json(std::move(text)), "a string");
  }
  bool binary(binary_t&) override { return value(json(), "binary"); }

  bool start_object(std::size_t) override {
    if (!stack_.empty() && stack_.back().is_model && key_ == "vocab" && stack_.back().mode == Mode::Dom) {
      out_.has_vocab = true;
      stack_.push_back({nullptr, Mode::Vocab, false});
      return true;
    }
    json* node = insert(json::object(), "an object");
    stack_.push_back({node, Mode::Dom, stack_.size() == 1 && key_ == "model"});
    return true;
  }
  bool key(string_t& name) override {
    key_ = std::move(name);
    return true;
  }
  bool end_object() override {
    stack_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override {
    if (!stack_.empty() && stack_.back().is_model && key_ == "merges" && stack_.back().mode == Mode::Dom) {
      out_.has_merges = true;
      stack_.push_back({nullptr, Mode::Merges, false});
      return true;
    }
    if (!stack_.empty() && stack_.back().mode == Mode::Merges) {
      pair_.clear();
      stack_.push_back({nullptr, Mode::MergePair, false});
      return true;
    }
    json* node = insert(json::array(), "an array");
    stack_.push_back({node, Mode::Dom, false});
    return true;
  }
  bool end_array() override {
    if (stack_.back().mode == Mode::MergePair) {
      VLM_CHECK(pair_.size() == 2, InvalidModel,
                source_ << ": merges[" << out_.merges.size() << "] must be a string or a pair of strings");
      out_.merges.emplace_back(std::move(pair_[0]), std::move(pair_[1]));
    }
    stack_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& error) override {
    VLM_THROW(InvalidModel, source_ << ": not valid JSON at byte " << position << " (" << error.what() << ")");
  }

 private:
  enum class Mode { Dom, Vocab, Merges, MergePair };
  struct Frame {
    json* node;  // DOM container (Mode::Dom only)
    Mode mode;
    bool is_model;  // the object at root["model"]
  };

  bool integer(int64_t number) {
    if (!stack_.empty() && stack_.back().mode == Mode::Vocab) {
      out_.vocab.emplace_back(std::move(key_), number);
      return true;
    }
    return value(json(number), "an integer");
  }

  bool value(json&& item, const char* what) {
    insert(std::move(item), what);
    return true;
  }

  // Places a value in the current container (or as the root) and returns where it went.
  json* insert(json&& item, const char* what) {
    if (stack_.empty()) {
      out_.rest = std::move(item);
      return &out_.rest;
    }
    Frame& top = stack_.back();
    switch (top.mode) {
      case Mode::Vocab:
        VLM_THROW(InvalidModel, source_ << ": model.vocab[\"" << key_ << "\"] is " << what << ", not an integer id");
      case Mode::Merges:
      case Mode::MergePair:
        VLM_THROW(InvalidModel, source_ << ": merges[" << out_.merges.size() << "] contains " << what
                                        << "; entries must be \"left right\" or [\"left\", \"right\"]");
      case Mode::Dom:
        break;
    }
    if (top.node->is_object()) {
      json& slot = (*top.node)[key_];
      slot = std::move(item);
      return &slot;
    }
    top.node->push_back(std::move(item));
    return &top.node->back();
  }

  TokenizerJson& out_;
  const std::string& source_;
  std::vector<Frame> stack_;
  std::string key_;
  std::vector<std::string> pair_;
};

}  // namespace

TokenizerJson read_tokenizer_json(std::string_view text, const std::string& source) {
  TokenizerJson out;
  Reader reader(out, source);
  json::sax_parse(text.begin(), text.end(), &reader);
  return out;
}

}  // namespace vlm::tokenizer_detail
