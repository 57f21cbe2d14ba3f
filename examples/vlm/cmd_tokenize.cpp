// `vlm tokenize`: encode stdin (UTF-8, taken byte for byte, newlines included) with a
// tokenizer.json and print {"ids":[...]}, or with --decode read ids (a JSON array, {"ids": [...]}
// or whitespace/comma separated numbers) and print the decoded text without adding a newline.
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "vlm/error.h"
#include "vlm/tokenizer.h"

namespace vlm_cli {

namespace {

void print_tokenize_usage() {
  std::fprintf(stderr,
               "usage: vlm tokenize --tokenizer FILE [--decode] [--skip-special]\n"
               "  reads UTF-8 text on stdin and prints {\"ids\": [...]};\n"
               "  --decode        read ids instead (JSON array, {\"ids\": [...]} or numbers) and print text\n"
               "  --skip-special  with --decode: drop special tokens\n");
}

std::vector<int32_t> parse_ids(const std::string& input) {
  const size_t first = input.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && (input[first] == '[' || input[first] == '{')) {
    const auto parsed = nlohmann::json::parse(input);
    const auto& list = parsed.is_object() ? parsed.at("ids") : parsed;
    return list.get<std::vector<int32_t>>();
  }
  std::vector<int32_t> ids;
  std::string number;
  auto flush = [&]() {
    if (number.empty()) return;
    size_t used = 0;
    const long long value = std::stoll(number, &used);
    if (used != number.size() || value < INT32_MIN || value > INT32_MAX) {
      throw std::invalid_argument("not an id: " + number);
    }
    ids.push_back(static_cast<int32_t>(value));
    number.clear();
  };
  for (char c : input) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ',') {
      flush();
    } else {
      number.push_back(c);
    }
  }
  flush();
  return ids;
}

}  // namespace

int run_tokenize(int argc, char** argv) {
  std::string tokenizer_path;
  bool decode = false;
  bool skip_special = false;
  for (int index = 1; index < argc; ++index) {
    const std::string arg = argv[index];
    if (arg == "--help" || arg == "-h") {
      print_tokenize_usage();
      return 0;
    } else if (arg == "--tokenizer" && index + 1 < argc) {
      tokenizer_path = argv[++index];
    } else if (arg.rfind("--tokenizer=", 0) == 0) {
      tokenizer_path = arg.substr(std::strlen("--tokenizer="));
    } else if (arg == "--decode") {
      decode = true;
    } else if (arg == "--skip-special") {
      skip_special = true;
    } else {
      std::fprintf(stderr, "vlm tokenize: unknown or incomplete option '%s'\n", arg.c_str());
      print_tokenize_usage();
      return 2;
    }
  }
  if (tokenizer_path.empty()) {
    std::fprintf(stderr, "vlm tokenize: --tokenizer FILE is required\n");
    print_tokenize_usage();
    return 2;
  }
  const std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  std::vector<int32_t> ids;
  if (decode) {
    try {
      ids = parse_ids(input);
    } catch (const std::exception& error) {
      std::fprintf(stderr, "vlm tokenize: --decode input is not a list of ids (%s)\n", error.what());
      return 2;
    }
  }
  try {
    const vlm::Tokenizer tokenizer = vlm::Tokenizer::from_file(tokenizer_path);
    if (decode) {
      std::cout << tokenizer.decode(ids, skip_special);
    } else {
      std::cout << nlohmann::json{{"ids", tokenizer.encode(input)}}.dump() << "\n";
    }
    std::cout.flush();
    return std::cout.good() ? 0 : 1;
  } catch (const vlm::Error& error) {
    std::fprintf(stderr, "vlm tokenize: %s\n", error.what());
    return 1;
  }
}

}  // namespace vlm_cli
