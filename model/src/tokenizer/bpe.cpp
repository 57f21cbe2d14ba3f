// BPE merges by rank; see bpe.h. The merge loop is a line-by-line port of HF tokenizers'
// Word::merge_all so that even its corner cases (two merges yielding the same token) match.
#include "tokenizer/bpe.h"

#include <algorithm>
#include <queue>

#include "tokenizer/byte_level.h"
#include "vlm/error.h"

namespace vlm::tokenizer_detail {

namespace {

uint64_t pair_key(int32_t left, int32_t right) {
  return ((static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right)) + 1;
}

uint64_t mix(uint64_t key) {
  key ^= key >> 33;
  key *= 0xff51afd7ed558ccdULL;
  key ^= key >> 33;
  return key;
}

struct QueuedMerge {
  int32_t rank;
  int32_t pos;
  int32_t result;
  // std::priority_queue pops the "largest": make that the lowest rank, then the lowest position.
  bool operator<(const QueuedMerge& other) const {
    if (rank != other.rank) return rank > other.rank;
    return pos > other.pos;
  }
};

struct Symbol {
  int32_t id;
  int32_t prev;
  int32_t next;
  bool removed;
};

}  // namespace

BpeModel::BpeModel(const std::vector<int32_t>& byte_ids, const std::vector<Merge>& merges,
                   bool ignore_merges, std::unordered_map<std::string, int32_t> whole_piece_ids)
    : ignore_merges_(ignore_merges), whole_piece_ids_(std::move(whole_piece_ids)) {
  VLM_CHECK(byte_ids.size() == 256, Internal, "BpeModel needs 256 byte ids");
  std::copy(byte_ids.begin(), byte_ids.end(), byte_ids_);
  size_t capacity = 16;
  while (capacity < merges.size() * 2) capacity *= 2;
  slots_.assign(capacity, Slot{});
  mask_ = capacity - 1;
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const Merge& merge = merges[rank];
    insert(merge.left, merge.right, static_cast<int32_t>(rank), merge.result);
  }
}

BpeModel::BpeModel(BpeModel&& other) noexcept
    : slots_(std::move(other.slots_)),
      mask_(other.mask_),
      ignore_merges_(other.ignore_merges_),
      whole_piece_ids_(std::move(other.whole_piece_ids_)),
      cache_(std::move(other.cache_)) {
  std::copy(std::begin(other.byte_ids_), std::end(other.byte_ids_), byte_ids_);
}

BpeModel& BpeModel::operator=(BpeModel&& other) noexcept {
  std::copy(std::begin(other.byte_ids_), std::end(other.byte_ids_), byte_ids_);
  slots_ = std::move(other.slots_);
  mask_ = other.mask_;
  ignore_merges_ = other.ignore_merges_;
  whole_piece_ids_ = std::move(other.whole_piece_ids_);
  cache_ = std::move(other.cache_);
  return *this;
}

void BpeModel::insert(int32_t left, int32_t right, int32_t rank, int32_t result) {
  const uint64_t key = pair_key(left, right);
  for (uint64_t index = mix(key) & mask_;; index = (index + 1) & mask_) {
    Slot& slot = slots_[index];
    if (slot.key == 0 || slot.key == key) {
      // HF collects merges into a HashMap in rank order, so a repeated pair ends with its last rank.
      slot = Slot{key, rank, result};
      return;
    }
  }
}

const BpeModel::Slot* BpeModel::find(int32_t left, int32_t right) const {
  const uint64_t key = pair_key(left, right);
  for (uint64_t index = mix(key) & mask_;; index = (index + 1) & mask_) {
    const Slot& slot = slots_[index];
    if (slot.key == key) return &slot;
    if (slot.key == 0) return nullptr;
  }
}

void BpeModel::merge_piece(std::string_view piece, std::vector<int32_t>& out) const {
  std::vector<Symbol> symbols;
  symbols.reserve(piece.size());
  for (char byte : piece) {
    const int32_t id = byte_ids_[static_cast<unsigned char>(byte)];
    if (id < 0) continue;  // no token for this byte and no unk token: HF drops it
    const auto index = static_cast<int32_t>(symbols.size());
    symbols.push_back(Symbol{id, index - 1, index + 1, false});
  }
  if (symbols.empty()) return;
  symbols.back().next = -1;
  const auto count = static_cast<int32_t>(symbols.size());

  std::vector<QueuedMerge> storage;
  storage.reserve(symbols.size());
  std::priority_queue<QueuedMerge> queue(std::less<QueuedMerge>(), std::move(storage));
  for (int32_t pos = 0; pos + 1 < count; ++pos) {
    if (const Slot* slot = find(symbols[pos].id, symbols[pos + 1].id)) {
      queue.push(QueuedMerge{slot->rank, pos, slot->result});
    }
  }
  while (!queue.empty()) {
    const QueuedMerge top = queue.top();
    queue.pop();
    Symbol& current = symbols[top.pos];
    if (current.removed || current.next == -1) continue;
    const int32_t next_pos = current.next;
    const Symbol right = symbols[next_pos];
    const Slot* slot = find(current.id, right.id);
    if (slot == nullptr || slot->result != top.result) continue;  // expired entry
    current.id = top.result;
    current.next = right.next;
    symbols[next_pos].removed = true;
    if (right.next >= 0 && right.next < count) symbols[right.next].prev = top.pos;
    if (current.prev >= 0) {
      if (const Slot* before = find(symbols[current.prev].id, current.id)) {
        queue.push(QueuedMerge{before->rank, current.prev, before->result});
      }
    }
    if (current.next >= 0 && current.next < count) {
      if (const Slot* after = find(current.id, symbols[current.next].id)) {
        queue.push(QueuedMerge{after->rank, top.pos, after->result});
      }
    }
  }
  for (const Symbol& symbol : symbols) {
    if (!symbol.removed) out.push_back(symbol.id);
  }
}

void BpeModel::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() == 1) {
    const int32_t id = byte_ids_[static_cast<unsigned char>(piece[0])];
    if (id >= 0) out.push_back(id);
    return;
  }
  if (ignore_merges_) {
    const auto found = whole_piece_ids_.find(bytes_to_token_string(piece));
    if (found != whole_piece_ids_.end()) {
      out.push_back(found->second);
      return;
    }
  }
  const bool cacheable = piece.size() <= kCacheMaxPiece;
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    const auto found = cache_.find(piece);
    if (found != cache_.end()) {
      out.insert(out.end(), found->second.begin(), found->second.end());
      return;
    }
  }
  const size_t first = out.size();
  merge_piece(piece, out);
  if (cacheable) {
    std::lock_guard<std::mutex> lock(cache_mutex_);
    if (cache_.size() >= kCacheLimit) cache_.clear();
    cache_.emplace(std::string(piece), std::vector<int32_t>(out.begin() + static_cast<std::ptrdiff_t>(first), out.end()));
  }
}

}  // namespace vlm::tokenizer_detail
