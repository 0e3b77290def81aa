// Who a command runs for (CONTRACT.md "Actors and the audit trail"): an API
// key, a person logged in, the local operator (loopback without
// credentials) or Pond's own timed work. The HTTP layer decides it from the
// request; the engine never takes it from a body, so a `by` field a client
// writes says nothing about who did something.
#pragma once

#include <cstdint>
#include <string>

namespace pond {

struct Actor {
  enum class Kind : uint8_t { kKey, kUser, kLocal, kSystem };
  Kind kind = Kind::kSystem;
  std::string id;  // the key's id or the person's login; empty for local and system
  std::string by;  // system: what acts ("scheduler", "journey:12")

  static Actor Key(std::string id) { return {Kind::kKey, std::move(id), {}}; }
  static Actor Local() { return {Kind::kLocal, {}, {}}; }
  static Actor System(std::string by) { return {Kind::kSystem, {}, std::move(by)}; }
};

// "key", "user", "local", "system".
const char* ActorKindName(Actor::Kind kind);
// One line naming the actor, where a row keeps who did something (a tag
// operation's `by`, a snapshot's `created_by`): "key:pk_ab12", "user:li.na",
// "local", "system:scheduler".
std::string ActorText(const Actor& actor);

// What a command runs with besides its arguments.
struct CommandContext {
  Actor actor = Actor::System("pond");
  std::string request_id;  // the request's, for the audit trail; empty for timed work
};

}  // namespace pond
