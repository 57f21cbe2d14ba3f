// Loading of the vision encoder's weights (see vision_weights.h). Shapes come from the config, not
// from the file: a checkpoint that disagrees with its config.json is refused with both shapes named,
// instead of silently running with the file's shapes. Validation finishes before any upload so a
// device backend never holds half a model. The MLP may be widened with zeros on the host before its
// upload (mlp_width_multiple), so a device backend gets aligned GEMM rows without per-call copies;
// where the backend joins weights (upload_weights_concat), gate and up are uploaded as one.
#include "vision/vision_weights.h"

#include <cstddef>
#include <cstring>
#include <set>
#include <sstream>
#include <string>
#include <utility>

#include "vlm/error.h"
#include "vlm/log.h"

namespace vlm {

namespace {

// `host` (rank 1 or 2) inside a zero-filled host tensor of `shape` (each dim >= host's), at the
// origin. All-zero bits are +0 in F32, F16 and BF16.
Tensor zero_padded(const Tensor& host, const std::vector<int64_t>& shape) {
  const int64_t rows = host.rank() == 1 ? 1 : host.rows(), cols = host.cols();
  const int64_t padded_cols = shape.back();
  const size_t element = dtype_size(host.dtype());
  const size_t count = static_cast<size_t>(shape.size() == 1 ? shape[0] : shape[0] * shape[1]);
  auto bytes = std::make_shared<std::vector<std::byte>>(count * element);
  const auto* src = static_cast<const std::byte*>(host.data());
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(bytes->data() + static_cast<size_t>(r * padded_cols) * element,
                src + static_cast<size_t>(r * cols) * element, static_cast<size_t>(cols) * element);
  }
  return Tensor(bytes->data(), host.dtype(), shape, bytes);
}

class WeightCollector {
 public:
  WeightCollector(const Checkpoint& checkpoint, Backend& backend)
      : checkpoint_(checkpoint), backend_(backend) {}

  // Validates `name` against `shape`; records where the uploaded tensor must go, seen as
  // `view_shape` or zero-padded to `padded_shape` (when given).
  void want(const std::string& name, std::vector<int64_t> shape, Tensor* destination,
            Op op = Op::MatMul, std::vector<int64_t> view_shape = {},
            std::vector<int64_t> padded_shape = {}) {
    if (!checkpoint_.contains(name)) {
      VLM_THROW(NotFound, "vision encoder: tensor '" << name << "' is missing from the checkpoint in "
                                                      << checkpoint_.dir().string());
    }
    const TensorInfo& info = checkpoint_.info(name);
    if (info.shape != shape) {
      VLM_THROW(InvalidModel, "vision encoder: tensor '" << name << "' has shape "
                                                         << shape_string(info.shape) << ", expected "
                                                         << shape_string(shape)
                                                         << " from the vision config");
    }
    const DType dtype = info.dtype;
    VLM_CHECK(dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16, InvalidModel,
              "vision encoder: tensor '" << name << "' has dtype " << dtype_name(dtype)
                                         << "; only F32, F16 and BF16 weights are supported");
    VLM_CHECK(backend_.supports(op, dtype), Unsupported,
              "vision encoder: backend " << backend_.name() << " has no " << dtype_name(dtype)
                                         << " weights (tensor '" << name << "')");
    if (padded_shape == shape) padded_shape.clear();
    pending_.push_back({name, std::move(view_shape), std::move(padded_shape), destination, nullptr});
  }

  // Like want() for each part (2-D weights, or 1-D biases), uploaded as one tensor holding their
  // rows in order (upload_weights_concat) where the backend joins weights: `joined` gets it and each
  // part's destination becomes a view of it. Where the backend keeps weights apart (it returns an
  // empty tensor), each part is uploaded on its own and `joined` stays empty.
  struct Part {
    std::string name;
    std::vector<int64_t> shape;
    Tensor* destination;
    std::vector<int64_t> padded_shape;
  };
  void want_joined(const std::vector<Part>& parts, Tensor* joined) {
    for (const Part& part : parts) {
      want(part.name, part.shape, part.destination, Op::MatMul, {}, part.padded_shape);
      pending_.back().joined = joined;
    }
  }

  // Tensors under visual. that no rule asked for: a checkpoint deeper or wider than its config
  // (e.g. a vision_config diff that lost `depth`) would otherwise load silently. HF only warns
  // about unexpected keys, so this warns too.
  void warn_about_unused() const {
    std::set<std::string> wanted;
    for (const Pending& p : pending_) wanted.insert(p.name);
    std::vector<std::string> unused;
    for (const std::string& name : checkpoint_.names()) {
      if (name.rfind("visual.", 0) == 0 && !wanted.count(name)) unused.push_back(name);
    }
    if (unused.empty()) return;
    std::ostringstream os;
    os << "vision encoder: " << unused.size() << " checkpoint tensor(s) under visual. are not used by "
       << "the vision config (first: '" << unused.front() << "'); check vision_config against the "
       << "checkpoint";
    log(LogLevel::Warning, os.str());
  }

  void upload_all() {
    for (size_t i = 0; i < pending_.size();) {
      if (pending_[i].joined == nullptr) {
        *pending_[i].destination = backend_.upload_weight(host_of(pending_[i]));
        ++i;
        continue;
      }
      size_t end = i;  // the parts of one joined tensor are consecutive
      while (end < pending_.size() && pending_[end].joined == pending_[i].joined) ++end;
      upload_joined(i, end);
      i = end;
    }
    pending_.clear();
  }

 private:
  struct Pending {
    std::string name;
    std::vector<int64_t> view_shape;
    std::vector<int64_t> padded_shape;
    Tensor* destination;
    Tensor* joined;  // want_joined: the tensor this part is uploaded into, with its neighbours
  };

  Tensor host_of(const Pending& p) const {
    Tensor host = checkpoint_.tensor(p.name);
    if (!p.view_shape.empty()) host = host.reshape(p.view_shape);
    if (!p.padded_shape.empty()) host = zero_padded(host, p.padded_shape);
    return host;
  }

  // pending_[begin, end): the parts of one want_joined call.
  void upload_joined(size_t begin, size_t end) {
    std::vector<Tensor> hosts;
    for (size_t i = begin; i < end; ++i) hosts.push_back(host_of(pending_[i]));
    const Tensor joined = backend_.upload_joined(hosts);
    int64_t row = 0;
    for (size_t i = begin; i < end; ++i) {
      const Tensor& host = hosts[i - begin];
      *pending_[i].destination =
          joined.empty() ? backend_.upload_weight(host) : joined.slice_rows(row, host.dim(0));
      row += host.dim(0);
    }
    *pending_[begin].joined = joined;
  }
  const Checkpoint& checkpoint_;
  Backend& backend_;
  std::vector<Pending> pending_;
};

}  // namespace

int64_t vision_patch_dim(const VisionConfig& config) {
  return static_cast<int64_t>(config.in_channels) * config.temporal_patch_size * config.patch_size *
         config.patch_size;
}

void validate_vision_config(const VisionConfig& config) {
  VLM_CHECK(config.depth >= 1, InvalidModel, "vision_config.depth " << config.depth << " must be >= 1");
  VLM_CHECK(config.hidden_size >= 1 && config.num_heads >= 1 &&
                config.hidden_size % config.num_heads == 0,
            InvalidModel,
            "vision_config.hidden_size " << config.hidden_size << " must be a positive multiple of "
                                         << "num_heads " << config.num_heads);
  VLM_CHECK(config.head_dim() % 4 == 0, InvalidModel,
            "vision head_dim " << config.head_dim() << " (hidden_size / num_heads) must be a "
                               << "multiple of 4 for the 2D rotary");
  VLM_CHECK(config.intermediate_size >= 1, InvalidModel,
            "vision_config.intermediate_size " << config.intermediate_size << " must be >= 1");
  VLM_CHECK(config.in_channels >= 1 && config.patch_size >= 1 && config.temporal_patch_size >= 1,
            InvalidModel, "vision_config in_channels/patch_size/temporal_patch_size must be >= 1");
  VLM_CHECK(config.spatial_merge_size >= 1, InvalidModel,
            "vision_config.spatial_merge_size " << config.spatial_merge_size << " must be >= 1");
  VLM_CHECK(config.out_hidden_size >= 1, InvalidModel,
            "vision_config.out_hidden_size " << config.out_hidden_size << " must be >= 1");
  VLM_CHECK(config.window_merged() >= 1, InvalidModel,
            "vision_config.window_size " << config.window_size << " is smaller than one merged unit ("
                                         << config.spatial_merge_size * config.patch_size
                                         << " pixels)");
  VLM_CHECK(config.hidden_act == "silu", Unsupported,
            "vision_config.hidden_act '" << config.hidden_act
                                         << "' is not supported by the Qwen2.5-VL encoder (silu)");
}

VisionWeights load_vision_weights(const VisionConfig& config, const Checkpoint& checkpoint,
                                  Backend& backend, int64_t mlp_width_multiple) {
  validate_vision_config(config);
  VLM_CHECK(mlp_width_multiple >= 1 && mlp_width_multiple <= 4096, InvalidInput,
            "vision encoder: MLP width multiple " << mlp_width_multiple
                                                  << " must be between 1 and 4096");
  const int64_t c = config.hidden_size;
  const int64_t inter = config.intermediate_size;
  const int64_t width = (inter + mlp_width_multiple - 1) / mlp_width_multiple * mlp_width_multiple;
  const int64_t merged = c * config.spatial_merge_size * config.spatial_merge_size;
  const int64_t out = config.out_hidden_size;

  VisionWeights weights;
  weights.mlp_width = width;
  weights.blocks.resize(static_cast<size_t>(config.depth));
  WeightCollector collect(checkpoint, backend);
  collect.want("visual.patch_embed.proj.weight",
               {c, config.in_channels, config.temporal_patch_size, config.patch_size,
                config.patch_size},
               &weights.patch_embed, Op::MatMul, {c, vision_patch_dim(config)});
  for (int k = 0; k < config.depth; ++k) {
    VisionBlockWeights& b = weights.blocks[static_cast<size_t>(k)];
    const std::string p = "visual.blocks." + std::to_string(k) + ".";
    collect.want(p + "norm1.weight", {c}, &b.norm1, Op::RmsNorm);
    collect.want(p + "norm2.weight", {c}, &b.norm2, Op::RmsNorm);
    collect.want(p + "attn.qkv.weight", {3 * c, c}, &b.qkv_weight);
    collect.want(p + "attn.qkv.bias", {3 * c}, &b.qkv_bias);
    collect.want(p + "attn.proj.weight", {c, c}, &b.proj_weight);
    collect.want(p + "attn.proj.bias", {c}, &b.proj_bias);
    collect.want_joined({{p + "mlp.gate_proj.weight", {inter, c}, &b.gate_weight, {width, c}},
                         {p + "mlp.up_proj.weight", {inter, c}, &b.up_weight, {width, c}}},
                        &b.gate_up_weight);
    collect.want_joined({{p + "mlp.gate_proj.bias", {inter}, &b.gate_bias, {width}},
                         {p + "mlp.up_proj.bias", {inter}, &b.up_bias, {width}}},
                        &b.gate_up_bias);
    collect.want(p + "mlp.down_proj.weight", {c, inter}, &b.down_weight, Op::MatMul, {}, {c, width});
    collect.want(p + "mlp.down_proj.bias", {c}, &b.down_bias);
  }
  collect.want("visual.merger.ln_q.weight", {c}, &weights.merger_norm, Op::RmsNorm);
  collect.want("visual.merger.mlp.0.weight", {merged, merged}, &weights.merger_fc1_weight);
  collect.want("visual.merger.mlp.0.bias", {merged}, &weights.merger_fc1_bias);
  collect.want("visual.merger.mlp.2.weight", {out, merged}, &weights.merger_fc2_weight);
  collect.want("visual.merger.mlp.2.bias", {out}, &weights.merger_fc2_bias);
  collect.warn_about_unused();
  collect.upload_all();
  return weights;
}

}  // namespace vlm
