// See synthetic_vision.h. The naive forward follows spec §5 literally on the original patch order:
// segment ids replace the window permutation (attention is permutation-equivariant within a
// segment and every other op is per row or per merge unit), angles are computed in double.
#include "synthetic_vision.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include <unistd.h>

#include "vlm/safetensors.h"

namespace vlm::test {

namespace fs = std::filesystem;

ModelConfig tiny_vision_config() {
  ModelConfig config;
  config.family = ModelFamily::Qwen2_5VL;
  VisionConfig& v = config.vision;
  v.depth = 3;
  v.hidden_size = 32;
  v.intermediate_size = 40;
  v.num_heads = 2;
  v.in_channels = 3;
  v.patch_size = 2;
  v.temporal_patch_size = 2;
  v.spatial_merge_size = 2;
  v.window_size = 8;  // 8 / 2 / 2 = 2 merged units per window edge
  v.out_hidden_size = 24;
  v.fullatt_block_indexes = {1};
  v.hidden_act = "silu";
  return config;
}

namespace {

float round_to(float value, DType dtype) {
  if (dtype == DType::BF16) return bf16_to_f32(f32_to_bf16(value));
  if (dtype == DType::F16) return f16_to_f32(f32_to_f16(value));
  return value;
}

}  // namespace

HostWeights random_vision_weights(const VisionConfig& config, DType dtype, uint32_t seed) {
  std::mt19937 rng(seed);
  const int64_t c = config.hidden_size, inter = config.intermediate_size;
  const int64_t merged = c * config.spatial_merge_size * config.spatial_merge_size;
  HostWeights w;
  auto add = [&](const std::string& name, std::vector<int64_t> shape, float scale, float mean) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    std::normal_distribution<float> dist(mean, scale);
    HostTensor t{shape, std::vector<float>(static_cast<size_t>(n))};
    for (float& x : t.values) x = round_to(dist(rng), dtype);
    w[name] = std::move(t);
  };
  const int64_t pd = static_cast<int64_t>(config.in_channels) * config.temporal_patch_size *
                     config.patch_size * config.patch_size;
  add("patch_embed.proj.weight",
      {c, config.in_channels, config.temporal_patch_size, config.patch_size, config.patch_size},
      1.0f / std::sqrt(static_cast<float>(pd)), 0.0f);
  const float lin = 1.0f / std::sqrt(static_cast<float>(c));
  for (int k = 0; k < config.depth; ++k) {
    const std::string p = "blocks." + std::to_string(k) + ".";
    add(p + "norm1.weight", {c}, 0.2f, 1.0f);
    add(p + "norm2.weight", {c}, 0.2f, 1.0f);
    add(p + "attn.qkv.weight", {3 * c, c}, lin, 0.0f);
    add(p + "attn.qkv.bias", {3 * c}, 0.1f, 0.0f);
    add(p + "attn.proj.weight", {c, c}, lin, 0.0f);
    add(p + "attn.proj.bias", {c}, 0.1f, 0.0f);
    add(p + "mlp.gate_proj.weight", {inter, c}, lin, 0.0f);
    add(p + "mlp.gate_proj.bias", {inter}, 0.1f, 0.0f);
    add(p + "mlp.up_proj.weight", {inter, c}, lin, 0.0f);
    add(p + "mlp.up_proj.bias", {inter}, 0.1f, 0.0f);
    add(p + "mlp.down_proj.weight", {c, inter}, 1.0f / std::sqrt(static_cast<float>(inter)), 0.0f);
    add(p + "mlp.down_proj.bias", {c}, 0.1f, 0.0f);
  }
  add("merger.ln_q.weight", {c}, 0.2f, 1.0f);
  add("merger.mlp.0.weight", {merged, merged}, 1.0f / std::sqrt(static_cast<float>(merged)), 0.0f);
  add("merger.mlp.0.bias", {merged}, 0.1f, 0.0f);
  add("merger.mlp.2.weight", {config.out_hidden_size, merged},
      1.0f / std::sqrt(static_cast<float>(merged)), 0.0f);
  add("merger.mlp.2.bias", {config.out_hidden_size}, 0.1f, 0.0f);
  return w;
}

void write_checkpoint(const fs::path& dir, const HostWeights& weights, DType dtype,
                      const std::string& prefix, const std::vector<std::string>& skip) {
  SafetensorsWriter writer;
  for (const auto& [name, tensor] : weights) {
    const std::string full = prefix + name;
    bool skipped = false;
    for (const std::string& s : skip) skipped = skipped || s == full;
    if (skipped) continue;
    std::vector<uint8_t> bytes(tensor.values.size() * dtype_size(dtype));
    convert_from_f32(tensor.values.data(), dtype, bytes.data(), tensor.values.size());
    writer.add(full, dtype, tensor.shape, bytes.data());
  }
  writer.write(dir / "model.safetensors");
}

fs::path fresh_temp_dir(const std::string& tag) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string name = "vlm-vision-" + tag;
  if (info != nullptr) name += std::string("-") + info->test_suite_name() + "-" + info->name();
  fs::path dir = fs::temp_directory_path() / (name + "-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::vector<float> random_pixels(const std::vector<GridThw>& grids, int64_t patch_dim, uint32_t seed) {
  int64_t n = 0;
  for (const GridThw& g : grids) n += g.patches();
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  std::vector<float> pixels(static_cast<size_t>(n * patch_dim));
  for (float& x : pixels) x = dist(rng);
  return pixels;
}

namespace {

using Matrix = std::vector<double>;  // row-major

// y[M,N] = x[M,K]·wᵀ + b
Matrix linear(const Matrix& x, int64_t m, int64_t k, const HostTensor& w, const HostTensor* b) {
  const int64_t n = w.shape[0];
  Matrix y(static_cast<size_t>(m * n));
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = b ? b->values[static_cast<size_t>(j)] : 0.0;
      for (int64_t t = 0; t < k; ++t) {
        acc += x[static_cast<size_t>(i * k + t)] * w.values[static_cast<size_t>(j * k + t)];
      }
      y[static_cast<size_t>(i * n + j)] = acc;
    }
  }
  return y;
}

Matrix rmsnorm(const Matrix& x, int64_t m, int64_t d, const HostTensor& weight) {
  Matrix y(x.size());
  for (int64_t i = 0; i < m; ++i) {
    double ss = 0;
    for (int64_t t = 0; t < d; ++t) ss += x[static_cast<size_t>(i * d + t)] * x[static_cast<size_t>(i * d + t)];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(d) + 1e-6);
    for (int64_t t = 0; t < d; ++t) {
      y[static_cast<size_t>(i * d + t)] =
          x[static_cast<size_t>(i * d + t)] * inv * weight.values[static_cast<size_t>(t)];
    }
  }
  return y;
}

struct PatchInfo {
  int64_t h, w;
  int64_t frame_segment;   // (item, temporal group)
  int64_t window_segment;  // (item, temporal group, window row, window column)
};

}  // namespace

std::vector<double> naive_vision_forward(const VisionConfig& config, const HostWeights& weights,
                                         const std::vector<float>& pixels,
                                         const std::vector<GridThw>& grids) {
  const int64_t c = config.hidden_size, heads = config.num_heads, hd = c / heads;
  const int64_t inter = config.intermediate_size;
  const int64_t m = config.spatial_merge_size;
  const int64_t v = config.window_size / config.spatial_merge_size / config.patch_size;
  const int64_t pd = static_cast<int64_t>(config.in_channels) * config.temporal_patch_size *
                     config.patch_size * config.patch_size;
  auto W = [&](const std::string& name) -> const HostTensor& { return weights.at(name); };

  // Row r of the processor layout (spec §3.5): (gt, bh, bw, mh, mw).
  std::vector<PatchInfo> info;
  int64_t frame_id = 0, window_id = 0;
  for (const GridThw& g : grids) {
    for (int64_t gt = 0; gt < g.t; ++gt, ++frame_id) {
      const int64_t windows_w = (g.w / m + v - 1) / v;
      for (int64_t bh = 0; bh < g.h / m; ++bh)
        for (int64_t bw = 0; bw < g.w / m; ++bw)
          for (int64_t mh = 0; mh < m; ++mh)
            for (int64_t mw = 0; mw < m; ++mw)
              info.push_back({bh * m + mh, bw * m + mw, frame_id,
                              window_id + (bh / v) * windows_w + bw / v});
      window_id += ((g.h / m + v - 1) / v) * windows_w;
    }
  }
  const int64_t n = static_cast<int64_t>(info.size());

  Matrix p(pixels.begin(), pixels.end());
  HostTensor pe = W("patch_embed.proj.weight");
  pe.shape = {c, pd};
  Matrix x = linear(p, n, pd, pe, nullptr);

  for (int k = 0; k < config.depth; ++k) {
    const std::string pre = "blocks." + std::to_string(k) + ".";
    bool full = false;
    for (int b : config.fullatt_block_indexes) full = full || b == k;
    Matrix h = rmsnorm(x, n, c, W(pre + "norm1.weight"));
    Matrix qkv = linear(h, n, c, W(pre + "attn.qkv.weight"), &W(pre + "attn.qkv.bias"));
    // RoPE on q (offset 0) and k (offset c); channel p < hd/4 uses h, hd/4 ≤ p < hd/2 uses w.
    for (int64_t r = 0; r < n; ++r) {
      for (int64_t part = 0; part < 2; ++part) {
        for (int64_t head = 0; head < heads; ++head) {
          double* vec = &qkv[static_cast<size_t>(r * 3 * c + part * c + head * hd)];
          for (int64_t q = 0; q < hd / 2; ++q) {
            const int64_t j = q % (hd / 4);
            const double coord = q < hd / 4 ? static_cast<double>(info[static_cast<size_t>(r)].h)
                                            : static_cast<double>(info[static_cast<size_t>(r)].w);
            const double angle = coord * std::pow(10000.0, -2.0 * static_cast<double>(j) /
                                                                static_cast<double>(hd / 2));
            const double a = vec[q], b = vec[q + hd / 2];
            vec[q] = a * std::cos(angle) - b * std::sin(angle);
            vec[q + hd / 2] = b * std::cos(angle) + a * std::sin(angle);
          }
        }
      }
    }
    Matrix attn(static_cast<size_t>(n * c), 0.0);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));
    std::vector<double> scores(static_cast<size_t>(n));
    for (int64_t head = 0; head < heads; ++head) {
      for (int64_t i = 0; i < n; ++i) {
        double mx = -1e300;
        for (int64_t j = 0; j < n; ++j) {
          const PatchInfo& a = info[static_cast<size_t>(i)];
          const PatchInfo& b = info[static_cast<size_t>(j)];
          const bool same = full ? a.frame_segment == b.frame_segment
                                 : a.window_segment == b.window_segment;
          if (!same) {
            scores[static_cast<size_t>(j)] = -1e300;
            continue;
          }
          double dot = 0;
          for (int64_t t = 0; t < hd; ++t) {
            dot += qkv[static_cast<size_t>(i * 3 * c + head * hd + t)] *
                   qkv[static_cast<size_t>(j * 3 * c + c + head * hd + t)];
          }
          scores[static_cast<size_t>(j)] = dot * scale;
          mx = std::max(mx, dot * scale);
        }
        double denom = 0;
        for (int64_t j = 0; j < n; ++j) {
          double& s = scores[static_cast<size_t>(j)];
          s = s <= -1e299 ? 0.0 : std::exp(s - mx);
          denom += s;
        }
        for (int64_t j = 0; j < n; ++j) {
          const double wgt = scores[static_cast<size_t>(j)] / denom;
          if (wgt == 0.0) continue;
          for (int64_t t = 0; t < hd; ++t) {
            attn[static_cast<size_t>(i * c + head * hd + t)] +=
                wgt * qkv[static_cast<size_t>(j * 3 * c + 2 * c + head * hd + t)];
          }
        }
      }
    }
    Matrix proj = linear(attn, n, c, W(pre + "attn.proj.weight"), &W(pre + "attn.proj.bias"));
    for (size_t i = 0; i < x.size(); ++i) x[i] += proj[i];
    h = rmsnorm(x, n, c, W(pre + "norm2.weight"));
    Matrix gate = linear(h, n, c, W(pre + "mlp.gate_proj.weight"), &W(pre + "mlp.gate_proj.bias"));
    Matrix up = linear(h, n, c, W(pre + "mlp.up_proj.weight"), &W(pre + "mlp.up_proj.bias"));
    for (size_t i = 0; i < gate.size(); ++i) gate[i] = gate[i] / (1.0 + std::exp(-gate[i])) * up[i];
    Matrix down = linear(gate, n, inter, W(pre + "mlp.down_proj.weight"), &W(pre + "mlp.down_proj.bias"));
    for (size_t i = 0; i < x.size(); ++i) x[i] += down[i];
  }
  const int64_t units = n / (m * m);
  const int64_t merged = c * m * m;
  Matrix h = rmsnorm(x, n, c, W("merger.ln_q.weight"));  // [n, c] == [units, merged]
  Matrix f1 = linear(h, units, merged, W("merger.mlp.0.weight"), &W("merger.mlp.0.bias"));
  for (double& val : f1) val = 0.5 * val * (1.0 + std::erf(val / std::sqrt(2.0)));
  return linear(f1, units, merged, W("merger.mlp.2.weight"), &W("merger.mlp.2.bias"));
}

}  // namespace vlm::test
