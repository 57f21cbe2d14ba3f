// From a window's answer to the records the element publishes: always one "window" record holding
// the answer (so unparseable output is never lost), and for the events/query tasks one "event"
// record per parsed event, its window-relative times mapped to stream time (model time 0 = the
// window's first frame, spec §4.5). Overlapping windows see the same event; EventMerger keeps one
// event per happening with a stable id, re-publishing it only when its span grows. task=query:
// records carry the window's score; a refined window whose answer has no times gives one event
// over the whole window; a window under the threshold gives only its (empty, scored) window record.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "event_record.h"
#include "window.h"
#include "window_runner.h"

namespace vlm::gst {

class EventMerger {
 public:
  // True when `candidate` is to be published: a new event (given a new id) or a known one whose
  // span grew (candidate becomes the merged event, old id). False for a duplicate adding nothing.
  bool merge(EventRecord& candidate, const std::string& stream);
  void clear() { known_.clear(); }

 private:
  std::deque<EventRecord> known_;  // most recent last; bounded
  uint64_t next_id_ = 0;
};

// True when two texts name the same happening (same words, ignoring case and punctuation, or
// at least half of their words shared).
bool similar_text(const std::string& a, const std::string& b);

std::vector<EventRecord> window_records(const WindowJob& job, const WindowAnswer& answer,
                                        const std::string& stream, EventMerger& merger);

}  // namespace vlm::gst
