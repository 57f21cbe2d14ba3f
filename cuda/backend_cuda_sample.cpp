// CudaBackend::sample (vlm/backend.h): the CPU sampler's choice made on the device, so a decode
// step copies one int32 to the host instead of the logits row (151936 values for Qwen2.5-VL).
// The host only validates (the shared check_sample_args), prepares the id lists the kernel expects
// (sample_ids.h: distinct in-range penalty ids, in-range banned ids) and uploads them; the
// pure-argmax case keeps using the argmax kernel. Kernel: kernels/sample.cu.
#include <algorithm>

#include "backend_cuda_impl.h"
#include "check.h"
#include "sample_ids.h"

namespace vlm::cuda {

int32_t CudaBackend::sample(const Tensor& logits, const SampleParams& params) {
  enter("sample");
  const int64_t vocab = check_sample_args(logits, params);
  if (params.greedy && params.repetition_penalty == 1.0f && params.banned.empty()) {
    return argmax(logits).at(0);
  }
  VLM_CHECK(vocab <= INT32_MAX, Unsupported,
            "sample: vocabulary " << vocab << " exceeds the CUDA kernel's int32 range");
  std::vector<int32_t> ids = distinct_ids_in_range(params.banned, vocab);
  const size_t n_banned = ids.size();
  if (params.repetition_penalty != 1.0f) {
    const std::vector<int32_t> penalised = distinct_ids_in_range(params.history, vocab);
    ids.insert(ids.end(), penalised.begin(), penalised.end());
  }
  const Tensor device_ids = upload_indices(ids);
  Tensor work = alloc(DType::F32, {vocab});
  Tensor weights = alloc(DType::F32, {2 * vocab});  // f64 scratch (no F64 dtype)
  Tensor device_result = alloc(DType::I32, {1});

  SampleArgs args;
  args.logits = logits.data();
  args.type = elem_type(logits.dtype());
  args.vocab = static_cast<int32_t>(vocab);
  args.banned_ids = device_ids.data_as<const int32_t>();
  args.n_banned = static_cast<int32_t>(n_banned);
  args.penalty_ids = device_ids.data_as<const int32_t>() + n_banned;
  args.n_penalty = static_cast<int32_t>(ids.size() - n_banned);
  args.penalty = params.repetition_penalty;
  args.greedy = params.greedy;
  args.apply_temperature = !params.greedy && params.temperature != 1.0f;
  args.temperature = params.temperature;
  args.top_k = params.top_k > 0 && params.top_k < vocab ? params.top_k : 0;
  args.apply_top_p = !params.greedy && params.top_p < 1.0f;
  args.top_p = params.top_p;
  args.uniform = params.uniform;
  args.work = work.data_as<float>();
  args.weights = static_cast<double*>(weights.data());
  args.out = device_result.data_as<int32_t>();
  launch_sample(args, stream_);
  check_launch("sample");
  int32_t result = 0;
  VLM_CUDA_CHECK(cudaMemcpyAsync(&result, device_result.data(), sizeof result,
                                 cudaMemcpyDeviceToHost, stream_));
  wait_for_stream();
  return result;
}

}  // namespace vlm::cuda
