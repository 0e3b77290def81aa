#include "core/json_writer.hpp"

#include <gtest/gtest.h>

namespace pond {
namespace {

TEST(JsonWriterTest, NestsAndEscapes) {
  JsonWriter w;
  w.BeginObject().Field("a", "x\"y\n").Key("b").BeginArray().Int(1).Bool(false).Null().EndArray();
  w.Key("c").BeginObject().Field("d", int64_t{-5}).EndObject().Field("e", "王\x01").EndObject();
  EXPECT_EQ(w.str(), R"({"a":"x\"y\n","b":[1,false,null],"c":{"d":-5},"e":"王\u0001"})");
}

TEST(JsonWriterTest, DoublesKeepEveryDigit) {
  JsonWriter w;
  w.BeginArray().Double(114.057865).Double(22.5).Double(-0.1).EndArray();
  EXPECT_EQ(w.str(), "[114.057865,22.5,-0.1]");
}

}  // namespace
}  // namespace pond
