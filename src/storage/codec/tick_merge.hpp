// Load's interleaving of orders, refunds and journal rows by tick
// (store.hpp's LoadSink order), shared by both backends. Each table's tick
// grows with its own order, so stepping the three reads side by side is
// enough: no sort, constant memory.
#pragma once

#include "core/status.hpp"
#include "engine/store.hpp"

namespace pond::storage_codec {

// `Stream` reads one table a row ahead: done(), tick() of the row at hand,
// and EmitAndStep(sink), which hands that row on and reads the next.
// Streams are given in store.hpp's order for equal ticks: only a strictly
// lower tick passes a stream given earlier.
template <typename Stream>
Status MergeByTick(Stream& orders, Stream& refunds, Stream& journal, LoadSink& sink) {
  Stream* const streams[] = {&orders, &refunds, &journal};
  for (;;) {
    Stream* next = nullptr;
    for (Stream* stream : streams) {
      if (!stream->done() && (next == nullptr || stream->tick() < next->tick())) next = stream;
    }
    if (next == nullptr) return Status::Ok();
    RETURN_IF_ERROR(next->EmitAndStep(sink));
  }
}

}  // namespace pond::storage_codec
