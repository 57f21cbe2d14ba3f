// Tokenizer encode throughput on one thread: loads a tokenizer.json and a UTF-8 text file, cuts the
// text into documents (after the first newline once a document reaches --chunk-bytes; 0 = one
// document), encodes all documents once cold (empty piece cache) and then `repeats` times warm, and
// prints one JSON line with the figures (process CPU seconds; the warm wall time too). compare_tokenizers.py runs HF tokenizers on the same
// documents and prints the ratio; this program alone only reports our own numbers.
// Usage: bench_tokenizer --tokenizer FILE --text FILE [--chunk-bytes N] [--repeats N] [--ids-out FILE]
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "vlm/error.h"
#include "vlm/tokenizer.h"

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// CPU time of the whole process: on a loaded machine this is the fair figure (wall time also
// counts waiting for a core); compare_tokenizers.py uses time.process_time() the same way.
double process_cpu_seconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + static_cast<double>(now.tv_nsec) * 1e-9;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Must match chunk_text() in compare_tokenizers.py.
std::vector<std::string> chunk_text(const std::string& text, size_t chunk_bytes) {
  if (chunk_bytes == 0) return {text};
  std::vector<std::string> chunks;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = start + chunk_bytes;
    if (end >= text.size()) {
      end = text.size();
    } else {
      const size_t newline = text.find('\n', end - 1);
      end = newline == std::string::npos ? text.size() : newline + 1;
    }
    chunks.push_back(text.substr(start, end - start));
    start = end;
  }
  return chunks;
}

std::vector<int32_t> encode_all(const vlm::Tokenizer& tokenizer, const std::vector<std::string>& chunks) {
  std::vector<int32_t> ids;
  for (const std::string& chunk : chunks) {
    const auto part = tokenizer.encode(chunk);
    ids.insert(ids.end(), part.begin(), part.end());
  }
  return ids;
}

}  // namespace

int main(int argc, char** argv) {
  std::string tokenizer_path;
  std::string text_path;
  std::string ids_out;
  int repeats = 5;
  size_t chunk_bytes = 4096;
  for (int index = 1; index + 1 < argc; index += 2) {
    const std::string name = argv[index];
    if (name == "--tokenizer") tokenizer_path = argv[index + 1];
    else if (name == "--text") text_path = argv[index + 1];
    else if (name == "--repeats") repeats = std::max(1, std::atoi(argv[index + 1]));
    else if (name == "--ids-out") ids_out = argv[index + 1];
    else if (name == "--chunk-bytes") chunk_bytes = static_cast<size_t>(std::atoll(argv[index + 1]));
  }
  if (tokenizer_path.empty() || text_path.empty()) {
    std::fprintf(stderr, "usage: bench_tokenizer --tokenizer FILE --text FILE [--chunk-bytes N] [--repeats N] [--ids-out FILE]\n");
    return 2;
  }
  try {
    auto start = std::chrono::steady_clock::now();
    const vlm::Tokenizer tokenizer = vlm::Tokenizer::from_file(tokenizer_path);
    const double load_s = seconds_since(start);
    const std::string text = read_file(text_path);
    const std::vector<std::string> chunks = chunk_text(text, chunk_bytes);

    double cpu = process_cpu_seconds();
    const std::vector<int32_t> ids = encode_all(tokenizer, chunks);
    const double cold_s = process_cpu_seconds() - cpu;
    std::vector<double> warm;
    std::vector<double> warm_wall;
    for (int run = 0; run < repeats; ++run) {
      start = std::chrono::steady_clock::now();
      cpu = process_cpu_seconds();
      const auto again = encode_all(tokenizer, chunks);
      warm.push_back(process_cpu_seconds() - cpu);
      warm_wall.push_back(seconds_since(start));
      if (again.size() != ids.size()) throw std::runtime_error("encode is not deterministic");
    }
    std::sort(warm.begin(), warm.end());
    std::sort(warm_wall.begin(), warm_wall.end());
    const double median_s = warm[warm.size() / 2];
    const double median_wall_s = warm_wall[warm_wall.size() / 2];
    const double megabytes = static_cast<double>(text.size()) / 1e6;
    if (!ids_out.empty()) {
      std::ofstream out(ids_out);
      for (int32_t id : ids) out << id << '\n';
    }
    std::printf(
        "{\"impl\": \"vlm\", \"bytes\": %zu, \"documents\": %zu, \"ids\": %zu, \"load_s\": %.3f, \"cold_s\": %.4f, "
        "\"warm_median_s\": %.4f, \"warm_median_wall_s\": %.4f, \"cold_mb_per_s\": %.2f, "
        "\"warm_mb_per_s\": %.2f, \"warm_wall_mb_per_s\": %.2f}\n",
        text.size(), chunks.size(), ids.size(), load_s, cold_s, median_s, median_wall_s, megabytes / cold_s,
        megabytes / median_s, megabytes / median_wall_s);
    return 0;
  } catch (const std::exception& error) {
    std::fprintf(stderr, "bench_tokenizer: %s\n", error.what());
    return 1;
  }
}
