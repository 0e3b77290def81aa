#include "events/event.hpp"

#include <array>

namespace pond {
namespace {

constexpr std::array<std::string_view, kIdentityKinds> kIdentityNames = {"phone", "unionid", "external_userid",
                                                                          "pos_id"};
constexpr std::array<std::string_view, 3> kGenderNames = {"unknown", "female", "male"};
constexpr std::array<std::string_view, kChannels> kChannelNames = {
    "store", "miniprogram", "official_account", "wecom", "tmall", "jd", "pdd", "douyin", "app", "other"};

template <typename E, size_t N>
std::optional<E> FromName(const std::array<std::string_view, N>& names, std::string_view name) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view IdentityKindName(IdentityKind kind) { return kIdentityNames[static_cast<size_t>(kind)]; }
std::optional<IdentityKind> IdentityKindFromName(std::string_view n) {
  return FromName<IdentityKind>(kIdentityNames, n);
}
std::string_view GenderName(Gender g) { return kGenderNames[static_cast<size_t>(g)]; }
std::optional<Gender> GenderFromName(std::string_view n) { return FromName<Gender>(kGenderNames, n); }
std::string_view ChannelName(Channel c) { return kChannelNames[static_cast<size_t>(c)]; }
std::optional<Channel> ChannelFromName(std::string_view n) { return FromName<Channel>(kChannelNames, n); }

std::string_view EventTypeName(const Event& e) {
  static constexpr std::string_view kNames[] = {"member", "order", "refund", "store", "staff", "product", "category"};
  return kNames[e.index()];
}

}  // namespace pond
