#include <gtest/gtest.h>

#include <torch/torch.h>

#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/model/checkpoint.hpp"
#include "isplitee/model/multi_exit_net.hpp"
#include "isplitee/model/runtime.hpp"
#include "isplitee/train/trainer.hpp"
#include "unit/train/tiny_fixture.hpp"

using namespace isplitee;
namespace fs = std::filesystem;

namespace {

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model::configure_runtime(1);  // bitwise comparisons below need one fixed thread count
    root_ = tiny::fresh_dir("train-test");
    tiny::make_tiny_folder(root_ / "data");
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  train::TrainJob job(const std::string& out) const {
    train::TrainJob j;
    j.name = "tiny";
    j.data = tiny::tiny_data(root_ / "data");
    j.model = tiny::tiny_model();
    j.train.epochs = 3;
    j.train.batch_size = 16;
    j.train.lr_backbone = 1e-2;
    j.train.lr_final_head = 1e-2;
    j.train.lr_exit_heads = 1e-2;
    j.train.workers = 1;
    j.train.log_every = 2;
    j.seed = 7;
    j.output_dir = root_ / out;
    j.cache_dir = root_ / "cache";
    j.progress = false;
    return j;
  }

  static bool same_weights(const fs::path& a, const fs::path& b) {
    auto na = model::load_checkpoint(a).net, nb = model::load_checkpoint(b).net;
    const auto pa = na->named_parameters(), pb = nb->named_parameters();
    if (pa.size() != pb.size()) return false;
    for (const auto& item : pa)
      if (!torch::equal(item.value(), pb[item.key()])) return false;
    const auto ba = na->named_buffers(), bb = nb->named_buffers();
    for (const auto& item : ba)
      if (!torch::equal(item.value(), bb[item.key()])) return false;
    return true;
  }

  static fs::path root_;
};
fs::path TrainerTest::root_;

}  // namespace

TEST_F(TrainerTest, AFewEpochsLowerTheLossOfEveryExit) {
  auto j = job("lower");
  // Start from a saved random init so that its losses can be measured first.
  torch::manual_seed(1);
  auto net = model::build_model(j.model);
  const auto init = root_ / "init.pt";
  model::save_checkpoint(init, *net, j.model);
  const auto before = train::evaluate_checkpoint(init, j.data, "train", 0, 64, 1);
  j.train.init_checkpoint = init.string();
  j.train.augment.kind = "none";
  j.train.epochs = 4;
  const auto r = train::train_model(j);
  ASSERT_TRUE(r.completed);
  const auto after = train::evaluate_checkpoint(r.best_checkpoint, j.data, "train", 0, 64, 1);
  ASSERT_EQ(before.exit_loss.size(), after.exit_loss.size());
  ASSERT_GE(after.exit_loss.size(), 2u);
  for (std::size_t k = 0; k < after.exit_loss.size(); ++k)
    EXPECT_LT(after.exit_loss[k], before.exit_loss[k]) << "exit " << k + 1;
  // Every output file exists; metrics.jsonl has one epoch line per epoch plus step lines.
  for (const char* f : {"best.pt", "last.pt", "last.optim.pt", "train_state.json", "metrics.jsonl",
                        "train_result.json"})
    EXPECT_TRUE(fs::exists(j.output_dir / f)) << f;
  const auto metrics = read_text_file(j.output_dir / "metrics.jsonl");
  std::size_t epochs = 0, steps = 0, pos = 0;
  while ((pos = metrics.find("\"type\":\"epoch\"", pos)) != std::string::npos) ++epochs, ++pos;
  pos = 0;
  while ((pos = metrics.find("\"type\":\"step\"", pos)) != std::string::npos) ++steps, ++pos;
  EXPECT_EQ(epochs, 4u);
  EXPECT_GT(steps, 0u);
  EXPECT_EQ(r.history.size(), 4u);
  EXPECT_EQ(r.test_accuracy.size(), after.accuracy.size());
}

TEST_F(TrainerTest, BestCheckpointReloadsToTheSameOutputs) {
  auto j = job("reload");
  const auto r = train::train_model(j);
  ASSERT_GE(r.best_epoch, 1);
  // The reloaded best checkpoint scores exactly what the in-memory network scored at that epoch.
  const auto ev = train::evaluate_checkpoint(r.best_checkpoint, j.data, "val", 0, 256, 1);
  const auto& rec = r.history.at(static_cast<std::size_t>(r.best_epoch - 1));
  ASSERT_TRUE(rec.best);
  EXPECT_EQ(ev.accuracy, rec.val_accuracy);
  for (std::size_t k = 0; k < ev.exit_loss.size(); ++k)
    EXPECT_NEAR(ev.exit_loss[k], rec.val_exit_loss[k], 1e-9);
  // save -> load -> identical outputs.
  auto a = model::load_checkpoint(r.best_checkpoint);
  // The trainer stores the preprocessing the network learned with.
  EXPECT_TRUE(a.preprocess_stored);
  EXPECT_EQ(data::to_json(a.preprocess), data::to_json(j.data.preprocess));
  model::save_checkpoint(root_ / "copy.pt", *a.net, a.config);
  auto b = model::load_checkpoint(root_ / "copy.pt");
  const auto x = torch::randn({5, 1, 16, 16});
  const auto ya = a.net->forward(x), yb = b.net->forward(x);
  ASSERT_EQ(ya.size(), yb.size());
  for (std::size_t k = 0; k < ya.size(); ++k)
    EXPECT_TRUE(torch::equal(ya[k], yb[k])) << "exit " << k + 1;
}

TEST_F(TrainerTest, ResumeAfterInterruptionEndsWithTheSameWeights) {
  auto full = job("full");
  full.model.dropout = 0.3;  // dropout draws must replay too
  const auto r_full = train::train_model(full);
  ASSERT_TRUE(r_full.completed);

  auto part = job("part");
  part.model.dropout = 0.3;
  part.stop_after_epochs = 1;
  const auto r1 = train::train_model(part);
  EXPECT_FALSE(r1.completed);
  EXPECT_EQ(r1.epochs_run, 1);
  part.stop_after_epochs = 0;
  part.resume = true;
  const auto r2 = train::train_model(part);
  ASSERT_TRUE(r2.completed);
  EXPECT_EQ(r2.epochs_run, 3);
  EXPECT_TRUE(same_weights(full.output_dir / "last.pt", part.output_dir / "last.pt"));
  EXPECT_TRUE(same_weights(full.output_dir / "best.pt", part.output_dir / "best.pt"));
  EXPECT_EQ(r2.test_accuracy, r_full.test_accuracy);
  ASSERT_EQ(r2.history.size(), r_full.history.size());
  for (std::size_t e = 0; e < r2.history.size(); ++e)
    EXPECT_EQ(r2.history[e].val_loss, r_full.history[e].val_loss) << "epoch " << e + 1;

  // The same seed reproduces the run; a different seed does not.
  auto again = job("again");
  again.model.dropout = 0.3;
  train::train_model(again);
  EXPECT_TRUE(same_weights(full.output_dir / "last.pt", again.output_dir / "last.pt"));
  auto other = job("other");
  other.model.dropout = 0.3;
  other.seed = 8;
  train::train_model(other);
  EXPECT_FALSE(same_weights(full.output_dir / "last.pt", other.output_dir / "last.pt"));
}

TEST_F(TrainerTest, ResumeRefusesAnotherConfigAndANonEmptyDirNeedsForce) {
  auto j = job("refuse");
  j.train.epochs = 1;
  train::train_model(j);
  j.train.epochs = 2;
  j.train.lr_backbone = 0.5;
  j.resume = true;
  try {
    train::train_model(j);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUsage);
    EXPECT_NE(std::string(e.what()).find("different configuration"), std::string::npos) << e.what();
  }
  j.resume = false;
  EXPECT_THROW(train::train_model(j), Error);  // output dir not empty
  j.force = true;
  EXPECT_NO_THROW(train::train_model(j));
}

TEST_F(TrainerTest, MismatchedClassCountIsAUsageError) {
  auto j = job("classes");
  j.model.num_classes = 5;
  try {
    train::train_model(j);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("num_classes"), std::string::npos) << e.what();
  }
}

TEST_F(TrainerTest, EnsureModelTrainsOnceThenReuses) {
  auto j = job("unused");
  j.train.epochs = 1;
  const auto p1 = train::ensure_model(j);
  ASSERT_TRUE(fs::exists(p1));
  EXPECT_NE(p1.string().find("tiny-" + train::train_config_hash(j).substr(0, 16)),
            std::string::npos);
  const auto t1 = fs::last_write_time(p1);
  const auto p2 = train::ensure_model(j);
  EXPECT_EQ(p1, p2);
  EXPECT_EQ(fs::last_write_time(p2), t1);  // reused, not retrained
  // A changed recipe is another model.
  j.train.lr_backbone = 0.02;
  EXPECT_NE(train::ensure_model(j).parent_path(), p1.parent_path());
  // Keys that cannot change the weights do not change the hash.
  auto k = job("unused");
  k.train.epochs = 1;
  k.train.workers = 3;
  k.train.log_every = 0;
  auto base = job("unused");
  base.train.epochs = 1;
  EXPECT_EQ(train::train_config_hash(k), train::train_config_hash(base));
  // An explicit checkpoint is used as-is.
  k.checkpoint = p1;
  EXPECT_EQ(train::ensure_model(k), p1);
}
