#include <gtest/gtest.h>

#include <unistd.h>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/trace/npy.hpp"
#include "isplitee/trace/trace.hpp"
#include "support/synthetic_trace.hpp"
#include "support/temp_dir.hpp"

using namespace isplitee;
namespace fs = std::filesystem;

namespace {

class TraceIo : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = std::make_unique<isplitee::testing::TempDir>("trace");
    dir_ = tmp_->path();
  }
  void TearDown() override { tmp_.reset(); }

  /// Expects read_trace(path) to fail with a message containing every piece.
  void expect_error(const fs::path& path, const std::vector<std::string>& pieces,
                    ErrorCode code = ErrorCode::kData) {
    try {
      trace::read_trace(path);
      FAIL() << "no error for " << path;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      for (const auto& p : pieces)
        EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos) << "one line: " << e.what();
    }
  }

  fs::path write_small() {
    auto t = synth::synthetic_trace(20, {0.4, 0.6, 0.8}, 3);
    t->manifest.sample_ids.resize(20);
    for (int i = 0; i < 20; ++i) t->manifest.sample_ids[i] = 100 + i;
    const auto d = dir_ / "t";
    trace::write_trace(d, *t);
    return d;
  }

  int python(const std::string& code) {
    const auto script = dir_ / "s.py";
    write_text_atomic(script, code);
    const std::string cmd =
        std::string("OPENBLAS_NUM_THREADS=1 ") + ISPLITEE_PYTHON + " " + script.string();
    return std::system(cmd.c_str());
  }

  std::unique_ptr<isplitee::testing::TempDir> tmp_;
  fs::path dir_;
};

}  // namespace

TEST_F(TraceIo, NpyMatchesNumpyBothWays) {
  std::vector<float> f = {0.0f, 0.25f, 1.0f, 1e-8f, 0.333333343f, 0.999999f};
  std::vector<std::int32_t> i = {-3, 0, 7, 2147483647, -2147483647, 42};
  trace::write_npy(dir_ / "f.npy", f, {2, 3});
  trace::write_npy(dir_ / "i.npy", i, {6});
  const std::string d = dir_.string();
  ASSERT_EQ(python("import numpy as np\n"
                   "f = np.load('" +
                   d + "/f.npy'); i = np.load('" + d +
                   "/i.npy')\n"
                   "assert f.dtype == np.float32 and f.shape == (2, 3), (f.dtype, f.shape)\n"
                   "assert i.dtype == np.int32 and i.shape == (6,), (i.dtype, i.shape)\n"
                   "assert (f.ravel() == np.array([0.0, 0.25, 1.0, 1e-8, 0.333333343, 0.999999], "
                   "np.float32)).all()\n"
                   "assert (i == np.array([-3, 0, 7, 2147483647, -2147483647, 42])).all()\n"
                   "np.save('" +
                   d +
                   "/pf4.npy', np.arange(12, dtype=np.float32).reshape(3, 4) / 7)\n"
                   "np.save('" +
                   d +
                   "/pi4.npy', np.arange(5, dtype=np.int32) - 2)\n"
                   "np.save('" +
                   d +
                   "/pi8.npy', np.arange(5, dtype=np.int64) * 3)\n"
                   "np.save('" +
                   d +
                   "/pf8.npy', np.array([0.5, 0.125]))\n"
                   "np.save('" +
                   d + "/scalar.npy', np.float32(0.5).reshape(()))\n"),
            0);
  std::vector<std::size_t> shape;
  const auto pf4 = trace::read_npy_f32(dir_ / "pf4.npy", shape);
  ASSERT_EQ(shape, (std::vector<std::size_t>{3, 4}));
  for (int k = 0; k < 12; ++k) EXPECT_EQ(pf4[k], static_cast<float>(k) / 7.0f);
  const auto pi4 = trace::read_npy_i32(dir_ / "pi4.npy", shape);
  EXPECT_EQ(pi4, (std::vector<std::int32_t>{-2, -1, 0, 1, 2}));
  EXPECT_EQ(trace::read_npy_i32(dir_ / "pi8.npy", shape),
            (std::vector<std::int32_t>{0, 3, 6, 9, 12}));
  EXPECT_EQ(trace::read_npy_f32(dir_ / "pf8.npy", shape), (std::vector<float>{0.5f, 0.125f}));
  EXPECT_EQ(trace::read_npy_f32(dir_ / "scalar.npy", shape).size(), 1u);
  EXPECT_TRUE(shape.empty());
  EXPECT_THROW(trace::read_npy_f32(dir_ / "pi4.npy", shape),
               Error);  // wrong dtype for a float column
}

TEST_F(TraceIo, DirectoryRoundTripIsExact) {
  auto t = synth::synthetic_trace(50, {0.3, 0.5, 0.7, 0.9}, 11);
  t->entropy.assign(t->conf.size(), 0.5f);
  t->margin.assign(t->conf.size(), 0.25f);
  t->manifest.checkpoint_sha256 = "abc";
  t->manifest.distortion = {{"name", "gaussian_noise"}, {"severity", 3}};
  t->manifest.seed = 18446744073709551615ULL;
  trace::write_trace(dir_ / "t", *t);
  for (const char* f : {"manifest.json", "conf.npy", "pred.npy", "label.npy", "entropy.npy",
                        "margin.npy", "trace.csv"})
    EXPECT_TRUE(fs::exists(dir_ / "t" / f)) << f;
  const auto r = trace::read_trace(dir_ / "t");
  EXPECT_EQ(r.num_samples, 50u);
  EXPECT_EQ(r.num_exits, 4u);
  EXPECT_EQ(r.conf, t->conf);
  EXPECT_EQ(r.pred, t->pred);
  EXPECT_EQ(r.label, t->label);
  EXPECT_EQ(r.entropy, t->entropy);
  EXPECT_EQ(r.margin, t->margin);
  EXPECT_EQ(trace::manifest_to_json(r.manifest), trace::manifest_to_json(t->manifest));
  // trace.csv replays to the same columns (floats printed with 9 significant digits round-trip).
  const auto c = trace::read_trace(dir_ / "t" / "trace.csv", {1, 2, 3, 4});
  EXPECT_EQ(c.conf, t->conf);
  EXPECT_EQ(c.pred, t->pred);
  EXPECT_EQ(c.label, t->label);
}

TEST_F(TraceIo, CsvImportUsesDepthKUnlessGiven) {
  write_text_atomic(dir_ / "x.csv",
                    "conf_1,conf_2,conf_3,pred_1,pred_2,pred_3,label\n"
                    "0.1,0.5,0.9,1,2,3,3\n"
                    "0.7,0.8,1,4,4,4.0,4\r\n");
  const auto t = trace::read_trace(dir_ / "x.csv");
  ASSERT_EQ(t.num_samples, 2u);
  ASSERT_EQ(t.num_exits, 3u);
  EXPECT_FLOAT_EQ(t.conf_at(1, 0), 0.7f);
  EXPECT_EQ(t.pred_at(0, 2), 3);
  EXPECT_EQ(t.label, (std::vector<std::int32_t>{3, 4}));
  ASSERT_EQ(t.manifest.exits.size(), 3u);
  for (int k = 0; k < 3; ++k) EXPECT_DOUBLE_EQ(t.manifest.exits[k].depth_blocks, k + 1);
  const auto d = trace::read_trace(dir_ / "x.csv", {3, 6, 19});
  EXPECT_DOUBLE_EQ(d.manifest.exits[2].depth_blocks, 19);
  try {
    trace::read_trace(dir_ / "x.csv", {1, 2});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("K = 3"), std::string::npos) << e.what();
  }
}

TEST_F(TraceIo, CsvErrorsNameFileAndLine) {
  write_text_atomic(dir_ / "nan.csv",
                    "conf_1,conf_2,pred_1,pred_2,label\n0.1,0.5,1,2,3\n0.2,nan,1,2,3\n");
  expect_error(dir_ / "nan.csv", {"nan.csv", "line 3", "exit 2", "[0, 1]"});
  write_text_atomic(dir_ / "big.csv", "conf_1,conf_2,pred_1,pred_2,label\n1.2,0.5,1,2,3\n");
  expect_error(dir_ / "big.csv", {"big.csv", "line 2", "1.2", "[0, 1]"});
  write_text_atomic(dir_ / "nolabel.csv", "conf_1,conf_2,pred_1,pred_2\n0.1,0.5,1,2\n");
  expect_error(dir_ / "nolabel.csv", {"nolabel.csv", "line 1", "label"});
  write_text_atomic(dir_ / "short.csv",
                    "conf_1,conf_2,pred_1,pred_2,label\n0.1,0.5,1,2,3\n0.1,0.5,1,2\n");
  expect_error(dir_ / "short.csv", {"short.csv", "line 3", "4 fields", "expected 5"});
  write_text_atomic(dir_ / "emptylabel.csv", "conf_1,pred_1,label\n0.1,1,\n");
  expect_error(dir_ / "emptylabel.csv", {"line 2", "label"});
  write_text_atomic(dir_ / "neg.csv", "conf_1,pred_1,label\n0.1,1,-1\n");
  expect_error(dir_ / "neg.csv", {"line 2", "label -1"});
  expect_error(dir_ / "missing.csv", {"missing.csv"}, ErrorCode::kIo);
}

TEST_F(TraceIo, NanConfidenceNamesFileAndRow) {
  const auto d = write_small();
  std::vector<std::size_t> shape;
  auto conf = trace::read_npy_f32(d / "conf.npy", shape);
  conf[7 * 3 + 1] = std::numeric_limits<float>::quiet_NaN();
  trace::write_npy(d / "conf.npy", conf, shape);
  expect_error(d, {"conf.npy", "row 7", "exit 2", "nan"});
  conf[7 * 3 + 1] = 1.5f;
  trace::write_npy(d / "conf.npy", conf, shape);
  expect_error(d, {"conf.npy", "row 7", "1.5", "[0, 1]"});
}

TEST_F(TraceIo, WrongShapeIsRejected) {
  const auto d = write_small();
  trace::write_npy(d / "pred.npy", std::vector<std::int32_t>(40, 1), {20, 2});
  expect_error(d, {"pred.npy", "shape"});
  const auto e = write_small();
  trace::write_npy(e / "label.npy", std::vector<std::int32_t>(19, 1), {19});
  expect_error(e, {"label.npy", "(20,)"});
  const auto f = write_small();
  trace::write_npy(f / "conf.npy", std::vector<float>(60, 0.5f), {60});
  expect_error(f, {"conf.npy", "2-D"});
}

TEST_F(TraceIo, BadVersionAndTamperedManifest) {
  const auto d = write_small();
  auto j = nlohmann::json::parse(read_text_file(d / "manifest.json"));
  auto bad = j;
  bad["format_version"] = 3;
  write_text_atomic(d / "manifest.json", bad.dump());
  expect_error(d, {"manifest.json", "format_version 3", "expected 1 to 2"});
  bad = j;  // version 1 directories (before calibration) still read
  bad["format_version"] = 1;
  write_text_atomic(d / "manifest.json", bad.dump());
  EXPECT_EQ(trace::read_trace(d).manifest.format_version, 1);
  bad = j;
  bad["exits"].erase(bad["exits"].begin());
  write_text_atomic(d / "manifest.json", bad.dump());
  expect_error(d, {"manifest.json", "2 exits", "K = 3"});
  bad = j;
  bad["sample_ids"].erase(bad["sample_ids"].begin());
  write_text_atomic(d / "manifest.json", bad.dump());
  expect_error(d, {"manifest.json", "19 sample_ids", "N = 20"});
  bad = j;
  bad["exitz"] = 1;
  write_text_atomic(d / "manifest.json", bad.dump());
  expect_error(d, {"manifest.json", "exitz", "exits"}, ErrorCode::kUsage);
  write_text_atomic(d / "manifest.json", "{\"format_version\": 1, ");
  expect_error(d, {"manifest.json", "malformed"});
}

TEST_F(TraceIo, TruncatedAndForeignNpy) {
  const auto d = write_small();
  std::string bytes = read_text_file(d / "conf.npy");
  write_text_atomic(d / "conf.npy", bytes.substr(0, bytes.size() - 9));
  expect_error(d, {"conf.npy", "truncated", "240 bytes"});
  write_text_atomic(d / "conf.npy", bytes.substr(0, 30));
  expect_error(d, {"conf.npy", "truncated"});
  std::string v3 = bytes;
  v3[6] = 3;
  write_text_atomic(d / "conf.npy", v3);
  expect_error(d, {"conf.npy", "version 3.0"});
  write_text_atomic(d / "conf.npy", "hello world, not numpy");
  expect_error(d, {"conf.npy", "not an NPY file"});
}

TEST_F(TraceIo, ValidateInMemory) {
  auto t = synth::synthetic_trace(5, {0.5, 0.6}, 1);
  EXPECT_NO_THROW(trace::validate(*t, "mem"));
  t->pred[3] = 10;  // num_classes = 10
  try {
    trace::validate(*t, "mem");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pred row 1"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("[0, 9]"), std::string::npos) << e.what();
  }
  t->pred[3] = 1;
  t->label.pop_back();
  EXPECT_THROW(trace::validate(*t, "mem"), Error);
  EXPECT_THROW(trace::write_trace(dir_ / "bad", *t), Error);
  EXPECT_FALSE(fs::exists(dir_ / "bad" / "manifest.json"));
}

TEST_F(TraceIo, CalibrationRoundTripsAndIsValidated) {
  auto t = synth::synthetic_trace(6, {0.4, 0.6, 0.8}, 4);
  auto& c = t->manifest.calibration;
  c.temperature = {1.5, 1.2, 0.9};
  c.ece_before = {0.10, 0.08, 0.05};
  c.ece_after = {0.02, 0.03, 0.04};
  c.split = "val";
  c.samples = 600;
  t->conf_cal = t->conf;
  t->entropy_cal.assign(18, 0.5f);
  t->margin_cal.assign(18, 0.25f);
  const auto d = dir_ / "cal";
  trace::write_trace(d, *t);
  const auto back = trace::read_trace(d);
  EXPECT_EQ(back.manifest.calibration.temperature, c.temperature);
  EXPECT_EQ(back.manifest.calibration.ece_after, c.ece_after);
  EXPECT_EQ(back.manifest.calibration.samples, 600u);
  EXPECT_EQ(back.conf_cal, t->conf_cal);
  EXPECT_EQ(back.entropy_cal, t->entropy_cal);
  EXPECT_EQ(back.margin_cal, t->margin_cal);
  // A non-positive temperature, a missing calibrated column, columns without calibration.
  auto j = nlohmann::json::parse(read_text_file(d / "manifest.json"));
  auto bad = j;
  bad["calibration"]["temperature"][1] = 0.0;
  write_text_atomic(d / "manifest.json", bad.dump());
  expect_error(d, {"calibration.temperature[1]", "must be > 0"});
  write_text_atomic(d / "manifest.json", j.dump());
  fs::remove(d / "margin_cal.npy");
  expect_error(d, {"margin_cal", "expected N×K"});
  bad = j;
  bad.erase("calibration");
  write_text_atomic(d / "manifest.json", bad.dump());
  expect_error(d, {"calibrated columns", "no calibration"});
}
