// Preprocessing to tensors and threaded batch loading.
#include "isplitee/data/loader.hpp"

#include <algorithm>
#include <cmath>
#include <exception>
#include <future>
#include <thread>

#include <torch/torch.h>
#include <opencv2/imgproc.hpp>

#include "isplitee/common/error.hpp"

namespace isplitee::data {
namespace {

double pick(const std::vector<double>& v, int c) {
  return v.size() == 1 ? v[0] : v[static_cast<std::size_t>(c)];
}

// Writes one preprocessed uint8 image into a C×H×W float slot, normalised.
void fill_chw(const cv::Mat& img, const Preprocess& p, float* dst) {
  const int C = img.channels(), H = img.rows, W = img.cols;
  ISPLITEE_CHECK(p.mean.size() == 1 || static_cast<int>(p.mean.size()) == C, "preprocess.mean has ",
                 p.mean.size(), " values but images have ", C, " channels (give 1 or ", C, ")");
  ISPLITEE_CHECK(p.std.size() == 1 || static_cast<int>(p.std.size()) == C, "preprocess.std has ",
                 p.std.size(), " values but images have ", C, " channels (give 1 or ", C, ")");
  for (int c = 0; c < C; ++c) {
    const float scale = static_cast<float>(1.0 / (255.0 * pick(p.std, c)));
    const float shift = static_cast<float>(pick(p.mean, c) / pick(p.std, c));
    float* plane = dst + static_cast<std::size_t>(c) * H * W;
    for (int y = 0; y < H; ++y) {
      const std::uint8_t* row = img.ptr<std::uint8_t>(y);
      for (int x = 0; x < W; ++x) plane[y * W + x] = row[x * C + c] * scale - shift;
    }
  }
}

}  // namespace

cv::Mat preprocess_image(const cv::Mat& img, const Preprocess& p) {
  ISPLITEE_CHECK(
      !img.empty() && img.depth() == CV_8U && (img.channels() == 1 || img.channels() == 3),
      "preprocess: expects a uint8 image with 1 or 3 channels (got type ", img.type(), ")");
  cv::Mat out = img;
  if (p.channels == 3 && out.channels() == 1) cv::cvtColor(out, out, cv::COLOR_GRAY2RGB);
  if (p.channels == 1 && out.channels() == 3) cv::cvtColor(out, out, cv::COLOR_RGB2GRAY);
  if (p.resize > 0) {
    const int shorter = std::min(out.rows, out.cols);
    if (shorter != p.resize) {
      const double s = static_cast<double>(p.resize) / shorter;
      // torchvision Resize(int): the shorter side becomes `resize`, the longer is truncated.
      const int w = out.cols <= out.rows ? p.resize : static_cast<int>(out.cols * s);
      const int h = out.rows < out.cols ? p.resize : static_cast<int>(out.rows * s);
      cv::Mat r;
      cv::resize(out, r, cv::Size(w, h), 0, 0, s < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
      out = r;
    }
  }
  if (p.crop > 0) {
    ISPLITEE_CHECK(p.crop <= out.rows && p.crop <= out.cols, "preprocess.crop ", p.crop,
                   " is larger than the ", out.cols, "x", out.rows,
                   " image (after resize); set preprocess.resize >= crop");
    // torchvision CenterCrop: top = round((H − crop) / 2).
    const int top = static_cast<int>(std::lround((out.rows - p.crop) / 2.0));
    const int left = static_cast<int>(std::lround((out.cols - p.crop) / 2.0));
    out = out(cv::Rect(left, top, p.crop, p.crop));
  }
  return out.isContinuous() && out.data != img.data ? out : out.clone();
}

torch::Tensor to_tensor(const cv::Mat& img, const Preprocess& p) {
  const cv::Mat m = preprocess_image(img, p);
  auto t = torch::empty({m.channels(), m.rows, m.cols}, torch::kFloat32);
  fill_chw(m, p, t.data_ptr<float>());
  return t;
}

Batch load_batch(const Dataset& ds, const std::vector<std::size_t>& indices, const Preprocess& p,
                 const SampleTransform& transform, int workers) {
  ISPLITEE_CHECK(!indices.empty(), "load_batch: no indices");
  const std::size_t n = indices.size();
  std::vector<cv::Mat> imgs(n);
  auto work = [&](std::size_t i) {
    cv::Mat m = ds.image(indices[i]);
    if (transform) m = transform(m, indices[i]);
    imgs[i] = preprocess_image(m, p);
  };
  int nw =
      workers > 0 ? workers : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  nw = static_cast<int>(std::min<std::size_t>(static_cast<std::size_t>(nw), n));
  if (nw <= 1) {
    for (std::size_t i = 0; i < n; ++i) work(i);
  } else {
    std::vector<std::exception_ptr> errors(static_cast<std::size_t>(nw));
    std::vector<std::thread> threads;
    for (int w = 0; w < nw; ++w)
      threads.emplace_back([&, w] {
        try {
          for (std::size_t i = static_cast<std::size_t>(w); i < n;
               i += static_cast<std::size_t>(nw))
            work(i);
        } catch (...) {
          errors[static_cast<std::size_t>(w)] = std::current_exception();
        }
      });
    for (auto& t : threads) t.join();
    for (auto& e : errors)
      if (e) std::rethrow_exception(e);
  }
  const cv::Mat& first = imgs[0];
  for (std::size_t i = 1; i < n; ++i)
    ISPLITEE_CHECK_CODE(imgs[i].size() == first.size() && imgs[i].channels() == first.channels(),
                        ErrorCode::kData, ds.name(), ": sample ", indices[i], " is ", imgs[i].cols,
                        "x", imgs[i].rows, "x", imgs[i].channels(),
                        " after preprocessing but sample ", indices[0], " is ", first.cols, "x",
                        first.rows, "x", first.channels(), "; set data.preprocess.resize/crop");
  Batch b;
  b.indices = indices;
  b.images = torch::empty({static_cast<long>(n), first.channels(), first.rows, first.cols},
                          torch::kFloat32);
  b.labels = torch::empty({static_cast<long>(n)}, torch::kInt64);
  b.sample_ids = torch::empty({static_cast<long>(n)}, torch::kInt64);
  const std::size_t stride = static_cast<std::size_t>(first.channels()) * first.rows * first.cols;
  float* dst = b.images.data_ptr<float>();
  auto* lab = b.labels.data_ptr<std::int64_t>();
  auto* ids = b.sample_ids.data_ptr<std::int64_t>();
  for (std::size_t i = 0; i < n; ++i) {
    fill_chw(imgs[i], p, dst + i * stride);
    lab[i] = ds.label(indices[i]);
    ids[i] = ds.sample_id(indices[i]);
  }
  return b;
}

struct BatchLoader::State {
  std::shared_ptr<const Dataset> ds;
  std::vector<std::size_t> order;
  std::size_t batch_size = 1;
  Preprocess p;
  SampleTransform transform;
  int workers = 1;
  std::size_t next_start = 0;
  std::future<Batch> pending;

  std::future<Batch> launch() {
    const std::size_t end = std::min(order.size(), next_start + batch_size);
    std::vector<std::size_t> idx(order.begin() + static_cast<std::ptrdiff_t>(next_start),
                                 order.begin() + static_cast<std::ptrdiff_t>(end));
    next_start = end;
    return std::async(std::launch::async, [this, idx = std::move(idx)] {
      return load_batch(*ds, idx, p, transform, workers);
    });
  }
};

BatchLoader::BatchLoader(std::shared_ptr<const Dataset> ds, std::vector<std::size_t> order,
                         std::size_t batch_size, Preprocess p, SampleTransform transform,
                         int workers)
    : state_(std::make_unique<State>()) {
  ISPLITEE_CHECK(ds != nullptr, "BatchLoader: null dataset");
  ISPLITEE_CHECK(batch_size > 0, "BatchLoader: batch size must be at least 1");
  state_->ds = std::move(ds);
  state_->order = std::move(order);
  state_->batch_size = batch_size;
  state_->p = std::move(p);
  state_->transform = std::move(transform);
  state_->workers = workers;
  if (!state_->order.empty()) state_->pending = state_->launch();
}

BatchLoader::~BatchLoader() {
  if (state_ && state_->pending.valid()) {
    try {
      state_->pending.get();
    } catch (...) {  // the error was never asked for; dropping it is right at destruction
    }
  }
}

std::size_t BatchLoader::num_batches() const noexcept {
  return (state_->order.size() + state_->batch_size - 1) / state_->batch_size;
}

bool BatchLoader::next(Batch& out) {
  if (!state_->pending.valid()) return false;
  out = state_->pending.get();  // rethrows a worker's error
  if (state_->next_start < state_->order.size()) state_->pending = state_->launch();
  return true;
}

cv::Mat random_crop(const cv::Mat& img, int size, int padding, Rng& rng) {
  ISPLITEE_CHECK(size > 0 && padding >= 0, "random_crop: size ", size, " must be > 0 and padding ",
                 padding, " >= 0");
  cv::Mat padded;
  cv::copyMakeBorder(img, padded, padding, padding, padding, padding, cv::BORDER_CONSTANT,
                     cv::Scalar::all(0));
  ISPLITEE_CHECK(size <= padded.rows && size <= padded.cols, "random_crop: crop ", size,
                 " exceeds the padded ", padded.cols, "x", padded.rows, " image");
  const int y =
      static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(padded.rows - size + 1)));
  const int x =
      static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(padded.cols - size + 1)));
  return padded(cv::Rect(x, y, size, size)).clone();
}

cv::Mat random_hflip(const cv::Mat& img, Rng& rng, double p) {
  if (rng.uniform() < p) {
    cv::Mat out;
    cv::flip(img, out, 1);
    return out;
  }
  return img.clone();
}

}  // namespace isplitee::data
