// safetensors reader/writer tests. Each validation rule has one test with a hand-built file that
// breaks exactly that rule (everything else valid) and expects an Error naming the rule; valid
// edge cases (empty file, zero-size tensors, padding, metadata) must load. A file written by the
// official Python `safetensors` package (tests/fixtures/io/) checks interoperability; values there
// are np.arange sequences, so the expectations are computed here by hand.
#include <gtest/gtest.h>

#include <cstring>
#include <numeric>

#include "io_test_util.h"
#include "vlm/safetensors.h"

namespace vlm {
namespace {

using test::expect_error;
using test::safetensors_bytes;
using test::safetensors_bytes_with_length;

// Keeps the buffer alive as long as the parsed file (from_memory does not copy).
struct Parsed {
  std::string bytes;
  std::shared_ptr<SafetensorsFile> file;
};

std::shared_ptr<Parsed> parse_bytes(std::string bytes) {
  auto parsed = std::make_shared<Parsed>();
  parsed->bytes = std::move(bytes);
  parsed->file = SafetensorsFile::from_memory(
      reinterpret_cast<const uint8_t*>(parsed->bytes.data()), parsed->bytes.size(), "test.st");
  return parsed;
}

std::shared_ptr<Parsed> parse(const std::string& header, const std::string& data) {
  return parse_bytes(safetensors_bytes(header, data));
}

void expect_invalid(const std::string& header, const std::string& data,
                    std::initializer_list<std::string> parts) {
  expect_error([&] { parse(header, data); }, ErrorCode::InvalidModel, parts);
}

// A valid two-tensor header, used as the base most rule tests change in one place.
const char* const kTwoU8 =
    R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
    R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})";

TEST(Safetensors, ValidBaseFileLoads) {
  auto parsed = parse(kTwoU8, "wxyz");
  ASSERT_EQ(parsed->file->tensors().size(), 2u);
  Tensor b = parsed->file->tensor("b");
  EXPECT_EQ(b.dtype(), DType::U8);
  EXPECT_EQ(b.shape(), (std::vector<int64_t>{2}));
  EXPECT_EQ(std::string(static_cast<const char*>(b.data()), 2), "yz");
}

TEST(Safetensors, EmptyHeaderAndNoDataIsValid) {
  auto parsed = parse("{}", "");
  EXPECT_TRUE(parsed->file->tensors().empty());
}

TEST(Safetensors, ZeroSizeTensorsMayShareAnOffset) {
  auto parsed = parse(R"({"z1":{"dtype":"F32","shape":[0,5],"data_offsets":[0,0]},)"
                      R"("z2":{"dtype":"BF16","shape":[3,0],"data_offsets":[0,0]},)"
                      R"("a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})",
                      "q");
  EXPECT_EQ(parsed->file->tensor("z1").nbytes(), 0u);
  EXPECT_EQ(parsed->file->tensor("z2").shape(), (std::vector<int64_t>{3, 0}));
}

TEST(Safetensors, SpacePaddedHeaderAndMetadataAreRead) {
  auto parsed = parse(R"({"__metadata__":{"format":"pt"},"a":{"dtype":"I32","shape":[],)"
                      R"("data_offsets":[0,4]}}      )",
                      std::string("\x07\x00\x00\x00", 4));
  EXPECT_EQ(parsed->file->metadata().at("format"), "pt");
  EXPECT_EQ(*parsed->file->tensor("a").data_as<int32_t>(), 7);
  EXPECT_EQ(parsed->file->tensor("a").numel(), 1);
}

TEST(Safetensors, RuleFileShorterThanLengthField) {
  expect_error([] { parse_bytes(std::string(7, '\0')); }, ErrorCode::InvalidModel,
               {"7 bytes", "too short"});
}

TEST(Safetensors, RuleHeaderLengthAboveLimit) {
  std::string bytes = safetensors_bytes_with_length(100'000'001, "{}", "");
  expect_error([&] { parse_bytes(bytes); }, ErrorCode::InvalidModel,
               {"100000001", "exceeds the limit"});
}

TEST(Safetensors, RuleHeaderLengthPastEndOfFile) {
  std::string bytes = safetensors_bytes_with_length(64, "{}", std::string(10, ' '));
  expect_error([&] { parse_bytes(bytes); }, ErrorCode::InvalidModel,
               {"header length 64", "past the end of the file"});
}

TEST(Safetensors, RuleHeaderLengthHugeDoesNotOverflow) {
  std::string bytes = safetensors_bytes_with_length(~uint64_t{0}, "{}", "");
  expect_error([&] { parse_bytes(bytes); }, ErrorCode::InvalidModel, {"exceeds the limit"});
}

TEST(Safetensors, RuleHeaderIsValidJson) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]})", "ab",
                 {"JSON syntax error", "byte"});
}

TEST(Safetensors, RuleHeaderIsValidUtf8) {
  expect_invalid("{\"\xff\xfe\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}", "a",
                 {"JSON syntax error"});
}

TEST(Safetensors, RuleHeaderNumbersAreRepresentable) {
  // Found by fuzz_safetensors: nlohmann reports this as out_of_range, not as a parse_error.
  expect_invalid(R"({"a":{"dtype":"U8","shape":[1e999],"data_offsets":[0,1]}})", "w",
                 {"invalid JSON", "number overflow"});
}

TEST(Safetensors, RuleHeaderIsAnObject) {
  expect_invalid("[1, 2, 3]", "", {"must be a JSON object starting with '{'"});
}

TEST(Safetensors, RuleNoDuplicateTensorNames) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                 R"("a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                 "wxyz", {"duplicate tensor name 'a'"});
}

TEST(Safetensors, RuleNoDuplicateKeysInsideAnEntry) {
  expect_invalid(R"({"a":{"dtype":"U8","dtype":"F32","shape":[2],"data_offsets":[0,2]}})", "wx",
                 {"duplicate key 'a.dtype'"});
}

TEST(Safetensors, RuleMetadataMapsStringsToStrings) {
  expect_invalid(R"({"__metadata__":{"format":1},"a":{"dtype":"U8","shape":[1],)"
                 R"("data_offsets":[0,1]}})",
                 "w", {"'__metadata__.format' must be a string"});
}

TEST(Safetensors, RuleEntryIsAnObject) {
  expect_invalid(R"({"a":[0,1]})", "", {"tensor 'a'", "entry must be an object"});
}

TEST(Safetensors, RuleEntryHasNoUnknownField) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1],"offset":3}})", "w",
                 {"tensor 'a'", "unknown field 'offset'"});
}

TEST(Safetensors, RuleEntryHasDtype) {
  expect_invalid(R"({"a":{"shape":[1],"data_offsets":[0,1]}})", "w", {"tensor 'a'", "missing 'dtype'"});
}

TEST(Safetensors, RuleEntryHasShape) {
  expect_invalid(R"({"a":{"dtype":"U8","data_offsets":[0,1]}})", "w", {"tensor 'a'", "missing 'shape'"});
}

TEST(Safetensors, RuleEntryHasDataOffsets) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[1]}})", "w", {"tensor 'a'", "missing 'data_offsets'"});
}

TEST(Safetensors, RuleDtypeIsKnown) {
  expect_invalid(R"({"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", "wxyz",
                 {"tensor 'a'", "unknown dtype 'F33'"});
}

TEST(Safetensors, RuleFormatDtypeWithoutComputeSupportIsUnsupported) {
  expect_error([] { parse(R"({"a":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})", "01234567"); },
               ErrorCode::Unsupported, {"tensor 'a'", "F64", "not supported"});
}

TEST(Safetensors, RuleShapeHasNoNegativeDimension) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,1]}})", "w",
                 {"tensor 'a'", "shape[0] = -1"});
}

TEST(Safetensors, RuleShapeHasOnlyIntegers) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", "w",
                 {"tensor 'a'", "shape[0] = 1.5"});
}

TEST(Safetensors, RuleElementCountDoesNotOverflow) {
  // 2^32 * 2^32 overflows 64 bits; the trailing 0 must not hide it (reference crate behaviour).
  expect_invalid(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296,0],"data_offsets":[0,0]}})",
                 "", {"tensor 'a'", "overflows"});
}

TEST(Safetensors, RuleByteCountDoesNotOverflow) {
  // 2^62 elements fit int64, but 2^62 * 4 bytes does not fit 64 bits.
  expect_invalid(R"({"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]}})", "",
                 {"tensor 'a'", "overflows"});
}

TEST(Safetensors, RuleOffsetsArePairOfNonNegativeIntegers) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0]}})", "w",
                 {"tensor 'a'", "'data_offsets' must be [begin, end]"});
  expect_invalid(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[-1,0]}})", "w",
                 {"tensor 'a'", "'data_offsets' must be [begin, end]"});
}

TEST(Safetensors, RuleOffsetsBeginNotAfterEnd) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[1,0]}})", "w",
                 {"tensor 'a'", "begin 1 is after end 0"});
}

TEST(Safetensors, RuleShapeTimesDtypeSizeEqualsByteRange) {
  expect_invalid(R"({"a":{"dtype":"F16","shape":[2],"data_offsets":[0,2]}})", "wx",
                 {"tensor 'a'", "needs 4 bytes", "span 2"});
}

TEST(Safetensors, RuleRangeInsideDataArea) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[4],"data_offsets":[0,4]}})", "wx",
                 {"tensor 'a'", "past the data area of 2 bytes"});
}

TEST(Safetensors, RuleRangesDoNotOverlap) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[3],"data_offsets":[0,3]},)"
                 R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                 "wxyz", {"tensor 'b'", "overlaps tensor 'a'"});
}

TEST(Safetensors, RuleRangesLeaveNoHole) {
  expect_invalid(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                 R"("b":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                 "wxyz", {"hole of 1 bytes", "before tensor 'b'"});
}

TEST(Safetensors, RuleNoTrailingBytesAfterLastTensor) {
  expect_invalid(kTwoU8, "wxyz!", {"the data area has 5 bytes", "cover 4", "trailing"});
}

TEST(Safetensors, OpenMapsFileAndKeepsViewsAlive) {
  test::TempDir dir;
  test::write_file(dir / "x.safetensors", safetensors_bytes(kTwoU8, "wxyz"));
  Tensor view;
  {
    auto file = SafetensorsFile::open(dir / "x.safetensors");
    EXPECT_EQ(file->path(), dir / "x.safetensors");
    view = file->tensor("a");
  }  // the file object is released; the view's owner keeps the mapping alive
  EXPECT_EQ(std::string(static_cast<const char*>(view.data()), 2), "wx");
}

TEST(Safetensors, OpenReportsMissingFileAndBrokenFileWithPath) {
  test::TempDir dir;
  expect_error([&] { SafetensorsFile::open(dir / "none.safetensors"); }, ErrorCode::NotFound,
               {"none.safetensors", "not found"});
  test::write_file(dir / "short.safetensors", "abc");
  expect_error([&] { SafetensorsFile::open(dir / "short.safetensors"); }, ErrorCode::InvalidModel,
               {"short.safetensors", "too short"});
  test::write_file(dir / "hole.safetensors",
                   safetensors_bytes(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})", "wx"));
  expect_error([&] { SafetensorsFile::open(dir / "hole.safetensors"); }, ErrorCode::InvalidModel,
               {"hole.safetensors", "hole of 1 bytes"});
}

TEST(Safetensors, MissingTensorIsNotFoundNamingIt) {
  auto parsed = parse(kTwoU8, "wxyz");
  EXPECT_FALSE(parsed->file->contains("c"));
  expect_error([&] { parsed->file->tensor("c"); }, ErrorCode::NotFound, {"'c'"});
}

TEST(SafetensorsWriter, RoundTripKeepsOrderValuesAndMetadata) {
  test::TempDir dir;
  std::vector<float> weights = {1.5f, -2.0f, 3.25f, 0.0f, 1e-3f, 7.0f};
  std::vector<uint16_t> halves = {0x3f80, 0xc000, 0x7f80};  // bf16 1, -2, +inf
  std::vector<int64_t> ids = {-5, 1ll << 40};
  SafetensorsWriter writer;
  writer.add("z.first", DType::F32, {2, 3}, weights.data());
  writer.add("a.second", DType::BF16, {3}, halves.data());
  writer.add("empty", DType::F16, {0, 4}, nullptr);
  writer.add("m.ids", Tensor(ids.data(), DType::I64, {2}));
  writer.set_metadata("format", "pt");
  writer.write(dir / "rt.safetensors");

  auto file = SafetensorsFile::open(dir / "rt.safetensors");
  ASSERT_EQ(file->tensors().size(), 4u);
  // Data order = add() order.
  EXPECT_EQ(file->tensors()[0].name, "z.first");
  EXPECT_EQ(file->tensors()[1].name, "a.second");
  EXPECT_EQ(file->tensors()[3].name, "m.ids");
  EXPECT_EQ(file->metadata().at("format"), "pt");
  Tensor w = file->tensor("z.first");
  ASSERT_EQ(w.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(std::memcmp(w.data(), weights.data(), weights.size() * 4), 0);
  EXPECT_EQ(std::memcmp(file->tensor("a.second").data(), halves.data(), 6), 0);
  EXPECT_EQ(file->tensor("m.ids").data_as<int64_t>()[1], 1ll << 40);
  EXPECT_EQ(file->tensor("empty").shape(), (std::vector<int64_t>{0, 4}));
  // The data area starts 8-aligned (header padded with spaces).
  std::ifstream in(dir / "rt.safetensors", std::ios::binary);
  uint64_t header_len = 0;
  in.read(reinterpret_cast<char*>(&header_len), 8);
  EXPECT_EQ(header_len % 8, 0u);
}

TEST(SafetensorsWriter, RefusesDuplicateNamesAndMissingData) {
  SafetensorsWriter writer;
  float value = 1.0f;
  writer.add("a", DType::F32, {1}, &value);
  expect_error([&] { writer.add("a", DType::F32, {1}, &value); }, ErrorCode::InvalidInput,
               {"'a' added twice"});
  expect_error([&] { writer.add("b", DType::F32, {1}, nullptr); }, ErrorCode::InvalidInput,
               {"'b' has no data"});
  expect_error([&] { writer.add("c", DType::F32, {-1}, &value); }, ErrorCode::InvalidInput,
               {"negative dimension"});
}

TEST(Safetensors, ReadsFileWrittenByOfficialPythonPackage) {
  const char* fixtures = std::getenv("VLM_FIXTURES");
  ASSERT_NE(fixtures, nullptr) << "VLM_FIXTURES not set";
  auto file = SafetensorsFile::open(std::filesystem::path(fixtures) / "io" / "official.safetensors");
  EXPECT_EQ(file->metadata().at("format"), "pt");
  ASSERT_EQ(file->tensors().size(), 7u);
  // f32 = arange(12).reshape(3, 4)
  Tensor f32 = file->tensor("f32");
  ASSERT_EQ(f32.shape(), (std::vector<int64_t>{3, 4}));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(f32.data_as<float>()[i], static_cast<float>(i));
  // bf16 = arange(8) as bf16, shape [2, 4]; f16 = arange(4) as f16, shape [2, 2]
  Tensor bf16 = file->tensor("bf16");
  ASSERT_EQ(bf16.shape(), (std::vector<int64_t>{2, 4}));
  for (int i = 0; i < 8; ++i) {
    uint16_t bits;
    std::memcpy(&bits, static_cast<const uint8_t*>(bf16.data()) + 2 * i, 2);  // may be unaligned
    EXPECT_EQ(bf16_to_f32(bits), static_cast<float>(i));
  }
  Tensor f16 = file->tensor("f16");
  for (int i = 0; i < 4; ++i) {
    uint16_t bits;
    std::memcpy(&bits, static_cast<const uint8_t*>(f16.data()) + 2 * i, 2);
    EXPECT_EQ(f16_to_f32(bits), static_cast<float>(i));
  }
  EXPECT_EQ(file->tensor("i64").data_as<int64_t>()[0], -3);
  EXPECT_EQ(file->tensor("i64").data_as<int64_t>()[1], int64_t{1} << 40);
  for (int i = 0; i < 3; ++i) {
    int32_t value;
    std::memcpy(&value, static_cast<const uint8_t*>(file->tensor("i32").data()) + 4 * i, 4);
    EXPECT_EQ(value, i);
  }
  for (int i = 0; i < 5; ++i) EXPECT_EQ(file->tensor("u8").data_as<uint8_t>()[i], i);
  EXPECT_EQ(file->info("model.visual.merger.ln_q.weight").dtype, DType::BF16);
}

}  // namespace
}  // namespace vlm
