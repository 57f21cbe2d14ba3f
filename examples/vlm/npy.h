// Writes float32 arrays as NumPy .npy (format 1.0) so logits dumps open with numpy.load.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace vlm_cli {

void write_npy_f32(const std::filesystem::path& path, const std::vector<float>& values,
                   const std::vector<int64_t>& shape);

}  // namespace vlm_cli
