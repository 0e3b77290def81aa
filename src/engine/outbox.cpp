#include "engine/outbox.hpp"

#include <pthread.h>

#include <algorithm>
#include <exception>
#include <memory>

#include "core/log.hpp"

namespace pond {

Outbox::Outbox(std::string tenant, const EffectChannels& channels, OutboxOptions options, Settle settle)
    : tenant_(std::move(tenant)), channels_(channels), options_(options), settle_(std::move(settle)) {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "pond-outbox");
    Loop();
  });
}

std::string Outbox::KeyOf(std::string_view tenant, int64_t id) {
  return "pond:" + std::string(tenant) + ":" + std::to_string(id);
}

void Outbox::Hand(const std::vector<EffectRow>& effects) {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    for (const EffectRow& e : effects) {
      if (held_.insert(e.id).second) ready_.push_back(Item{e});
    }
  }
  cv_.notify_one();
}

void Outbox::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Outbox::Loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (stopping_) return;
    const Time now = std::chrono::steady_clock::now();
    while (!waiting_.empty() && waiting_.begin()->first <= now) {
      ready_.push_back(std::move(waiting_.begin()->second));
      waiting_.erase(waiting_.begin());
    }
    if (ready_.empty()) {
      if (waiting_.empty()) {
        cv_.wait(lock);
      } else {
        cv_.wait_until(lock, waiting_.begin()->first);
      }
      continue;
    }
    Item item = std::move(ready_.front());
    ready_.pop_front();
    lock.unlock();
    Attempt(item);
    lock.lock();
  }
}

void Outbox::Attempt(Item& item) {
  const int64_t id = item.effect.id;
  if (!item.ended) {
    Delivery d;
    const EffectChannel* channel = channels_.Find(item.effect.channel);
    ++item.attempts;
    if (channel == nullptr) {
      d = {Delivery::Result::kFailed, "no channel '" + item.effect.channel + "' on this node"};
    } else {
      try {
        d = (*channel)(item.effect, KeyOf(tenant_, id));
      } catch (const std::exception& e) {  // a channel's bug is a failed attempt, not a dead outbox
        d = {Delivery::Result::kRetry, std::string("the channel threw: ") + e.what()};
      }
    }
    if (d.result == Delivery::Result::kRetry && item.attempts < options_.max_attempts) {
      Later(std::move(item));
      return;
    }
    item.ended = true;
    item.delivered = d.result == Delivery::Result::kDelivered;
    item.detail = d.result == Delivery::Result::kRetry
                      ? "given up after " + std::to_string(item.attempts) + " attempts: " + d.detail
                      : std::move(d.detail);
    if (!item.delivered) {
      Log(LogLevel::kWarn, "an effect was not delivered",
          {{"tenant", tenant_}, {"effect", std::to_string(id)}, {"channel", item.effect.channel},
           {"detail", item.detail}});
    }
  }
  // Recording the outcome is retried until it commits; the send is not.
  auto ended = std::make_shared<Item>(std::move(item));
  settle_(id, ended->delivered, ended->attempts, ended->detail, [this, ended](bool committed) {
    if (committed) {
      std::lock_guard lock(mu_);
      held_.erase(ended->effect.id);
      return;
    }
    Later(std::move(*ended));
  });
}

void Outbox::Later(Item item) {
  item.wait = item.wait.count() == 0 ? options_.first_retry : std::min(item.wait * 2, options_.max_retry);
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    waiting_.emplace(std::chrono::steady_clock::now() + item.wait, std::move(item));
  }
  cv_.notify_one();
}

}  // namespace pond
