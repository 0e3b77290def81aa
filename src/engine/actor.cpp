#include "engine/actor.hpp"

namespace pond {

const char* ActorKindName(Actor::Kind kind) {
  switch (kind) {
    case Actor::Kind::kKey: return "key";
    case Actor::Kind::kUser: return "user";
    case Actor::Kind::kLocal: return "local";
    case Actor::Kind::kSystem: return "system";
  }
  return "system";
}

std::string ActorText(const Actor& actor) {
  switch (actor.kind) {
    case Actor::Kind::kKey: return "key:" + actor.id;
    case Actor::Kind::kUser: return "user:" + actor.id;
    case Actor::Kind::kLocal: return "local";
    case Actor::Kind::kSystem: return "system:" + actor.by;
  }
  return "system";
}

}  // namespace pond
