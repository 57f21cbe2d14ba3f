// The streaming-thread cost of one sampled frame in vlmdescribe, now against before: the element
// copies the decoder's frame in its own format (vlm::RawFrame::copy_of) where it used to convert it
// to RGB (vlm::to_rgb8) on that thread. Prints both per frame for NV12 and I420 at the given size
// (default 1080p), the ratio convert / copy, and the bytes each holds while the frame waits for its
// window. The conversion still happens, later, on the inference thread (or on the GPU).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "vlm/image.h"

namespace {

template <typename F>
double best_ms_per_frame(int frames, F&& body) {
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < frames; ++i) body();
    const auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double, std::milli>(t1 - t0).count() / frames);
  }
  return best;
}

// A decoder's frames: rows padded to 64 bytes, chroma at half size; kSources different frames
// (~25 MB at 1080p), cycled, so each copy reads memory rather than a warm cache, as with real
// decoded buffers.
constexpr int kSources = 8;

void measure(vlm::PixelFormat format, const char* name, int width, int height, int frames) {
  const int luma_stride = (width + 63) / 64 * 64;
  const int chroma_w = (width + 1) / 2, chroma_h = (height + 1) / 2;
  const int chroma_stride = format == vlm::PixelFormat::NV12 ? (chroma_w * 2 + 63) / 64 * 64
                                                              : (chroma_w + 63) / 64 * 64;
  std::vector<std::vector<uint8_t>> buffers;
  std::vector<vlm::FrameView> views;
  for (int s = 0; s < kSources; ++s) {
    std::vector<uint8_t> luma(static_cast<size_t>(luma_stride) * height);
    std::vector<uint8_t> chroma1(static_cast<size_t>(chroma_stride) * chroma_h), chroma2(chroma1.size());
    for (size_t i = 0; i < luma.size(); ++i) luma[i] = static_cast<uint8_t>(16 + (i * 7 + s) % 220);
    for (size_t i = 0; i < chroma1.size(); ++i) chroma1[i] = chroma2[i] = static_cast<uint8_t>(64 + (i + s) % 128);
    vlm::FrameView view;
    view.format = format;
    view.width = width;
    view.height = height;
    buffers.push_back(std::move(luma));
    view.planes[0] = buffers.back().data();
    view.strides[0] = luma_stride;
    buffers.push_back(std::move(chroma1));
    view.planes[1] = buffers.back().data();
    view.strides[1] = chroma_stride;
    buffers.push_back(std::move(chroma2));
    if (format == vlm::PixelFormat::I420) {
      view.planes[2] = buffers.back().data();
      view.strides[2] = chroma_stride;
    }
    views.push_back(view);
  }
  size_t held_raw = 0, held_rgb = 0;
  int next = 0;
  const double copy_ms = best_ms_per_frame(frames, [&] {
    held_raw = vlm::RawFrame::copy_of(views[next++ % kSources]).size_bytes();
  });
  const double convert_ms = best_ms_per_frame(frames, [&] {
    held_rgb = vlm::to_rgb8(views[next++ % kSources]).pixels.size();
  });
  std::printf("%-5s %dx%d: copy (now) %7.3f ms/frame, to_rgb8 (before) %7.3f ms/frame, ratio %.1fx; "
              "held %.2f MB vs %.2f MB\n",
              name, width, height, copy_ms, convert_ms, convert_ms / copy_ms, held_raw / 1e6, held_rgb / 1e6);
}

}  // namespace

int main(int argc, char** argv) {
  const int width = argc > 1 ? std::atoi(argv[1]) : 1920;
  const int height = argc > 2 ? std::atoi(argv[2]) : 1080;
  const int frames = argc > 3 ? std::atoi(argv[3]) : 200;
  if (width <= 0 || height <= 0 || frames <= 0) {
    std::fprintf(stderr, "usage: bench_frame_hold [width] [height] [frames]\n");
    return 2;
  }
  std::printf("vlmdescribe streaming thread, per sampled frame (best of 3 rounds of %d frames):\n", frames);
  measure(vlm::PixelFormat::NV12, "NV12", width, height, frames);
  measure(vlm::PixelFormat::I420, "I420", width, height, frames);
  return 0;
}
