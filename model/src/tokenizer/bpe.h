// Byte-level BPE model: the merge table keyed by the pair of token ids (flat open-addressing hash)
// and the merge loop of HF tokenizers' Word::merge_all (lowest rank first, then leftmost, stale
// queue entries recognised by their result id), plus a bounded per-piece cache.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vlm::tokenizer_detail {

class BpeModel {
 public:
  struct Merge {
    int32_t left = 0;
    int32_t right = 0;
    int32_t result = 0;
  };

  BpeModel() = default;
  // `byte_ids[b]` = id of the token standing for byte b (-1 when the vocab lacks it: such bytes
  // are dropped, as HF does without an unk token). `merges` in rank order.
  BpeModel(const std::vector<int32_t>& byte_ids, const std::vector<Merge>& merges, bool ignore_merges,
           std::unordered_map<std::string, int32_t> whole_piece_ids = {});
  BpeModel(BpeModel&& other) noexcept;
  BpeModel& operator=(BpeModel&& other) noexcept;

  // Appends the ids of one pre-tokenized piece (raw bytes, not yet byte-level mapped).
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  // The merge loop without the cache (exposed for tests and the fuzzer).
  void merge_piece(std::string_view piece, std::vector<int32_t>& out) const;

 private:
  struct Slot {
    uint64_t key = 0;  // (left << 32 | right) + 1; 0 = empty
    int32_t rank = 0;
    int32_t result = 0;
  };
  const Slot* find(int32_t left, int32_t right) const;
  void insert(int32_t left, int32_t right, int32_t rank, int32_t result);

  int32_t byte_ids_[256] = {};
  std::vector<Slot> slots_;
  uint64_t mask_ = 0;
  bool ignore_merges_ = false;
  std::unordered_map<std::string, int32_t> whole_piece_ids_;  // only used with ignore_merges

  static constexpr size_t kCacheLimit = 1 << 16;  // entries; the cache is cleared when full
  static constexpr size_t kCacheMaxPiece = 256;   // longer pieces are not cached
  mutable std::mutex cache_mutex_;
  struct PieceHash {
    using is_transparent = void;
    size_t operator()(std::string_view piece) const { return std::hash<std::string_view>{}(piece); }
  };
  mutable std::unordered_map<std::string, std::vector<int32_t>, PieceHash, std::equal_to<>> cache_;
};

}  // namespace vlm::tokenizer_detail
