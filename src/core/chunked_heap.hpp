// ChunkedHeap: a binary min-heap kept in a ChunkedArray, for queues that
// grow to millions under the writer (coupons by the end of their validity).
// A std::priority_queue keeps its heap in a vector, and the vector's
// doubling copies every queued entry into fresh pages at once: 34 ms of
// one slice of a 1 M-member bulk issue. Here pushing never moves what is
// queued.
#pragma once

#include <cstddef>
#include <utility>

#include "core/chunked_array.hpp"

namespace pond {

template <typename T>  // ordered by operator<, trivially copyable
class ChunkedHeap {
 public:
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  // The least entry.
  const T& top() const { return items_[0]; }

  void push(const T& value) {
    size_t at = items_.size();
    items_.push_back(value);
    while (at > 0 && value < items_[(at - 1) / 2]) {  // up past greater parents
      items_[at] = items_[(at - 1) / 2];
      at = (at - 1) / 2;
    }
    items_[at] = value;
  }

  void pop() {
    const T last = items_.back();
    items_.pop_back();
    const size_t n = items_.size();
    if (n == 0) return;
    size_t at = 0;
    for (;;) {  // the last entry down from the root, past lesser children
      size_t child = 2 * at + 1;
      if (child >= n) break;
      if (child + 1 < n && items_[child + 1] < items_[child]) ++child;
      if (!(items_[child] < last)) break;
      items_[at] = items_[child];
      at = child;
    }
    items_[at] = last;
  }

 private:
  ChunkedArray<T> items_;
};

}  // namespace pond
