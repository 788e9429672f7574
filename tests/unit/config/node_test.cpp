#include "isplitee/config/node.hpp"

#include <gtest/gtest.h>

#include "isplitee/common/error.hpp"

namespace isplitee::config {
namespace {

// Returns the message of the isplitee::Error thrown by f (fails the test when none is thrown).
template <typename F>
std::string error_of(F&& f, ErrorCode expected = ErrorCode::kUsage) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.code()), static_cast<int>(expected));
    return e.what();
  }
  ADD_FAILURE() << "no isplitee::Error thrown";
  return "";
}

TEST(ConfigDocument, MalformedJsonNamesFileLineAndColumn) {
  const auto msg = error_of([] { Document::parse("{\n  \"a\": 1,\n  \"b\": ]\n}", "x.json"); });
  EXPECT_NE(msg.find("x.json: malformed JSON at line 3, column 8"), std::string::npos) << msg;
}

TEST(ConfigDocument, TopLevelMustBeObject) {
  const auto msg = error_of([] { Document::parse("[1, 2]", "x.json"); });
  EXPECT_NE(msg.find("top level must be a JSON object"), std::string::npos) << msg;
}

TEST(ConfigDocument, CommentsAreAllowed) {
  auto d = Document::parse("{ // a comment\n \"a\": 1 }", "x.json");
  EXPECT_EQ(d.json()["a"], 1);
}

TEST(ConfigNode, UnknownKeySuggestsNearest) {
  auto d = Document::parse(R"({"cost": {"alpah": 0.5}})", "c.json");
  Node root(d);
  Node cost = root.object("cost");
  cost.number("alpha", 0.5, 0, 1);
  cost.number("lambda", 0.1, 0, 10);
  const auto msg = error_of([&] { cost.finish(); });
  EXPECT_EQ(msg, "c.json: cost.alpah: unknown key; did you mean 'alpha'?");
}

TEST(ConfigNode, UnknownKeyWithoutNearListsValidKeys) {
  auto d = Document::parse(R"({"zzzzzzzz": 1})", "c.json");
  Node root(d);
  root.integer("seed", 0, 0, 10);
  const auto msg = error_of([&] { root.finish(); });
  EXPECT_EQ(msg, "c.json: zzzzzzzz: unknown key (valid keys: seed)");
}

TEST(ConfigNode, OutOfRangeNamesValueAndRange) {
  auto d = Document::parse(R"({"alpha": 1.5})", "c.json");
  Node root(d);
  const auto msg = error_of([&] { root.number("alpha", 0.5, 0.0, 1.0); });
  EXPECT_EQ(msg, "c.json: alpha: value 1.5 is out of range [0, 1]");
}

TEST(ConfigNode, WrongTypeNamesType) {
  auto d = Document::parse(R"({"alpha": "high", "n": 2.5, "flag": 1})", "c.json");
  Node root(d);
  EXPECT_EQ(error_of([&] { root.number("alpha", 0.5, 0.0, 1.0); }),
            "c.json: alpha: expected a number, got string \"high\"");
  EXPECT_EQ(error_of([&] { root.integer("n", 1, 0, 10); }),
            "c.json: n: expected an integer, got number 2.5");
  EXPECT_EQ(error_of([&] { root.boolean("flag", false); }),
            "c.json: flag: expected true or false, got integer 1");
}

TEST(ConfigNode, IntegerValuedFloatIsAcceptedAsInteger) {
  auto d = Document::parse(R"({"n": 3.0})", "c.json");
  Node root(d);
  EXPECT_EQ(root.integer("n", 1, 0, 10), 3);
}

TEST(ConfigNode, MissingRequiredKey) {
  auto d = Document::parse(R"({})", "c.json");
  Node root(d);
  EXPECT_EQ(error_of([&] { root.string_required("name"); }),
            "c.json: name: missing required key (a string)");
  EXPECT_EQ(error_of([&] { root.number_required("alpha", 0.0, 1.0); }),
            "c.json: alpha: missing required key (a number in [0, 1])");
}

TEST(ConfigNode, ChoiceSuggestsNearest) {
  auto d = Document::parse(R"({"side_info": "orcale"})", "c.json");
  Node root(d);
  EXPECT_EQ(
      error_of([&] {
        root.choice("side_info", "oracle", {"oracle", "strict", "proxy"});
      }),
      "c.json: side_info: unknown value 'orcale' (valid: oracle, strict, proxy); did you mean "
      "'oracle'?");
}

TEST(ConfigNode, ListElementsAreCheckedWithIndex) {
  auto d = Document::parse(R"({"w": [1, 0.5, -2]})", "c.json");
  Node root(d);
  EXPECT_EQ(error_of([&] { root.numbers("w", {}, 0.0, 10.0); }),
            "c.json: w[2]: value -2 is out of range [0, 10]");
}

TEST(ConfigNode, NestedObjectsCarryTheirPath) {
  auto d = Document::parse(R"({"a": {"b": {"c": "x"}}})", "c.json");
  Node root(d);
  Node c = root.object("a").object("b");
  EXPECT_EQ(error_of([&] { c.integer("c", 0, 0, 1); }),
            "c.json: a.b.c: expected an integer, got string \"x\"");
}

TEST(ConfigNode, DefaultsApplyWhenAbsent) {
  auto d = Document::parse(R"({})", "c.json");
  Node root(d);
  EXPECT_DOUBLE_EQ(root.number("alpha", 0.5, 0, 1), 0.5);
  EXPECT_EQ(root.string("name", "x"), "x");
  EXPECT_EQ(root.strings("p", {"a", "b"}).size(), 2u);
  EXPECT_NO_THROW(root.object("sub").finish());
  root.finish();
}

TEST(ConfigOverride, SetsNestedValuesParsedAsJson) {
  auto d = Document::parse(R"({"cost": {"alpha": 0.5}})", "c.json");
  d.apply_overrides({"cost.alpha=0.7", "policy.name=i-splitee", "list=[1,2]", "flag=true"});
  EXPECT_DOUBLE_EQ(d.json()["cost"]["alpha"].get<double>(), 0.7);
  EXPECT_EQ(d.json()["policy"]["name"], "i-splitee");
  EXPECT_EQ(d.json()["list"].size(), 2u);
  EXPECT_EQ(d.json()["flag"], true);
}

TEST(ConfigOverride, IndexesArrays) {
  auto d = Document::parse(R"({"p": [{"name": "a"}, {"name": "b"}]})", "c.json");
  d.apply_override("p.1.name=c");
  EXPECT_EQ(d.json()["p"][1]["name"], "c");
  EXPECT_NE(error_of([&] { d.apply_override("p.5.name=c"); }).find("index 5 out of range [0, 2)"),
            std::string::npos);
}

TEST(ConfigOverride, BadSyntaxIsAUsageError) {
  auto d = Document::parse(R"({"a": 1})", "c.json");
  EXPECT_EQ(error_of([&] { d.apply_override("novalue"); }),
            "--set novalue: expected KEY.PATH=VALUE");
  EXPECT_EQ(error_of([&] { d.apply_override("a.b=1"); }),
            "--set a.b=1: 'a' is a integer, not an object");
}

TEST(ConfigDocument, MissingFileIsReported) {
  const auto msg = error_of([] { Document::load("/nonexistent/cfg.json"); });
  EXPECT_EQ(msg, "/nonexistent/cfg.json: config file not found");
}

}  // namespace
}  // namespace isplitee::config
