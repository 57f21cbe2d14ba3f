// Private to preprocessing (and cuda/preprocess_cuda.cpp): the per-channel 256-entry tables of
// rescale + normalise that patchify uses (patchify.cpp), exposed so that a device patchify looks
// up the very same float values instead of recomputing them (bit-exact parity by construction).
#pragma once

#include <array>

#include "vlm/config.h"

namespace vlm::detail {

using ChannelTables = std::array<std::array<float, 256>, 3>;

// tables[c][p] = (float(p · rescale_factor) − mean[c]) / std[c] in float (InvalidModel for a zero std).
ChannelTables normalisation_tables(const PreprocessorConfig& config);

}  // namespace vlm::detail
