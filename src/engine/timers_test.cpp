#include "engine/timers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <tuple>

#include "core/random.hpp"

namespace pond {
namespace {

// Against a plain model: every timer armed fires once, none before its
// instant, in time order and, within a second, in the order armed —
// whatever the order of arming, the batch sizes and the moments asked.
TEST(TimersTest, FireOnceInTimeOrderAsAPlainListSays) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Random rng(seed);
    Timers timers;
    struct Armed {
      int64_t at, seq;
      TimerKind kind;
      int64_t id;
    };
    std::vector<Armed> model;
    int64_t seq = 0, now = 1'800'000'000;
    for (int step = 0; step < 3000; ++step) {
      if (rng.Chance(0.7)) {
        // Mostly ahead of now, some already due, many on the same seconds.
        const int64_t at = now + rng.Range(-120, 3 * 86400) / (rng.Chance(0.3) ? 600 : 1);
        const int64_t id = rng.Chance(0.1) ? Timers::kMaxId : rng.Range(0, 1000);
        ASSERT_TRUE(timers.Arm(TimerKind::kTest, id, Timestamp::FromSeconds(at)));
        model.push_back({at, seq++, TimerKind::kTest, id});
      } else {
        now += rng.Range(0, 4 * 3600);
        const size_t max = static_cast<size_t>(rng.Range(1, 300));
        std::vector<Timer> out;
        const size_t n = timers.TakeDue(Timestamp::FromSeconds(now), max, out);
        std::stable_sort(model.begin(), model.end(),
                         [](const Armed& a, const Armed& b) { return std::tie(a.at, a.seq) < std::tie(b.at, b.seq); });
        size_t due = 0;
        while (due < model.size() && model[due].at <= now) ++due;
        ASSERT_EQ(n, std::min(due, max)) << "seed " << seed << " step " << step;
        ASSERT_EQ(out.size(), n);
        for (size_t i = 0; i < n; ++i) {
          ASSERT_EQ(out[i].at.seconds(), model[i].at) << "seed " << seed << " step " << step << " #" << i;
          ASSERT_EQ(out[i].id, model[i].id) << "seed " << seed << " step " << step << " #" << i;
          ASSERT_EQ(out[i].kind, model[i].kind);
        }
        model.erase(model.begin(), model.begin() + static_cast<std::ptrdiff_t>(n));
      }
      ASSERT_EQ(timers.pending(), model.size());
      if (!model.empty()) {
        const int64_t first = std::min_element(model.begin(), model.end(), [](const Armed& a, const Armed& b) {
                                return a.at < b.at;
                              })->at;
        ASSERT_EQ(timers.Next()->seconds(), first);
      } else {
        ASSERT_FALSE(timers.Next());
      }
    }
  }
}

TEST(TimersTest, IdsOutOfRangeAreRefused) {
  Timers timers;
  EXPECT_FALSE(timers.Arm(TimerKind::kTest, -1, Timestamp::FromSeconds(0)));
  EXPECT_FALSE(timers.Arm(TimerKind::kTest, Timers::kMaxId + 1, Timestamp::FromSeconds(0)));
  EXPECT_EQ(timers.pending(), 0u);
  // Before the epoch too: minutes are floored, not truncated.
  ASSERT_TRUE(timers.Arm(TimerKind::kTest, 7, Timestamp::FromSeconds(-61)));
  ASSERT_TRUE(timers.Arm(TimerKind::kTest, 8, Timestamp::FromSeconds(-59)));
  std::vector<Timer> out;
  ASSERT_EQ(timers.TakeDue(Timestamp::FromSeconds(-60), 10, out), 1u);
  EXPECT_EQ(out[0].id, 7);
  EXPECT_EQ(out[0].at.seconds(), -61);
}

}  // namespace
}  // namespace pond
