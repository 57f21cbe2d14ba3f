// Image files through stb_image / stb_image_write (libstb). Loading mirrors qwen-vl-utils'
// to_rgb: a 4-channel file (RGBA) is composited onto white; grey, grey+alpha and palette files
// become RGB with the alpha dropped, as PIL convert("RGB") does. PNG decoding is lossless, so PNG
// inputs match Pillow exactly; JPEG decoders differ in IDCT/upsampling, so JPEG inputs may differ
// from Pillow's by a few LSB (no reference to match there).
#include <stb_image.h>
#include <stb_image_write.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <vector>

#include "vlm/error.h"
#include "vlm/image.h"

namespace vlm {
namespace {

struct StbFree {
  void operator()(unsigned char* p) const { stbi_image_free(p); }
};

std::vector<unsigned char> read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  VLM_CHECK(in.good(), NotFound, "load_image: cannot open " << path.string());
  std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  VLM_CHECK(!in.bad(), Io, "load_image: read error on " << path.string());
  VLM_CHECK(!bytes.empty(), InvalidInput, "load_image: " << path.string() << " is empty");
  VLM_CHECK(bytes.size() < (size_t{1} << 31), InvalidInput,
            "load_image: " << path.string() << " is larger than 2 GiB");
  return bytes;
}

}  // namespace

ImageRgb8 load_image(const std::filesystem::path& path) {
  const std::vector<unsigned char> bytes = read_file_bytes(path);
  const int size = static_cast<int>(bytes.size());
  int width = 0, height = 0, channels = 0;
  VLM_CHECK(stbi_info_from_memory(bytes.data(), size, &width, &height, &channels), InvalidInput,
            "load_image: " << path.string()
                           << " is not a decodable image: " << stbi_failure_reason());
  VLM_CHECK(width > 0 && height > 0 && static_cast<int64_t>(width) * height <= (int64_t{1} << 28),
            InvalidInput,
            "load_image: " << path.string() << " has an empty or absurd size " << width << "x"
                           << height);
  const bool composite = channels == 4;
  const int wanted = composite ? 4 : 3;
  std::unique_ptr<unsigned char, StbFree> data(
      stbi_load_from_memory(bytes.data(), size, &width, &height, &channels, wanted));
  VLM_CHECK(data != nullptr, InvalidInput,
            "load_image: cannot decode " << path.string() << ": " << stbi_failure_reason());
  FrameView view;
  view.format = composite ? PixelFormat::RGBA : PixelFormat::RGB;
  view.width = width;
  view.height = height;
  view.planes[0] = data.get();
  view.strides[0] = width * wanted;
  return to_rgb8(view);
}

void save_png(const ImageRgb8& image, const std::filesystem::path& path) {
  VLM_CHECK(image.width > 0 && image.height > 0 &&
                image.pixels.size() == static_cast<size_t>(image.width) * image.height * 3,
            InvalidInput,
            "save_png: image " << image.width << "x" << image.height << " with "
                               << image.pixels.size() << " bytes cannot be written to "
                               << path.string());
  const int ok = stbi_write_png(path.string().c_str(), image.width, image.height, 3,
                                image.pixels.data(), image.width * 3);
  VLM_CHECK(ok != 0, Io, "save_png: cannot write " << path.string());
}

}  // namespace vlm
