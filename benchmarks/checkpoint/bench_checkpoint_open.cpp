// Benchmark: the cost of Checkpoint::open on a large generated checkpoint, against reading the same
// files fully (the O(file) reference, measured in the same run). The checkpoint is written with
// SafetensorsWriter in a temporary folder: real Qwen2.5-VL-3B tensor names (new "model.visual." /
// "model.language_model." family) and shapes, bf16, the full vision tower plus as many decoder
// layers as fit the requested size, split into ~512 MB shards listed by
// model.safetensors.index.json. The folder is removed at the end.
// Usage: bench_checkpoint_open [size_gb=3] [tmp_dir=/tmp]
// Note: the read-fully reference reads from the page cache (the files were just written), i.e. its
// best case; a cold read from disk would make the ratio larger still.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "vlm/checkpoint.h"
#include "vlm/error.h"
#include "vlm/safetensors.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Spec {
  std::string name;
  std::vector<int64_t> shape;
  uint64_t bytes() const {
    uint64_t n = 2;  // bf16
    for (int64_t d : shape) n *= static_cast<uint64_t>(d);
    return n;
  }
};

// Qwen2.5-VL-3B tensors (spec §2.1), saved with the new (HF >= 4.52) prefixes.
std::vector<Spec> tensor_specs(uint64_t target_bytes) {
  std::vector<Spec> specs;
  const std::string v = "model.visual.";
  specs.push_back({v + "patch_embed.proj.weight", {1280, 3, 2, 14, 14}});
  for (int b = 0; b < 32; ++b) {
    std::string p = v + "blocks." + std::to_string(b) + ".";
    specs.push_back({p + "norm1.weight", {1280}});
    specs.push_back({p + "norm2.weight", {1280}});
    specs.push_back({p + "attn.qkv.weight", {3840, 1280}});
    specs.push_back({p + "attn.qkv.bias", {3840}});
    specs.push_back({p + "attn.proj.weight", {1280, 1280}});
    specs.push_back({p + "attn.proj.bias", {1280}});
    for (const char* name : {"gate_proj", "up_proj"}) {
      specs.push_back({p + "mlp." + name + ".weight", {3420, 1280}});
      specs.push_back({p + "mlp." + name + ".bias", {3420}});
    }
    specs.push_back({p + "mlp.down_proj.weight", {1280, 3420}});
    specs.push_back({p + "mlp.down_proj.bias", {1280}});
  }
  specs.push_back({v + "merger.ln_q.weight", {1280}});
  specs.push_back({v + "merger.mlp.0.weight", {5120, 5120}});
  specs.push_back({v + "merger.mlp.0.bias", {5120}});
  specs.push_back({v + "merger.mlp.2.weight", {2048, 5120}});
  specs.push_back({v + "merger.mlp.2.bias", {2048}});
  const std::string t = "model.language_model.";
  specs.push_back({t + "embed_tokens.weight", {151936, 2048}});
  specs.push_back({t + "norm.weight", {2048}});
  uint64_t total = 0;
  for (const Spec& spec : specs) total += spec.bytes();
  for (int layer = 0; layer < 36 && total < target_bytes; ++layer) {
    std::string p = t + "layers." + std::to_string(layer) + ".";
    std::vector<Spec> block = {
        {p + "input_layernorm.weight", {2048}},
        {p + "post_attention_layernorm.weight", {2048}},
        {p + "self_attn.q_proj.weight", {2048, 2048}},
        {p + "self_attn.q_proj.bias", {2048}},
        {p + "self_attn.k_proj.weight", {256, 2048}},
        {p + "self_attn.k_proj.bias", {256}},
        {p + "self_attn.v_proj.weight", {256, 2048}},
        {p + "self_attn.v_proj.bias", {256}},
        {p + "self_attn.o_proj.weight", {2048, 2048}},
        {p + "mlp.gate_proj.weight", {11008, 2048}},
        {p + "mlp.up_proj.weight", {11008, 2048}},
        {p + "mlp.down_proj.weight", {2048, 11008}},
    };
    for (Spec& spec : block) {
      total += spec.bytes();
      specs.push_back(std::move(spec));
    }
  }
  return specs;
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// Reads every byte of `paths` with read(2) into a reusable 8 MiB buffer; returns a checksum so the
// work cannot be optimised away.
uint64_t read_fully(const std::vector<fs::path>& paths) {
  std::vector<char> buffer(8 << 20);
  uint64_t checksum = 0;
  for (const fs::path& path : paths) {
    int fd = ::open(path.c_str(), O_RDONLY);
    if (fd < 0) VLM_THROW(Io, path.string() << ": cannot open");
    ssize_t got;
    while ((got = ::read(fd, buffer.data(), buffer.size())) > 0) {
      checksum += static_cast<unsigned char>(buffer[static_cast<size_t>(got) - 1]);
    }
    ::close(fd);
  }
  return checksum;
}

int run(double size_gb, const fs::path& tmp_root) {
  const uint64_t target = static_cast<uint64_t>(size_gb * 1e9);
  const uint64_t shard_target = 512ull << 20;
  const fs::path dir = tmp_root / ("vlm-bench-checkpoint-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{dir};

  std::vector<Spec> specs = tensor_specs(target);
  uint64_t largest = 0;
  for (const Spec& spec : specs) largest = std::max(largest, spec.bytes());
  std::vector<uint16_t> pattern(largest / 2);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint16_t>(0x3c00 + (i & 0xff));

  // Group tensors into shards of ~shard_target bytes, then write each shard.
  std::vector<std::vector<const Spec*>> shards(1);
  uint64_t in_shard = 0;
  for (const Spec& spec : specs) {
    if (in_shard > 0 && in_shard + spec.bytes() > shard_target) {
      shards.emplace_back();
      in_shard = 0;
    }
    shards.back().push_back(&spec);
    in_shard += spec.bytes();
  }
  Clock::time_point write_start = Clock::now();
  std::vector<fs::path> files;
  std::string weight_map;
  uint64_t total_bytes = 0;
  for (size_t s = 0; s < shards.size(); ++s) {
    char name[64];
    std::snprintf(name, sizeof name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    vlm::SafetensorsWriter writer;
    writer.set_metadata("format", "pt");
    for (const Spec* spec : shards[s]) {
      writer.add(spec->name, vlm::DType::BF16, spec->shape, pattern.data());
      total_bytes += spec->bytes();
      weight_map += std::string(weight_map.empty() ? "" : ",\n") + "    \"" + spec->name + "\": \"" +
                    name + "\"";
    }
    writer.write(dir / name);
    files.push_back(dir / name);
  }
  {
    std::ofstream index(dir / "model.safetensors.index.json");
    index << "{\n  \"metadata\": {\"total_size\": " << total_bytes << "},\n  \"weight_map\": {\n"
          << weight_map << "\n  }\n}\n";
  }
  const double write_seconds = seconds_since(write_start);
  uint64_t file_bytes = 0;
  for (const fs::path& file : files) file_bytes += fs::file_size(file);

  // Checkpoint::open, repeated; the first open also warms the dentry cache.
  std::vector<double> open_times;
  size_t tensor_count = 0;
  for (int rep = 0; rep < 21; ++rep) {
    Clock::time_point start = Clock::now();
    vlm::Checkpoint checkpoint = vlm::Checkpoint::open(dir);
    open_times.push_back(seconds_since(start));
    tensor_count = checkpoint.names().size();
    if (checkpoint.total_bytes() != total_bytes) VLM_THROW(Internal, "total_bytes mismatch");
  }
  // Reference: read the whole checkpoint (page cache warm: the best case for reading).
  std::vector<double> read_times;
  uint64_t checksum = 0;
  for (int rep = 0; rep < 3; ++rep) {
    Clock::time_point start = Clock::now();
    checksum += read_fully(files);
    read_times.push_back(seconds_since(start));
  }

  const double open_s = median(open_times);
  const double read_s = median(read_times);
  std::printf("checkpoint: %zu shards, %zu tensors, %.2f GB on disk (written in %.1f s)\n",
              files.size(), tensor_count, file_bytes / 1e9, write_seconds);
  uint64_t header_bytes = 0;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    unsigned char length[8] = {};
    in.read(reinterpret_cast<char*>(length), 8);
    for (int i = 7; i >= 0; --i) header_bytes = header_bytes + (static_cast<uint64_t>(length[i]) << (8 * i));
  }
  std::printf("Checkpoint::open (headers only: %.1f KB of JSON + index), median of %zu: %.3f ms "
              "(min %.3f ms)\n",
              header_bytes / 1e3, open_times.size(), open_s * 1e3,
              *std::min_element(open_times.begin(), open_times.end()) * 1e3);
  std::printf("read fully with read(2), page cache warm (median of %zu): %.1f ms (%.2f GB/s, checksum %llu)\n",
              read_times.size(), read_s * 1e3, file_bytes / 1e9 / read_s,
              static_cast<unsigned long long>(checksum));
  std::printf("ratio read-fully / open: %.0fx\n", read_s / open_s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  double size_gb = argc > 1 ? std::atof(argv[1]) : 3.0;
  fs::path tmp_root = argc > 2 ? fs::path(argv[2]) : fs::temp_directory_path();
  if (size_gb <= 0) {
    std::fprintf(stderr, "usage: %s [size_gb>0] [tmp_dir]\n", argv[0]);
    return 2;
  }
  try {
    return run(size_gb, tmp_root);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_checkpoint_open: %s\n", e.what());
    return 1;
  }
}
