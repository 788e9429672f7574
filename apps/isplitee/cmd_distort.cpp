// isplitee distort: apply a distortion to an image file or a dataset sample, or write a contact
// sheet (rows = corruptions, columns = severities) with --grid. Thin: parse, call the library,
// write.
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "commands.hpp"
#include "isplitee/common/atomic_file.hpp"
#include "isplitee/common/error.hpp"
#include "isplitee/common/text.hpp"
#include "isplitee/config/node.hpp"
#include "isplitee/data/config.hpp"
#include "isplitee/distort/distortion.hpp"
#include "isplitee/distort/grid.hpp"

namespace fs = std::filesystem;

namespace isplitee::app {
namespace {

struct DistortOptions {
  std::string input, dataset, root, split = "test", name, preset = "auto", output, names;
  std::vector<std::string> params;
  std::int64_t index = 0, sample_id = -1;
  int severity = 3, cell = 0;
  std::uint64_t seed = 0;
  bool grid = false, scene = false, force = false;
};

cv::Mat load_input(const DistortOptions& o, std::int64_t& sample_id) {
  const int sources = !o.input.empty() + !o.dataset.empty() + o.scene;
  ISPLITEE_CHECK(sources == 1,
                 "isplitee distort: give exactly one of --input IMG, --dataset NAME or --scene");
  if (o.scene) {
    sample_id = 0;
    return distort::synthetic_scene(224);
  }
  if (!o.input.empty()) {
    ISPLITEE_CHECK_CODE(fs::exists(o.input), ErrorCode::kIo, o.input, ": no such file");
    cv::Mat m = cv::imread(o.input, cv::IMREAD_UNCHANGED);
    ISPLITEE_CHECK_CODE(!m.empty(), ErrorCode::kData, o.input, ": not a readable image");
    if (m.depth() != CV_8U) m.convertTo(m, CV_8U, m.depth() == CV_16U ? 1.0 / 257 : 1.0);
    if (m.channels() == 4) cv::cvtColor(m, m, cv::COLOR_BGRA2BGR);
    if (m.channels() == 3) cv::cvtColor(m, m, cv::COLOR_BGR2RGB);
    sample_id = 0;
    return m;
  }
  data::DatasetConfig cfg;
  cfg.name = o.dataset;
  cfg.root = o.root;
  bool known = false;
  for (const auto& n : data::dataset_names()) known = known || n == o.dataset;
  ISPLITEE_CHECK(known, "--dataset '", o.dataset, "' is not one of ",
                 join(data::dataset_names(), ", "));
  ISPLITEE_CHECK(o.split == "train" || o.split == "test",
                 "--split must be train or test (official files)");
  const auto ds = data::open_dataset(cfg, o.split == "train");
  ISPLITEE_CHECK(o.index >= 0 && static_cast<std::size_t>(o.index) < ds->size(), "--index ",
                 o.index, " is outside 0..", ds->size() - 1, " for ", ds->name());
  sample_id = ds->sample_id(static_cast<std::size_t>(o.index));
  return ds->image(static_cast<std::size_t>(o.index));
}

distort::DistortionSpec spec_from(const DistortOptions& o) {
  nlohmann::json j = {{"name", o.name}, {"preset", o.preset}};
  if (o.params.empty()) {
    j["severity"] = o.severity;
  } else {
    nlohmann::json p = nlohmann::json::object();
    for (const auto& kv : o.params) {
      const auto eq = kv.find('=');
      ISPLITEE_CHECK(eq != std::string::npos && eq > 0, "--param '", kv,
                     "' must look like key=value");
      const std::string key = kv.substr(0, eq), val = kv.substr(eq + 1);
      try {
        p[key] = nlohmann::json::parse(val);
      } catch (const nlohmann::json::exception&) {
        p[key] = val;  // a string choice such as units=px
      }
    }
    j["params"] = p;
  }
  const auto doc = config::Document::from_json(j, "command line");
  return distort::parse_distortion_spec(config::Node(doc));
}

void write_image(const fs::path& out, const cv::Mat& rgb, bool force) {
  ISPLITEE_CHECK_CODE(force || !fs::exists(out), ErrorCode::kIo, out.string(),
                      ": exists (use --force to overwrite)");
  ISPLITEE_CHECK(cv::haveImageWriter(out.string()), out.string(),
                 ": unknown image extension (use .png, .jpg, .bmp, .ppm or .tif)");
  cv::Mat bgr = rgb;
  if (rgb.channels() == 3) cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  // cv::imwrite picks the format from the extension, so the temporary keeps it.
  const fs::path tmp = out.parent_path() / (".tmp." + out.filename().string());
  ISPLITEE_CHECK_CODE(cv::imwrite(tmp.string(), bgr), ErrorCode::kIo, out.string(),
                      ": could not write image");
  commit_file(tmp, out);
}

}  // namespace

Action add_distort_command(CLI::App& app, const GlobalOptions& g) {
  auto o = std::make_shared<DistortOptions>();
  auto* cmd =
      app.add_subcommand("distort",
                         "apply a distortion to an image or dataset sample; --grid writes a "
                         "contact sheet (rows = corruptions, columns = severities 0-5)");
  cmd->add_option("--input,-i", o->input, "input image file");
  cmd->add_option("--dataset", o->dataset,
                  "dataset name (fashion-mnist, mnist, cifar10, cifar100, caltech256, folder)");
  cmd->add_option("--root", o->root, "dataset root (default: the dataset's default location)");
  cmd->add_option("--split", o->split, "official split to read: train or test")
      ->capture_default_str();
  cmd->add_option("--index", o->index, "sample index in the split")->capture_default_str();
  cmd->add_flag("--scene", o->scene, "use the built-in synthetic 224x224 test scene as input");
  cmd->add_option("--name,-n", o->name, "distortion name (see `isplitee list distortions`)");
  cmd->add_option("--severity,-s", o->severity, "ImageNet-C severity 0-5")->capture_default_str();
  cmd->add_option("--preset", o->preset, "constant table: auto, 32, 64 or 224")
      ->capture_default_str();
  cmd->add_option("--param,-p", o->params,
                  "explicit parameter key=value (repeatable; replaces --severity)");
  cmd->add_option("--seed", o->seed, "distortion seed")->capture_default_str();
  cmd->add_option("--sample-id", o->sample_id,
                  "sample id for seeding (default: the dataset's id, 0 for files)");
  cmd->add_flag("--grid", o->grid,
                "write a contact sheet of all (or --names) corruptions x severities 0-5");
  cmd->add_option("--names", o->names, "comma-separated rows for --grid (default: all 19)");
  cmd->add_option("--cell", o->cell, "grid cell size in pixels (default: image size, at least 96)");
  cmd->add_option("--output,-o", o->output,
                  "output image (.png recommended); its directory must exist")
      ->required()
      ->check(output_file());
  cmd->add_flag("--force", o->force, "overwrite an existing output");
  return [o, &g] {
    std::int64_t sid = 0;
    const cv::Mat img = load_input(*o, sid);
    if (o->sample_id >= 0) sid = o->sample_id;
    if (o->grid) {
      distort::GridOptions opt;
      if (!o->names.empty()) opt.names = split(o->names, ',');
      if (!o->name.empty() && opt.names.empty()) opt.names = {o->name};
      opt.preset = o->preset;
      opt.cell = o->cell;
      opt.seed = o->seed;
      opt.sample_id = sid;
      const cv::Mat sheet = distort::make_grid(img, opt);
      write_image(o->output, sheet, o->force);
      if (!g.quiet)
        std::printf("wrote %s (%dx%d: %zu rows x severities 0-5, preset %s, seed %llu)\n",
                    o->output.c_str(), sheet.cols, sheet.rows,
                    opt.names.empty() ? std::size_t{19} : opt.names.size(), o->preset.c_str(),
                    static_cast<unsigned long long>(o->seed));
      return;
    }
    ISPLITEE_CHECK(!o->name.empty(), "isplitee distort: --name is required without --grid");
    const auto spec = spec_from(*o);
    const auto d = distort::make_distortion(spec, std::min(img.rows, img.cols));
    const cv::Mat out = distort::apply_seeded(*d, img, o->seed, sid);
    write_image(o->output, out, o->force);
    if (!g.quiet)
      std::printf("wrote %s: %s (label %s, seed %llu, sample id %lld)\n", o->output.c_str(),
                  d->describe().c_str(), distort::label(spec).c_str(),
                  static_cast<unsigned long long>(o->seed), static_cast<long long>(sid));
  };
}

}  // namespace isplitee::app
