// safetensors reader: maps the file (POSIX mmap, read-only) and validates the header strictly, with
// the rules of the reference Rust crate (huggingface/safetensors) plus duplicate-name detection:
//   1. the file holds at least the 8-byte little-endian header length N;
//   2. N <= 100'000'000 (the crate's MAX_HEADER_SIZE) and 8 + N <= file size;
//   3. the header is a JSON object starting with '{' (trailing spaces allowed: writers pad to 8);
//   4. no key appears twice (tensor names, and keys inside an entry);
//   5. "__metadata__", when present, maps strings to strings;
//   6. every tensor entry has exactly {dtype, shape, data_offsets}; dtype is a safetensors dtype
//      name (F32/F16/BF16/I32/I64/U8 are usable; the other names of the format — BOOL, I8, I16, U16,
//      U32, U64, F64, F8_* — are recognised and refused as Unsupported, naming the tensor);
//      shape is a list of non-negative integers; data_offsets is [begin, end] with begin <= end;
//   7. numel * dtype size (computed without overflow) == end - begin;
//   8. every range lies inside the data area (file size - 8 - N);
//   9. sorted by offset, the ranges tile the data area exactly: no overlap, no hole, no trailing
//      bytes (zero-byte tensors may share an offset), as the crate's validate() requires.
// Checked against the official Python package (safetensors 0.8.0, tests/fixtures/io/
// check_rules_against_official.py): same verdicts, except two deliberate strictnesses — unknown
// keys inside a tensor entry and leading whitespace before '{' are refused here (the format
// documentation says the header MUST begin with '{'); the crate tolerates both.
// Views are zero-copy pointers into the read-only mapping: writing through them faults. Offsets are
// not aligned by the format; unaligned bf16/f32 loads are fine on x86-64 and AArch64, and backends
// that need alignment (CUDA uploads) copy anyway.
#include "vlm/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <numeric>

#include "io/json_util.h"
#include "vlm/error.h"

namespace vlm {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;

// Names the safetensors format defines that libvlm cannot compute with.
bool is_unsupported_safetensors_dtype(std::string_view name) {
  static const char* const kNames[] = {"BOOL", "I8",      "I16",     "U16",     "U32",
                                       "U64",  "F64",     "F8_E4M3", "F8_E5M2", "F8_E8M0",
                                       "E8M0", "F6_E2M3", "F6_E3M2", "F4",      "C64"};
  for (const char* known : kNames) {
    if (name == known) return true;
  }
  return false;
}

uint64_t read_le_u64(const uint8_t* bytes) {
  uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = (value << 8) | bytes[i];
  return value;
}

// Reads a non-negative integer array element as uint64.
bool json_to_u64(const json_util::Json& value, uint64_t* out) {
  if (!value.is_number_unsigned()) return false;
  *out = value.get<uint64_t>();
  return true;
}

}  // namespace

std::shared_ptr<SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int err = errno;
    if (err == ENOENT) VLM_THROW(NotFound, name << ": file not found");
    VLM_THROW(Io, name << ": cannot open: " << std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    VLM_THROW(Io, name << ": fstat failed: " << std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    VLM_THROW(InvalidModel, name << ": not a regular file");
  }
  size_t size = static_cast<size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    VLM_THROW(InvalidModel, name << ": safetensors file is " << size
                                 << " bytes, too short for the 8-byte header length");
  }
  void* mapping = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  int map_errno = errno;
  ::close(fd);
  if (mapping == MAP_FAILED) VLM_THROW(Io, name << ": mmap failed: " << std::strerror(map_errno));

  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->mapping_ = mapping;  // owned from here on: the destructor unmaps, even if parse() throws
  file->bytes_ = static_cast<const uint8_t*>(mapping);
  file->size_ = size;
  file->path_ = path;
  file->self_ = file;
  file->parse(name);
  return file;
}

std::shared_ptr<SafetensorsFile> SafetensorsFile::from_memory(const uint8_t* bytes, size_t size,
                                                              const std::string& source_name) {
  std::shared_ptr<SafetensorsFile> file(new SafetensorsFile());
  file->bytes_ = bytes;
  file->size_ = size;
  file->path_ = source_name;
  file->self_ = file;
  file->parse(source_name);
  return file;
}

SafetensorsFile::~SafetensorsFile() {
  if (mapping_ != nullptr) ::munmap(mapping_, size_);
}

void SafetensorsFile::parse(const std::string& source_name) {
  const std::string& src = source_name;
  VLM_CHECK(size_ >= 8, InvalidModel,
            src << ": safetensors file is " << size_
                << " bytes, too short for the 8-byte header length");
  const uint64_t header_len = read_le_u64(bytes_);
  VLM_CHECK(header_len <= kMaxHeaderBytes, InvalidModel,
            src << ": safetensors header length " << header_len << " exceeds the limit of "
                << kMaxHeaderBytes << " bytes");
  VLM_CHECK(header_len <= size_ - 8, InvalidModel,
            src << ": safetensors header length " << header_len << " runs past the end of the file ("
                << size_ - 8 << " bytes follow the length field)");
  VLM_CHECK(header_len >= 2 && bytes_[8] == '{', InvalidModel,
            src << ": safetensors header must be a JSON object starting with '{'");
  data_offset_ = 8 + header_len;
  const uint64_t data_size = size_ - data_offset_;

  std::string_view header_text(reinterpret_cast<const char*>(bytes_ + 8), header_len);
  const std::string header_src = src + " (safetensors header)";
  json_util::Json header = json_util::parse_json(header_text, header_src, "tensor name");
  VLM_CHECK(header.is_object(), InvalidModel, header_src << ": must be a JSON object");

  tensors_.clear();
  index_.clear();
  metadata_.clear();
  tensors_.reserve(header.size());
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const json_util::Json& value = it.value();
    if (key == "__metadata__") {
      VLM_CHECK(value.is_object(), InvalidModel,
                header_src << ": '__metadata__' must be an object of strings, got "
                           << json_util::type_name(value));
      for (auto meta = value.begin(); meta != value.end(); ++meta) {
        VLM_CHECK(meta.value().is_string(), InvalidModel,
                  header_src << ": '__metadata__." << meta.key() << "' must be a string, got "
                             << json_util::type_name(meta.value()));
        metadata_[meta.key()] = meta.value().get<std::string>();
      }
      continue;
    }
    const std::string where = header_src + ": tensor '" + key + "'";
    VLM_CHECK(value.is_object(), InvalidModel,
              where << ": entry must be an object, got " << json_util::type_name(value));
    for (auto field = value.begin(); field != value.end(); ++field) {
      const std::string& field_name = field.key();
      VLM_CHECK(field_name == "dtype" || field_name == "shape" || field_name == "data_offsets",
                InvalidModel,
                where << ": unknown field '" << field_name
                      << "' (expected dtype, shape, data_offsets)");
    }
    TensorInfo info;
    info.name = key;

    auto dtype_it = value.find("dtype");
    VLM_CHECK(dtype_it != value.end(), InvalidModel, where << ": missing 'dtype'");
    VLM_CHECK(dtype_it->is_string(), InvalidModel,
              where << ": 'dtype' must be a string, got " << json_util::type_name(*dtype_it));
    const std::string dtype_text = dtype_it->get<std::string>();
    if (!dtype_from_safetensors(dtype_text, &info.dtype)) {
      if (is_unsupported_safetensors_dtype(dtype_text)) {
        VLM_THROW(Unsupported, where << ": dtype " << dtype_text
                                     << " is not supported (usable: F32, F16, BF16, I32, I64, U8)");
      }
      VLM_THROW(InvalidModel, where << ": unknown dtype '" << dtype_text << "'");
    }

    auto shape_it = value.find("shape");
    VLM_CHECK(shape_it != value.end(), InvalidModel, where << ": missing 'shape'");
    VLM_CHECK(shape_it->is_array(), InvalidModel,
              where << ": 'shape' must be a list of integers, got "
                    << json_util::type_name(*shape_it));
    // Like the reference crate, any overflow of the running product is refused (even if a later
    // dimension is 0), and the element count must also fit int64 (Tensor::numel).
    uint64_t numel = 1;
    bool numel_overflow = false;
    info.shape.reserve(shape_it->size());
    for (size_t d = 0; d < shape_it->size(); ++d) {
      uint64_t dim = 0;
      VLM_CHECK(json_to_u64((*shape_it)[d], &dim) &&
                    dim <= static_cast<uint64_t>(INT64_MAX),
                InvalidModel,
                where << ": shape[" << d << "] = " << (*shape_it)[d].dump()
                      << " is not a non-negative 64-bit integer");
      info.shape.push_back(static_cast<int64_t>(dim));
      if (__builtin_mul_overflow(numel, dim, &numel) || numel > static_cast<uint64_t>(INT64_MAX)) {
        numel_overflow = true;
      }
    }
    uint64_t nbytes = 0;
    bool bytes_overflow =
        numel_overflow ||
        __builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(info.dtype)), &nbytes);
    VLM_CHECK(!bytes_overflow, InvalidModel,
              where << ": shape " << shape_string(info.shape) << " x " << dtype_text
                    << " overflows a 64-bit byte count");

    auto offsets_it = value.find("data_offsets");
    VLM_CHECK(offsets_it != value.end(), InvalidModel, where << ": missing 'data_offsets'");
    VLM_CHECK(offsets_it->is_array() && offsets_it->size() == 2 &&
                  json_to_u64((*offsets_it)[0], &info.data_begin) &&
                  json_to_u64((*offsets_it)[1], &info.data_end),
              InvalidModel,
              where << ": 'data_offsets' must be [begin, end] of non-negative integers, got "
                    << offsets_it->dump());
    VLM_CHECK(info.data_begin <= info.data_end, InvalidModel,
              where << ": data_offsets begin " << info.data_begin << " is after end "
                    << info.data_end);
    VLM_CHECK(info.data_end - info.data_begin == nbytes, InvalidModel,
              where << ": shape " << shape_string(info.shape) << " x " << dtype_text << " needs "
                    << nbytes << " bytes but data_offsets [" << info.data_begin << ", "
                    << info.data_end << "] span " << info.data_end - info.data_begin);
    VLM_CHECK(info.data_end <= data_size, InvalidModel,
              where << ": data_offsets [" << info.data_begin << ", " << info.data_end
                    << "] reach past the data area of " << data_size << " bytes");
    tensors_.push_back(std::move(info));
  }

  // Ranges must tile the data area: sort by (begin, end) and walk.
  std::vector<size_t> order(tensors_.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [this](size_t a, size_t b) {
    const TensorInfo& x = tensors_[a];
    const TensorInfo& y = tensors_[b];
    if (x.data_begin != y.data_begin) return x.data_begin < y.data_begin;
    if (x.data_end != y.data_end) return x.data_end < y.data_end;
    return x.name < y.name;
  });
  uint64_t covered = 0;
  const TensorInfo* previous = nullptr;
  for (size_t i : order) {
    const TensorInfo& info = tensors_[i];
    if (info.data_begin < covered) {
      VLM_THROW(InvalidModel, header_src << ": tensor '" << info.name << "' [" << info.data_begin
                                         << ", " << info.data_end << "] overlaps tensor '"
                                         << previous->name << "' [" << previous->data_begin << ", "
                                         << previous->data_end << "]");
    }
    if (info.data_begin > covered) {
      VLM_THROW(InvalidModel, header_src << ": hole of " << info.data_begin - covered
                                         << " bytes in the data area before tensor '" << info.name
                                         << "' (bytes " << covered << ".." << info.data_begin
                                         << " belong to no tensor)");
    }
    covered = info.data_end;
    previous = &info;
  }
  VLM_CHECK(covered == data_size, InvalidModel,
            header_src << ": the data area has " << data_size << " bytes but the tensors cover "
                       << covered << " (" << data_size - covered
                       << " trailing bytes belong to no tensor)");
  // Keep tensors_ in data order: the order the file was written in.
  std::vector<TensorInfo> sorted;
  sorted.reserve(tensors_.size());
  for (size_t i : order) sorted.push_back(std::move(tensors_[i]));
  tensors_ = std::move(sorted);
  for (size_t i = 0; i < tensors_.size(); ++i) index_.emplace(tensors_[i].name, i);
}

bool SafetensorsFile::contains(const std::string& name) const { return index_.count(name) != 0; }

const TensorInfo& SafetensorsFile::info(const std::string& name) const {
  auto it = index_.find(name);
  VLM_CHECK(it != index_.end(), NotFound, path_.string() << ": no tensor named '" << name << "'");
  return tensors_[it->second];
}

Tensor SafetensorsFile::tensor(const std::string& name) const {
  const TensorInfo& tensor_info = info(name);
  std::shared_ptr<SafetensorsFile> keep_alive = self_.lock();
  VLM_CHECK(keep_alive, Internal, path_.string() << ": SafetensorsFile used after release");
  // The mapping is read-only; Tensor's API is non-const, so writing through this view faults.
  void* data = const_cast<uint8_t*>(bytes_ + data_offset_ + tensor_info.data_begin);
  return Tensor(data, tensor_info.dtype, tensor_info.shape,
                std::shared_ptr<void>(keep_alive, data));
}

}  // namespace vlm
