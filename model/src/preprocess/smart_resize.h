// Private helpers of the preprocessing concern: the qwen-vl-utils smart_resize with real-valued
// limits (the video budget rule produces a float max_pixels, which must not be truncated before the
// comparison and the sqrt), shared by the image and video paths, and the processor's own resize step.
#pragma once

#include "vlm/preprocess.h"

namespace vlm::detail {

ResizeTarget smart_resize_qvu_real(int height, int width, int factor, double min_pixels,
                                   double max_pixels);

// The HF processor's resize step (transformers smart_resize with the config's limits, then Pillow
// bicubic when the size changes) applied to an image qwen-vl-utils already resized.
ImageRgb8 processor_resize(ImageRgb8 image, const PreprocessorConfig& config);

}  // namespace vlm::detail
