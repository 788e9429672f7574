// The corruption kernels (constants from the public ImageNet-C generation scripts, docs/method.md
// §9). Each is written from the description of the corruption, in OpenCV, with the border modes and
// kernel rules the notes there pin down.
#include "corruptions.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "isplitee/common/error.hpp"

namespace isplitee::distort::detail {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Applies f to every float element (all channels) with the rng in row-major order, so the
// output depends only on the rng's stream.
template <typename F>
cv::Mat per_element(const cv::Mat& x, F f) {
  cv::Mat out = x.clone();
  const int n = out.cols * out.channels();
  for (int r = 0; r < out.rows; ++r) {
    float* p = out.ptr<float>(r);
    for (int i = 0; i < n; ++i) p[i] = f(p[i]);
  }
  return out;
}

cv::Mat gray_of(const cv::Mat& x) {
  if (x.channels() == 1) return x.clone();
  cv::Mat g;
  cv::cvtColor(x, g, cv::COLOR_RGB2GRAY);
  return g;
}

// A (H×W×1) map broadcast to the channels of x.
cv::Mat expand_channels(const cv::Mat& m, int channels) {
  if (channels == 1) return m;
  cv::Mat out;
  cv::merge(std::vector<cv::Mat>(static_cast<std::size_t>(channels), m), out);
  return out;
}

// PIL resampling coefficients for one axis (Imaging/Resample.c precompute_coeffs, BOX filter).
struct Coeffs {
  std::vector<int> first;
  std::vector<std::vector<double>> w;
};

Coeffs pil_box_coeffs(int in_size, int out_size) {
  Coeffs c;
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = 0.5 * filterscale;
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    std::vector<double> k;
    double ww = 0;
    for (int x = xmin; x < xmax; ++x) {
      const double t = (x - center + 0.5) * ss;
      const double v = (t > -0.5 && t <= 0.5) ? 1.0 : 0.0;
      k.push_back(v);
      ww += v;
    }
    if (ww > 0)
      for (auto& v : k) v /= ww;
    c.first.push_back(xmin);
    c.w.push_back(std::move(k));
  }
  return c;
}

}  // namespace

cv::Mat to_float(const cv::Mat& u8) {
  ISPLITEE_CHECK(u8.depth() == CV_8U && (u8.channels() == 1 || u8.channels() == 3),
                 "distortions need a uint8 image with 1 or 3 channels (got type ", u8.type(), ")");
  cv::Mat f;
  u8.convertTo(f, CV_32F, 1.0 / 255.0);
  return f;
}

cv::Mat to_u8(const cv::Mat& f) {
  cv::Mat u;
  // convertTo saturates and rounds to nearest; NaN never occurs (inputs are finite).
  f.convertTo(u, CV_8U, 255.0);
  return u;
}

// The separable Gaussian of one axis as an n×n matrix with the border folded in: row i holds the
// weights of output i over the n inputs. Used when the kernel is wider than the image (elastic
// transform's σ = 0.7·244 at 224 px), where a matrix product is exact and ~10× cheaper.
cv::Mat folded_gaussian_matrix(int n, double sigma, int radius, int border) {
  std::vector<double> w(static_cast<std::size_t>(2 * radius + 1));
  double z = 0;
  for (int t = -radius; t <= radius; ++t)
    z += w[static_cast<std::size_t>(t + radius)] = std::exp(-(t * t) / (2 * sigma * sigma));
  cv::Mat m = cv::Mat::zeros(n, n, CV_64F);
  for (int i = 0; i < n; ++i)
    for (int t = -radius; t <= radius; ++t)
      m.at<double>(i, cv::borderInterpolate(i + t, n, border)) +=
          w[static_cast<std::size_t>(t + radius)] / z;
  cv::Mat m32;
  m.convertTo(m32, CV_32F);
  return m32;
}

cv::Mat gaussian_sk(const cv::Mat& f, double sigma, int border, double truncate) {
  if (!(sigma > 0)) return f.clone();
  const int radius = static_cast<int>(truncate * sigma + 0.5);
  if (f.channels() == 1 && 2 * radius + 1 > std::max(f.rows, f.cols)) {
    const cv::Mat my = folded_gaussian_matrix(f.rows, sigma, radius, border);
    const cv::Mat mx = folded_gaussian_matrix(f.cols, sigma, radius, border);
    cv::Mat tmp, out;
    cv::gemm(my, f, 1.0, cv::noArray(), 0.0, tmp);
    cv::gemm(tmp, mx, 1.0, cv::noArray(), 0.0, out, cv::GEMM_2_T);
    return out;
  }
  cv::Mat out;
  cv::GaussianBlur(f, out, cv::Size(2 * radius + 1, 2 * radius + 1), sigma, sigma, border);
  return out;
}

cv::Mat clipped_zoom(const cv::Mat& f, double z) {
  const int h = f.rows, w = f.cols;
  const int ch = std::max(1, static_cast<int>(std::ceil(h / z)));
  const int cw = std::max(1, static_cast<int>(std::ceil(w / z)));
  const int top = (h - ch) / 2, left = (w - cw) / 2;
  cv::Mat crop = f(cv::Rect(left, top, cw, ch));
  const int zh = std::max(h, static_cast<int>(std::lround(ch * z)));
  const int zw = std::max(w, static_cast<int>(std::lround(cw * z)));
  cv::Mat zoomed;
  cv::resize(crop, zoomed, cv::Size(zw, zh), 0, 0, cv::INTER_LINEAR);
  const int tt = (zh - h) / 2, tl = (zw - w) / 2;
  return zoomed(cv::Rect(tl, tt, w, h)).clone();
}

cv::Mat motion_blur_kernel_apply(const cv::Mat& f, double radius, double sigma, double angle_deg) {
  // ImageMagick's motion blur: a one-sided Gaussian (centred on the pixel itself) along the angle,
  // width 2·radius + 1. Offsets beyond the image are dropped (the weights then sum to < 1).
  const int width = static_cast<int>(2 * radius + 1);
  std::vector<double> k(static_cast<std::size_t>(width));
  double z = 0;
  for (int i = 0; i < width; ++i) {
    k[static_cast<std::size_t>(i)] = std::exp(-(i * i) / (2 * sigma * sigma));
    z += k[static_cast<std::size_t>(i)];
  }
  const double py = width * std::sin(angle_deg * kPi / 180.0);
  const double px = width * std::cos(angle_deg * kPi / 180.0);
  const double hyp = std::hypot(py, px);
  // Sum of shifted copies (at most 2r+1 taps) on a replicate-padded image: exact, and ~4× faster
  // than a dense (4r+3)² filter2D kernel at 224 px.
  cv::Mat padded;
  cv::copyMakeBorder(f, padded, width, width, width, width, cv::BORDER_REPLICATE);
  cv::Mat out = cv::Mat::zeros(f.size(), f.type());
  for (int i = 0; i < width; ++i) {
    const int dy = -static_cast<int>(std::ceil(i * py / hyp - 0.5));
    const int dx = -static_cast<int>(std::ceil(i * px / hyp - 0.5));
    if (std::abs(dy) >= f.rows || std::abs(dx) >= f.cols) break;
    // shifted(y, x) = src(y − dy, x − dx)
    cv::scaleAdd(padded(cv::Rect(width - dx, width - dy, f.cols, f.rows)),
                 k[static_cast<std::size_t>(i)] / z, out, out);
  }
  return out;
}

cv::Mat plasma_fractal(int mapsize, double wibble_decay, Rng& rng) {
  ISPLITEE_ASSERT(mapsize >= 2 && (mapsize & (mapsize - 1)) == 0, "plasma map size ", mapsize);
  // Diamond-square on a torus; each new value is the mean of its 4 neighbours plus a uniform
  // perturbation ±wibble² (the reference multiplies wibble by uniform(−wibble, wibble)).
  const int n = mapsize;
  std::vector<double> m(static_cast<std::size_t>(n) * n, 0.0);
  auto at = [&](int r, int c) -> double& {
    r = ((r % n) + n) % n;
    c = ((c % n) + n) % n;
    return m[static_cast<std::size_t>(r) * n + c];
  };
  double wibble = 100.0;
  for (int step = n; step >= 2; step /= 2) {
    const int half = step / 2;
    // squares: centres of each step×step cell from its 4 corners
    for (int r = 0; r < n; r += step)
      for (int c = 0; c < n; c += step) {
        const double sum = at(r, c) + at(r + step, c) + at(r, c + step) + at(r + step, c + step);
        at(r + half, c + half) = sum / 4 + wibble * rng.uniform(-wibble, wibble);
      }
    // diamonds: edge midpoints from the two corners and the two adjacent centres
    for (int r = 0; r < n; r += step)
      for (int c = 0; c < n; c += step) {
        // top edge midpoint (r, c + half)
        const double top =
            at(r, c) + at(r, c + step) + at(r + half, c + half) + at(r - half, c + half);
        at(r, c + half) = top / 4 + wibble * rng.uniform(-wibble, wibble);
        // left edge midpoint (r + half, c)
        const double left =
            at(r, c) + at(r + step, c) + at(r + half, c + half) + at(r + half, c - half);
        at(r + half, c) = left / 4 + wibble * rng.uniform(-wibble, wibble);
      }
    wibble /= wibble_decay;
  }
  const auto [mn, mx] = std::minmax_element(m.begin(), m.end());
  const double lo = *mn, range = std::max(*mx - *mn, 1e-12);
  cv::Mat out(n, n, CV_32F);
  for (int r = 0; r < n; ++r)
    for (int c = 0; c < n; ++c)
      out.at<float>(r, c) =
          static_cast<float>((m[static_cast<std::size_t>(r) * n + c] - lo) / range);
  return out;
}

cv::Mat pil_box_resize(const cv::Mat& f, int out_w, int out_h) {
  const Coeffs cx = pil_box_coeffs(f.cols, out_w), cy = pil_box_coeffs(f.rows, out_h);
  const int ch = f.channels();
  cv::Mat tmp(f.rows, out_w, f.type());
  for (int r = 0; r < f.rows; ++r) {
    const float* s = f.ptr<float>(r);
    float* d = tmp.ptr<float>(r);
    for (int x = 0; x < out_w; ++x)
      for (int k = 0; k < ch; ++k) {
        double acc = 0;
        const auto& w = cx.w[static_cast<std::size_t>(x)];
        for (std::size_t j = 0; j < w.size(); ++j)
          acc += w[j] * s[(cx.first[static_cast<std::size_t>(x)] + static_cast<int>(j)) * ch + k];
        d[x * ch + k] = static_cast<float>(acc);
      }
  }
  cv::Mat out(out_h, out_w, f.type());
  for (int y = 0; y < out_h; ++y) {
    float* d = out.ptr<float>(y);
    const auto& w = cy.w[static_cast<std::size_t>(y)];
    std::fill(d, d + out_w * ch, 0.f);
    for (std::size_t j = 0; j < w.size(); ++j) {
      const float* s = tmp.ptr<float>(cy.first[static_cast<std::size_t>(y)] + static_cast<int>(j));
      for (int i = 0; i < out_w * ch; ++i) d[i] += static_cast<float>(w[j]) * s[i];
    }
  }
  return out;
}

cv::Mat frost_texture(int h, int w, double scale, Rng& rng) {
  // Procedural stand-in for the reference's frost photographs (not redistributable/downloadable):
  // a fractal haze plus dendritic ice needles (random straight needles with side branches at ±60°),
  // slightly blurred and tinted blue-white. It is drawn at "photo resolution" (the image size /
  // scale, as the reference crops a photo resized by `scale`) and area-resized to the image.
  const int ph = std::max(8, static_cast<int>(std::lround(h / scale)));
  const int pw = std::max(8, static_cast<int>(std::lround(w / scale)));
  int map = 8;
  while (map < std::max(ph, pw)) map *= 2;
  cv::Mat haze = plasma_fractal(map, 1.6, rng)(cv::Rect(0, 0, pw, ph)).clone();
  haze = haze * 90.0 + 30.0;  // 30–120: the frosted-glass background
  cv::Mat needles = cv::Mat::zeros(ph, pw, CV_32F);
  const int count = std::max(4, ph * pw / 350);
  for (int i = 0; i < count; ++i) {
    const double x0 = rng.uniform(0, pw), y0 = rng.uniform(0, ph);
    const double ang = rng.uniform(0, 2 * kPi);
    const double len = rng.uniform(6, 36);
    const float val = static_cast<float>(rng.uniform(140, 255));
    const cv::Point2d p0(x0, y0), p1(x0 + len * std::cos(ang), y0 + len * std::sin(ang));
    cv::line(needles, p0, p1, cv::Scalar(val), 1, cv::LINE_AA);
    const int branches = 2 + static_cast<int>(rng.uniform_int(3));
    for (int b = 0; b < branches; ++b) {
      const double t = rng.uniform(0.2, 0.9);
      const cv::Point2d q0 = p0 + t * (p1 - p0);
      const double ba = ang + (rng.uniform() < 0.5 ? -1 : 1) * kPi / 3;
      const double bl = len * rng.uniform(0.15, 0.4);
      cv::line(needles, q0, q0 + cv::Point2d(bl * std::cos(ba), bl * std::sin(ba)),
               cv::Scalar(val * 0.85), 1, cv::LINE_AA);
    }
  }
  cv::GaussianBlur(needles, needles, cv::Size(3, 3), 0.6);
  cv::Mat v = cv::max(haze, needles);
  cv::Mat v_small;
  cv::resize(v, v_small, cv::Size(w, h), 0, 0, cv::INTER_AREA);
  // Tint: frost photos are blue-white (R < G < B).
  std::vector<cv::Mat> rgb{v_small * 0.86, v_small * 0.94, v_small * 1.0};
  cv::Mat out;
  cv::merge(rgb, out);
  return cv::min(out, 255.0);
}

cv::Mat gaussian_noise(const cv::Mat& x, double sigma, Rng& rng) {
  return per_element(x, [&](float v) { return static_cast<float>(v + sigma * rng.normal()); });
}

cv::Mat shot_noise(const cv::Mat& x, double photons, Rng& rng) {
  return per_element(x, [&](float v) {
    return static_cast<float>(static_cast<double>(rng.poisson(std::max(0.0, v * photons))) /
                              photons);
  });
}

cv::Mat impulse_noise(const cv::Mat& x, double amount, Rng& rng) {
  // skimage random_noise('s&p'): each channel element flips independently with probability
  // `amount`, to salt or pepper with equal odds.
  return per_element(x, [&](float v) {
    const double flip = rng.uniform(), salt = rng.uniform();
    if (flip < amount) return salt < 0.5 ? 1.f : 0.f;
    return v;
  });
}

cv::Mat speckle_noise(const cv::Mat& x, double sigma, Rng& rng) {
  return per_element(x, [&](float v) { return static_cast<float>(v + v * sigma * rng.normal()); });
}

cv::Mat gaussian_blur(const cv::Mat& x, double sigma) {
  return gaussian_sk(x, sigma, cv::BORDER_REPLICATE);
}

cv::Mat gaussian_blur_adaee(const cv::Mat& x, double sigma) {
  // AdaEE rule (docs/method.md §9): kernel 4σ+1 (rounded to the next odd size) for σ ≥ 1, else 5;
  // cv2.GaussianBlur's default border (reflect-101).
  int k = 5;
  if (sigma >= 1) {
    k = static_cast<int>(std::lround(4 * sigma + 1));
    if (k % 2 == 0) ++k;
  }
  cv::Mat out;
  cv::GaussianBlur(x, out, cv::Size(k, k), sigma, sigma, cv::BORDER_REFLECT_101);
  return out;
}

cv::Mat glass_blur(const cv::Mat& x, double sigma, int max_delta, int iterations, Rng& rng) {
  // Blur, quantise to 8 bits as the reference does, then locally shuffle pixels: sweep from the
  // bottom-right, swapping each pixel with a random neighbour within [−d, d), then blur again.
  cv::Mat u = to_u8(gaussian_sk(x, sigma, cv::BORDER_REPLICATE));
  const int d = max_delta, H = u.rows, W = u.cols, ch = u.channels();
  for (int it = 0; it < iterations; ++it)
    for (int h = H - d - 1; h >= d; --h)  // reference range(H − d, d, −1) on 0-based rows
      for (int w = W - d - 1; w >= d; --w) {
        const int dx = static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(2 * d))) - d;
        const int dy = static_cast<int>(rng.uniform_int(static_cast<std::uint64_t>(2 * d))) - d;
        const int hp = std::clamp(h + dy, 0, H - 1), wp = std::clamp(w + dx, 0, W - 1);
        std::uint8_t* a = u.ptr<std::uint8_t>(h) + w * ch;
        std::uint8_t* b = u.ptr<std::uint8_t>(hp) + wp * ch;
        for (int k = 0; k < ch; ++k) std::swap(a[k], b[k]);
      }
  return gaussian_sk(to_float(u), sigma, cv::BORDER_REPLICATE);
}

cv::Mat defocus_blur(const cv::Mat& x, double radius, double alias_sigma) {
  // Disk X²+Y² ≤ r² on arange(−8, 9) (±r when r > 8), normalised, anti-aliased by a 3×3 (5×5)
  // Gaussian, then convolved per channel with reflect-101 borders (cv2.filter2D's default).
  const int half = radius <= 8 ? 8 : static_cast<int>(radius);
  const int ks = radius <= 8 ? 3 : 5;
  cv::Mat disk(2 * half + 1, 2 * half + 1, CV_32F);
  for (int r = -half; r <= half; ++r)
    for (int c = -half; c <= half; ++c)
      disk.at<float>(r + half, c + half) = (r * r + c * c <= radius * radius) ? 1.f : 0.f;
  disk /= cv::sum(disk)[0];
  cv::Mat kernel;
  cv::GaussianBlur(disk, kernel, cv::Size(ks, ks), alias_sigma);
  cv::Mat out;
  cv::filter2D(x, out, CV_32F, kernel, cv::Point(-1, -1), 0, cv::BORDER_REFLECT_101);
  return out;
}

cv::Mat motion_blur(const cv::Mat& x, double radius, double sigma, Rng& rng) {
  const double angle = rng.uniform(-45, 45);
  return motion_blur_kernel_apply(x, radius, sigma, angle);
}

cv::Mat zoom_blur(const cv::Mat& x, double end, double step) {
  // Mean of the image and its zooms by arange(1, end, step) (numpy's length rule).
  const int n = static_cast<int>(std::ceil((end - 1.0) / step));
  cv::Mat acc = x.clone();
  for (int i = 0; i < n; ++i) acc += clipped_zoom(x, 1.0 + i * step);
  return acc / static_cast<double>(n + 1);
}

cv::Mat snow(const cv::Mat& x, const std::vector<double>& c, Rng& rng) {
  // c = (mean, std, zoom, threshold, blur radius, blur sigma, blend)
  cv::Mat layer(x.rows, x.cols, CV_32F);
  for (int r = 0; r < layer.rows; ++r)
    for (int q = 0; q < layer.cols; ++q)
      layer.at<float>(r, q) = static_cast<float>(rng.normal(c[0], c[1]));
  layer = clipped_zoom(layer, c[2]);
  cv::threshold(layer, layer, c[3], 0, cv::THRESH_TOZERO);  // keep values > thr, zero the rest
  layer = cv::min(cv::max(layer, 0.0), 1.0);
  // The reference passes the layer through an 8-bit image for ImageMagick's motion blur.
  layer = to_float(to_u8(layer));
  const double angle = rng.uniform(-135, -45);
  layer = motion_blur_kernel_apply(layer, c[4], c[5], angle);
  cv::Mat g = gray_of(x) * 1.5 + 0.5;
  cv::Mat bright = cv::max(x, expand_channels(g, x.channels()));
  cv::Mat out = c[6] * x + (1 - c[6]) * bright;
  cv::Mat flipped;
  cv::flip(layer, flipped, -1);  // np.rot90(layer, k=2)
  cv::Mat flakes = layer + flipped;
  return out + expand_channels(flakes, x.channels());
}

cv::Mat frost(const cv::Mat& x, double img_w, double frost_w, double texture_scale, Rng& rng) {
  cv::Mat tex = frost_texture(x.rows, x.cols, texture_scale, rng) / 255.0;
  if (x.channels() == 1) cv::cvtColor(tex, tex, cv::COLOR_RGB2GRAY);
  return img_w * x + frost_w * tex;
}

cv::Mat fog(const cv::Mat& x, double amplitude, double decay, int mapsize, Rng& rng) {
  double mx = 0;
  cv::minMaxLoc(x.reshape(1), nullptr, &mx);
  cv::Mat p = plasma_fractal(mapsize, decay, rng)(cv::Rect(0, 0, x.cols, x.rows));
  cv::Mat out = x + amplitude * expand_channels(p, x.channels());
  return out * (mx / (mx + amplitude));
}

cv::Mat brightness(const cv::Mat& x, double delta) {
  if (x.channels() == 1) return x + delta;  // HSV value of a gray pixel is the pixel
  cv::Mat hsv;
  cv::cvtColor(x, hsv, cv::COLOR_RGB2HSV);
  std::vector<cv::Mat> ch;
  cv::split(hsv, ch);
  ch[2] = cv::min(cv::max(ch[2] + delta, 0.0), 1.0);
  cv::merge(ch, hsv);
  cv::Mat out;
  cv::cvtColor(hsv, out, cv::COLOR_HSV2RGB);
  return out;
}

cv::Mat contrast(const cv::Mat& x, double factor) {
  const cv::Scalar means = cv::mean(x);  // per channel
  cv::Mat out;
  cv::subtract(x, means, out);
  out = out * factor;
  cv::add(out, means, out);
  return out;
}

cv::Mat saturate(const cv::Mat& x, double mul, double add) {
  cv::Mat rgb = x;
  if (x.channels() == 1) cv::cvtColor(x, rgb, cv::COLOR_GRAY2RGB);
  cv::Mat hsv;
  cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);
  std::vector<cv::Mat> ch;
  cv::split(hsv, ch);
  ch[1] = cv::min(cv::max(ch[1] * mul + add, 0.0), 1.0);
  cv::merge(ch, hsv);
  cv::Mat out;
  cv::cvtColor(hsv, out, cv::COLOR_HSV2RGB);
  if (x.channels() == 1) cv::cvtColor(out, out, cv::COLOR_RGB2GRAY);
  return out;
}

cv::Mat jpeg_compression(const cv::Mat& x, int quality) {
  cv::Mat u = to_u8(x);
  if (u.channels() == 3) cv::cvtColor(u, u, cv::COLOR_RGB2BGR);  // libjpeg expects BGR from OpenCV
  std::vector<std::uint8_t> buf;
  ISPLITEE_CHECK_CODE(cv::imencode(".jpg", u, buf, {cv::IMWRITE_JPEG_QUALITY, quality}),
                      ErrorCode::kInternal, "jpeg_compression: OpenCV could not encode a JPEG");
  cv::Mat d = cv::imdecode(buf, u.channels() == 3 ? cv::IMREAD_COLOR : cv::IMREAD_GRAYSCALE);
  if (d.channels() == 3) cv::cvtColor(d, d, cv::COLOR_BGR2RGB);
  return to_float(d);
}

cv::Mat pixelate(const cv::Mat& x, double factor, bool nearest_up) {
  const int w = std::max(1, static_cast<int>(x.cols * factor));
  const int h = std::max(1, static_cast<int>(x.rows * factor));
  // The reference resizes an 8-bit PIL image: quantise between the two steps as it does.
  cv::Mat small = to_float(to_u8(pil_box_resize(x, w, h)));
  if (nearest_up) {
    cv::Mat out;
    cv::resize(small, out, x.size(), 0, 0, cv::INTER_NEAREST_EXACT);
    return out;
  }
  return pil_box_resize(small, x.cols, x.rows);
}

cv::Mat elastic_transform(const cv::Mat& x, double alpha, double sigma, double jitter, Rng& rng) {
  // Random affine jitter of three points, then a smooth random displacement field
  // (uniform(−1,1) blurred with σ, truncate 3, reflect borders, times α), bilinear resampling.
  const int H = x.rows, W = x.cols;
  const cv::Point2f center(static_cast<float>(H / 2), static_cast<float>(W / 2));
  const float sq = static_cast<float>(std::min(H, W) / 3);
  cv::Point2f p1[3] = {
      center + cv::Point2f(sq, sq), {center.x + sq, center.y - sq}, center - cv::Point2f(sq, sq)};
  cv::Point2f p2[3];
  for (int i = 0; i < 3; ++i)
    p2[i] = p1[i] + cv::Point2f(static_cast<float>(rng.uniform(-jitter, jitter)),
                                static_cast<float>(rng.uniform(-jitter, jitter)));
  const cv::Mat M = cv::getAffineTransform(p1, p2);
  cv::Mat warped;
  cv::warpAffine(x, warped, M, x.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
  auto field = [&] {
    cv::Mat f(H, W, CV_32F);
    for (int r = 0; r < H; ++r)
      for (int c = 0; c < W; ++c) f.at<float>(r, c) = static_cast<float>(rng.uniform(-1, 1));
    return f;
  };
  cv::Mat fx = field(), fy = field();
  cv::Mat dx = gaussian_sk(fx, sigma, cv::BORDER_REFLECT, 3.0) * alpha;
  cv::Mat dy = gaussian_sk(fy, sigma, cv::BORDER_REFLECT, 3.0) * alpha;
  if (!(sigma > 0)) {
    dx = fx * alpha;
    dy = fy * alpha;
  }
  cv::Mat mapx(H, W, CV_32F), mapy(H, W, CV_32F);
  for (int r = 0; r < H; ++r)
    for (int c = 0; c < W; ++c) {
      mapx.at<float>(r, c) = static_cast<float>(c) + dx.at<float>(r, c);
      mapy.at<float>(r, c) = static_cast<float>(r) + dy.at<float>(r, c);
    }
  cv::Mat out;
  cv::remap(warped, out, mapx, mapy, cv::INTER_LINEAR, cv::BORDER_REFLECT);
  return out;
}

cv::Mat spatter(const cv::Mat& x, const std::vector<double>& c, Rng& rng) {
  // c = (mean, std, blur sigma, threshold, intensity, mode) — mode 0 water, 1 mud.
  cv::Mat liquid(x.rows, x.cols, CV_32F);
  for (int r = 0; r < liquid.rows; ++r)
    for (int q = 0; q < liquid.cols; ++q)
      liquid.at<float>(r, q) = static_cast<float>(rng.normal(c[0], c[1]));
  liquid = gaussian_sk(liquid, c[2], cv::BORDER_REPLICATE);
  cv::threshold(liquid, liquid, c[3], 0, cv::THRESH_TOZERO);
  cv::Mat rgb = x;
  if (x.channels() == 1) cv::cvtColor(x, rgb, cv::COLOR_GRAY2RGB);
  cv::Mat out;
  if (c[5] == 0) {
    // Water: drop outlines from Canny edges and a distance transform, embossed, tinted pale
    // turquoise.
    cv::Mat l8;
    liquid.convertTo(l8, CV_8U, 255.0);
    cv::Mat edges;
    cv::Canny(l8, edges, 50, 150);
    cv::Mat dist = 255 - edges, df;
    cv::distanceTransform(dist, df, cv::DIST_L2, 5);
    cv::threshold(df, df, 20, 20, cv::THRESH_TRUNC);
    cv::blur(df, df, cv::Size(3, 3));
    cv::Mat d8;
    df.convertTo(d8, CV_8U);
    cv::equalizeHist(d8, d8);
    const cv::Mat ker = (cv::Mat_<float>(3, 3) << -2, -1, 0, -1, 1, 1, 0, 1, 2);
    cv::filter2D(d8, d8, CV_8U, ker);
    cv::Mat dflt;
    cv::blur(d8, d8, cv::Size(3, 3));
    d8.convertTo(dflt, CV_32F);
    cv::Mat lf;
    l8.convertTo(lf, CV_32F);
    cv::Mat m = lf.mul(dflt);
    double mx = 0;
    cv::minMaxLoc(m, nullptr, &mx);
    if (mx > 0) m /= mx;
    m *= c[4];
    std::vector<cv::Mat> tint{m * (175 / 255.0), m * (238 / 255.0), m * (238 / 255.0)};
    cv::Mat add;
    cv::merge(tint, add);
    out = rgb + add;
  } else {
    // Mud: thresholded blobs, softened, painted brown over the image.
    cv::Mat blobs;
    cv::threshold(liquid, blobs, c[3], 1.0, cv::THRESH_BINARY);
    blobs = gaussian_sk(blobs, c[4], cv::BORDER_REPLICATE);
    cv::threshold(blobs, blobs, 0.8, 0, cv::THRESH_TOZERO);
    // THRESH_TOZERO keeps values > 0.8 (the reference zeroes values < 0.8; equal is measure-zero).
    cv::Mat keep = expand_channels(1.0 - blobs, 3);
    std::vector<cv::Mat> mud{blobs * (63 / 255.0), blobs * (42 / 255.0), blobs * (20 / 255.0)};
    cv::Mat color;
    cv::merge(mud, color);
    out = rgb.mul(keep) + color;
  }
  if (x.channels() == 1) {
    cv::Mat g;
    cv::cvtColor(cv::min(cv::max(out, 0.0), 1.0), g, cv::COLOR_RGB2GRAY);
    return g;
  }
  return out;
}

}  // namespace isplitee::distort::detail
