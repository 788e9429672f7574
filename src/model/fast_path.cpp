#include "fast_path.hpp"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <map>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "isplitee/common/error.hpp"

#if ISPLITEE_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace isplitee::model::detail {

#if ISPLITEE_HAVE_ONEDNN
namespace {

using dnnl::memory;
using Tag = memory::format_tag;
using Dt = memory::data_type;

dnnl::engine& cpu_engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// Output side of a k×k window with symmetric padding, as torch's conv2d / max_pool2d compute it.
memory::dim out_size(memory::dim in, const LoweredOp& op) {
  return (in + 2 * op.pad - op.kernel) / op.stride + 1;
}

void append_act(dnnl::post_ops& po, Act a) {
  // eltwise_clip(0, 6) is hardtanh(0, 6); both, like relu, are exact element-wise maps.
  if (a == Act::kRelu) po.append_eltwise(1.f, dnnl::algorithm::eltwise_relu, 0.f, 0.f);
  if (a == Act::kRelu6) po.append_eltwise(1.f, dnnl::algorithm::eltwise_clip, 0.f, 6.f);
}

// One lowered op with the weights packed into every layout a plan asked for (plans for other
// batch sizes can pick other layouts), shared by all plans.
struct OpData {
  LoweredOp op;
  std::vector<std::pair<memory::desc, memory>> packed;
  memory bias;
};

// An activation of a plan: produced by a step (or the caller's input), with the arena buffer it
// lives in once buffers are assigned.
struct Value {
  memory::desc desc;
  int buffer = -1;    // -1: the caller's input tensor
  int last_use = -1;  // last step that reads it
};

struct Step {
  dnnl::primitive prim;
  std::vector<std::pair<int, int>> reads;  // (DNNL_ARG_*, value)
  int write = -1;                          // value written (DNNL_ARG_DST / DNNL_ARG_TO)
  int write_arg = DNNL_ARG_DST;
  int tap = -1;  // ≥ 0: writes into the caller's tap tensor #tap instead of a value
  std::unordered_map<int, memory> fixed;  // weights, bias
};

// Everything needed to run one range of blocks on one input shape.
struct Plan {
  std::vector<Value> values;
  std::vector<Step> steps;
  std::vector<std::unordered_map<int, memory>> args;  // per step, bound
  std::vector<torch::Tensor> arena;
  memory input;                 // the caller's NCHW input (handle set per run)
  std::vector<memory> tap_mem;  // the caller's NCHW tap outputs (handle set per run)
  std::vector<memory::dims> tap_dims;
  std::uint64_t last_run = 0;
};

using PlanKey = std::tuple<std::vector<std::int64_t>, std::int64_t, std::int64_t,
                           std::vector<std::int64_t>, int>;

}  // namespace

struct FastPath::Impl {
  std::vector<std::vector<OpData>> blocks;
  std::map<PlanKey, std::unique_ptr<Plan>> plans;
  std::uint64_t clock = 0;
  std::map<std::string, int> impls;  // primitive implementation → count, for describe()
  dnnl::stream stream{cpu_engine()};

  const memory& packed_weights(OpData& od, const memory::desc& want);
  Plan& plan_for(const std::vector<std::int64_t>& dims, std::int64_t from, std::int64_t to,
                 const std::vector<std::int64_t>& taps);
  std::int64_t chunk_size(const std::vector<std::int64_t>& dims, std::int64_t from,
                          std::int64_t to) const;
  std::unique_ptr<Plan> build(const std::vector<std::int64_t>& in_dims, std::int64_t from,
                              std::int64_t to, const std::vector<std::int64_t>& taps);
};

namespace {

// Builds the steps of a plan one op at a time, inserting layout conversions where a primitive
// wants its input in another layout than the producer wrote.
class PlanBuilder {
 public:
  PlanBuilder(FastPath::Impl& fp, Plan& p) : fp_(fp), p_(p) {}

  int add_value(const memory::desc& d) {
    p_.values.push_back({d});
    return static_cast<int>(p_.values.size()) - 1;
  }

  void add_step(Step s) {
    const int at = static_cast<int>(p_.steps.size());
    for (const auto& r : s.reads) p_.values[static_cast<std::size_t>(r.second)].last_use = at;
    p_.steps.push_back(std::move(s));
  }

  int reorder_to(int v, const memory::desc& want) {
    const auto& have = p_.values[static_cast<std::size_t>(v)].desc;
    if (have == want) return v;
    // A tapped value already exists in plain NCHW (the caller's tap tensor): read that copy.
    const auto alias = plain_alias_.find(v);
    if (alias != plain_alias_.end() &&
        p_.values[static_cast<std::size_t>(alias->second)].desc == want)
      return alias->second;
    Step s;
    s.prim = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), have, cpu_engine(), want));
    s.reads = {{DNNL_ARG_FROM, v}};
    s.write = add_value(want);
    s.write_arg = DNNL_ARG_TO;
    const int out = s.write;
    add_step(std::move(s));
    return out;
  }

  void tap(int v, int index) {
    const auto& d = p_.values[static_cast<std::size_t>(v)].desc;
    const memory::desc plain(d.dims(), Dt::f32, Tag::nchw);
    Step s;
    s.prim = dnnl::reorder(dnnl::reorder::primitive_desc(cpu_engine(), d, cpu_engine(), plain));
    s.reads = {{DNNL_ARG_FROM, v}};
    s.tap = index;
    s.write_arg = DNNL_ARG_TO;
    add_step(std::move(s));
    p_.tap_dims.push_back(d.dims());
    const int alias = add_value(plain);
    p_.values[static_cast<std::size_t>(alias)].buffer = -2 - index;  // bound to tap tensor #index
    plain_alias_[v] = alias;
  }

  int conv(OpData& od, int src, int residual);
  int conv_dw(OpData& pw, OpData& dw, int src);
  int max_pool(const LoweredOp& op, int src);
  int add_activate(int a, int b, Act act);

 private:
  FastPath::Impl& fp_;
  Plan& p_;
  std::unordered_map<int, int> plain_alias_;  // value → its plain NCHW copy in a tap tensor
};

dnnl::convolution_forward::primitive_desc conv_pd(const LoweredOp& op, const memory::dims& src,
                                                  const memory::desc& dst,
                                                  const dnnl::post_ops& po) {
  const memory::dim o = op.weight.size(0), g = op.groups, k = op.kernel;
  const memory::dims wd =
      g > 1 ? memory::dims{g, o / g, src[1] / g, k, k} : memory::dims{o, src[1], k, k};
  // forward_training selects the same direct-convolution kernels as LibTorch's own oneDNN calls
  // (ideep asks for forward_training), so results match the LibTorch path bit for bit; the
  // inference-only kernels were not faster here and their full-tensor binary post-op is broken in
  // oneDNN 2.6 (bench/results/model.md).
  dnnl::convolution_forward::desc d(
      dnnl::prop_kind::forward_training, dnnl::algorithm::convolution_direct,
      memory::desc(src, Dt::f32, Tag::any), memory::desc(wd, Dt::f32, Tag::any),
      memory::desc({o}, Dt::f32, Tag::x), dst, {op.stride, op.stride}, {op.pad, op.pad},
      {op.pad, op.pad});
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  return dnnl::convolution_forward::primitive_desc(d, attr, cpu_engine());
}

int PlanBuilder::conv(OpData& od, int src, int residual) {
  const LoweredOp& op = od.op;
  const memory::dims sd = p_.values[static_cast<std::size_t>(src)].desc.dims();
  const memory::dims dd = {sd[0], op.weight.size(0), out_size(sd[2], op), out_size(sd[3], op)};
  dnnl::post_ops po;
  if (residual < 0) append_act(po, op.act);
  auto pd = conv_pd(op, sd, memory::desc(dd, Dt::f32, Tag::any), po);
  int res = -1;
  bool fused = residual < 0;
  if (residual >= 0) {
    // The residual is added as a binary post-op, applied once to the finished sum (conv + bias),
    // exactly as a separate addition would; a "sum" post-op would instead seed the accumulator
    // with the residual and change the rounding.
    res = reorder_to(residual, pd.dst_desc());
    dnnl::post_ops with_res;
    with_res.append_binary(dnnl::algorithm::binary_add, pd.dst_desc());
    append_act(with_res, op.act);
    try {
      pd = conv_pd(op, sd, pd.dst_desc(), with_res);
      fused = true;
    } catch (const dnnl::error&) {  // not fusable here: conv, then a separate add
    }
  }
  ++fp_.impls[pd.impl_info_str()];
  const int s = reorder_to(src, pd.src_desc());
  Step st;
  st.prim = dnnl::convolution_forward(pd);
  st.reads = {{DNNL_ARG_SRC, s}};
  if (fused && res >= 0)
    st.reads.push_back({DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, res});
  st.fixed = {{DNNL_ARG_WEIGHTS, fp_.packed_weights(od, pd.weights_desc())},
              {DNNL_ARG_BIAS, od.bias}};
  st.write = add_value(pd.dst_desc());
  const int out = st.write;
  add_step(std::move(st));
  return fused ? out : add_activate(out, res, op.act);
}

int PlanBuilder::conv_dw(OpData& pw, OpData& dw, int src) {
  const LoweredOp& a = pw.op;
  const LoweredOp& b = dw.op;
  const memory::dims sd = p_.values[static_cast<std::size_t>(src)].desc.dims();
  const memory::dims hd = {sd[0], a.weight.size(0), sd[2], sd[3]};
  dnnl::post_ops po;
  append_act(po, a.act);
  po.append_dw(Dt::f32, Dt::f32, Dt::f32, b.kernel, b.stride, b.pad, 0, {});
  append_act(po, b.act);
  dnnl::convolution_forward::primitive_desc pd;
  try {
    pd = conv_pd(a, sd, memory::desc(hd, Dt::f32, Tag::any), po);
  } catch (const dnnl::error&) {
    return -1;
  }
  // "ref_fused_convolution" runs the two convolutions one after the other through a scratch
  // buffer: no gain over two steps of our own.
  const std::string impl = pd.impl_info_str();
  if (impl.rfind("ref_fused", 0) == 0) return -1;
  ++fp_.impls[impl + " + depthwise"];
  const int s = reorder_to(src, pd.src_desc());
  const auto dw_weights =
      pd.query_md(dnnl::query::exec_arg_md, DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS);
  Step st;
  st.prim = dnnl::convolution_forward(pd);
  st.reads = {{DNNL_ARG_SRC, s}};
  st.fixed = {{DNNL_ARG_WEIGHTS, fp_.packed_weights(pw, pd.weights_desc())},
              {DNNL_ARG_BIAS, pw.bias},
              {DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_WEIGHTS, fp_.packed_weights(dw, dw_weights)},
              {DNNL_ARG_ATTR_POST_OP_DW | DNNL_ARG_BIAS, dw.bias}};
  st.write = add_value(pd.dst_desc());
  const int out = st.write;
  add_step(std::move(st));
  return out;
}

int PlanBuilder::add_activate(int a, int b, Act act) {
  const auto& d = p_.values[static_cast<std::size_t>(a)].desc;
  dnnl::post_ops po;
  append_act(po, act);
  dnnl::primitive_attr attr;
  attr.set_post_ops(po);
  dnnl::binary::primitive_desc pd(dnnl::binary::desc(dnnl::algorithm::binary_add, d, d,
                                                     memory::desc(d.dims(), Dt::f32, Tag::any)),
                                  attr, cpu_engine());
  ++fp_.impls[pd.impl_info_str()];
  Step st;
  st.prim = dnnl::binary(pd);
  st.reads = {{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}};
  st.write = add_value(pd.dst_desc());
  const int out = st.write;
  add_step(std::move(st));
  return out;
}

int PlanBuilder::max_pool(const LoweredOp& op, int src) {
  const auto& sdesc = p_.values[static_cast<std::size_t>(src)].desc;
  const memory::dims sd = sdesc.dims();
  const memory::dims dd = {sd[0], sd[1], out_size(sd[2], op), out_size(sd[3], op)};
  dnnl::pooling_forward::primitive_desc pd(
      dnnl::pooling_forward::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max,
                                  sdesc, memory::desc(dd, Dt::f32, Tag::any),
                                  {op.stride, op.stride}, {op.kernel, op.kernel}, {op.pad, op.pad},
                                  {op.pad, op.pad}),
      cpu_engine());
  ++fp_.impls[pd.impl_info_str()];
  Step st;
  st.prim = dnnl::pooling_forward(pd);
  st.reads = {{DNNL_ARG_SRC, src}};
  st.write = add_value(pd.dst_desc());
  const int out = st.write;
  add_step(std::move(st));
  return out;
}

// Gives every value written by a step an arena buffer: a buffer is reused once the last step that
// reads its value has run (never for the value the same step reads: no primitive runs in place).
void assign_buffers(Plan& p) {
  std::vector<std::size_t> capacity;
  std::vector<int> owner;  // value currently held by each buffer, -1 when free
  for (std::size_t i = 0; i < p.steps.size(); ++i) {
    for (std::size_t b = 0; b < owner.size(); ++b)
      if (owner[b] >= 0 &&
          p.values[static_cast<std::size_t>(owner[b])].last_use < static_cast<int>(i))
        owner[b] = -1;
    const int v = p.steps[i].write;
    if (v < 0) continue;
    const std::size_t need = p.values[static_cast<std::size_t>(v)].desc.get_size();
    int best = -1;
    for (std::size_t b = 0; b < owner.size(); ++b) {
      if (owner[b] >= 0) continue;
      const bool fits = capacity[b] >= need;
      if (best < 0 || (fits && (capacity[static_cast<std::size_t>(best)] < need ||
                                capacity[b] < capacity[static_cast<std::size_t>(best)])))
        best = static_cast<int>(b);
    }
    if (best < 0) {
      capacity.push_back(0);
      owner.push_back(-1);
      best = static_cast<int>(capacity.size()) - 1;
    }
    capacity[static_cast<std::size_t>(best)] =
        std::max(capacity[static_cast<std::size_t>(best)], need);
    owner[static_cast<std::size_t>(best)] = v;
    p.values[static_cast<std::size_t>(v)].buffer = best;
  }
  for (std::size_t c : capacity)
    p.arena.push_back(
        torch::empty({static_cast<std::int64_t>(std::max<std::size_t>(c, 1))}, torch::kUInt8));
}

// Creates the memory objects of every value and the argument map of every step.
void bind(Plan& p) {
  for (const auto& d : p.tap_dims)
    p.tap_mem.emplace_back(memory::desc(d, Dt::f32, Tag::nchw), cpu_engine(),
                           static_cast<void*>(DNNL_MEMORY_NONE));
  // buffer ≥ 0: the arena; -1: the caller's input; ≤ -2: the caller's tap tensor #(−2 − buffer).
  std::vector<memory> mem(p.values.size());
  for (std::size_t v = 0; v < p.values.size(); ++v) {
    const int b = p.values[v].buffer;
    if (b == -1)
      mem[v] = p.input;
    else if (b < -1)
      mem[v] = p.tap_mem[static_cast<std::size_t>(-2 - b)];
    else
      mem[v] =
          memory(p.values[v].desc, cpu_engine(), p.arena[static_cast<std::size_t>(b)].data_ptr());
  }
  for (const auto& s : p.steps) {
    std::unordered_map<int, memory> a = s.fixed;
    for (const auto& r : s.reads) a[r.first] = mem[static_cast<std::size_t>(r.second)];
    a[s.write_arg] = s.tap >= 0 ? p.tap_mem[static_cast<std::size_t>(s.tap)]
                                : mem[static_cast<std::size_t>(s.write)];
    p.args.push_back(std::move(a));
  }
}

}  // namespace

namespace {

// Whether op i is a 1×1 convolution whose output only feeds op i+1, a 3×3 depthwise convolution
// (stride 1 or 2): the pair oneDNN can fuse. True fusion runs the same kernels in the same order,
// so the results equal the two separate convolutions bit for bit (tested).
bool fusable_pair(const std::vector<OpData>& ops, std::size_t i) {
  if (i + 1 >= ops.size()) return false;
  const LoweredOp& a = ops[i].op;
  const LoweredOp& b = ops[i + 1].op;
  const auto conv = LoweredOp::Kind::kConv;
  if (a.kind != conv || b.kind != conv || a.kernel != 1 || a.stride != 1 || a.groups != 1 ||
      a.residual >= 0 || b.residual >= 0)
    return false;
  const int value = static_cast<int>(i) + 1;
  if (b.src != value || b.kernel != 3 || b.pad != 1 || (b.stride != 1 && b.stride != 2) ||
      b.groups != a.weight.size(0) || b.weight.size(0) != b.groups || b.weight.size(1) != 1)
    return false;
  for (std::size_t j = i + 2; j < ops.size(); ++j)
    if (ops[j].op.src == value || ops[j].op.residual == value) return false;
  return true;
}

}  // namespace

const memory& FastPath::Impl::packed_weights(OpData& od, const memory::desc& want) {
  for (const auto& pw : od.packed)
    if (pw.first == want) return pw.second;
  const LoweredOp& op = od.op;
  const memory::dim o = op.weight.size(0), g = op.groups;
  const memory::dims wd = g > 1 ? memory::dims{g, o / g, op.weight.size(1), op.kernel, op.kernel}
                                : memory::dims{o, op.weight.size(1), op.kernel, op.kernel};
  memory user(memory::desc(wd, Dt::f32, g > 1 ? Tag::goihw : Tag::oihw), cpu_engine(),
              op.weight.data_ptr());
  memory packed(want, cpu_engine());
  dnnl::reorder(user, packed).execute(stream, user, packed);
  stream.wait();
  od.packed.emplace_back(want, packed);
  return od.packed.back().second;
}

std::unique_ptr<Plan> FastPath::Impl::build(const std::vector<std::int64_t>& in_dims,
                                            std::int64_t from, std::int64_t to,
                                            const std::vector<std::int64_t>& taps) {
  auto p = std::make_unique<Plan>();
  const memory::desc in_desc(memory::dims(in_dims.begin(), in_dims.end()), Dt::f32, Tag::nchw);
  p->input = memory(in_desc, cpu_engine(), static_cast<void*>(DNNL_MEMORY_NONE));
  PlanBuilder pb(*this, *p);
  int cur = pb.add_value(in_desc);  // value 0: the caller's input
  std::size_t next_tap = 0;
  for (std::int64_t b = from; b < to; ++b) {
    auto& ops = blocks[static_cast<std::size_t>(b)];
    std::vector<int> local{cur};
    for (std::size_t i = 0; i < ops.size(); ++i) {
      auto& od = ops[i];
      const int src = local[static_cast<std::size_t>(od.op.src)];
      if (fusable_pair(ops, i)) {
        const int v = pb.conv_dw(od, ops[i + 1], src);
        if (v >= 0) {
          local.push_back(-1);  // the expanded activation never exists
          local.push_back(v);
          ++i;
          continue;
        }
      }
      if (od.op.kind == LoweredOp::Kind::kMaxPool) {
        local.push_back(pb.max_pool(od.op, src));
      } else {
        const int res = od.op.residual < 0 ? -1 : local[static_cast<std::size_t>(od.op.residual)];
        local.push_back(pb.conv(od, src, res));
      }
    }
    cur = local.back();
    if (next_tap < taps.size() && taps[next_tap] == b + 1)
      pb.tap(cur, static_cast<int>(next_tap++));
  }
  ISPLITEE_ASSERT(next_tap == taps.size(), "fast path: taps outside the block range");
  assign_buffers(*p);
  bind(*p);
  return p;
}

FastPath::FastPath(std::vector<LoweredBlock> blocks) : impl_(std::make_unique<Impl>()) {
  for (auto& b : blocks) {
    std::vector<OpData> ops;
    for (auto& op : b) {
      OpData od;
      od.op = std::move(op);
      if (od.op.kind == LoweredOp::Kind::kConv) {
        od.op.weight = od.op.weight.to(torch::kFloat32).contiguous();
        od.op.bias = od.op.bias.to(torch::kFloat32).contiguous();
        od.bias = memory(memory::desc({od.op.weight.size(0)}, Dt::f32, Tag::x), cpu_engine(),
                         od.op.bias.data_ptr());
      }
      ops.push_back(std::move(od));
    }
    impl_->blocks.push_back(std::move(ops));
  }
}

FastPath::~FastPath() = default;

bool FastPath::available() noexcept { return true; }

Plan& FastPath::Impl::plan_for(const std::vector<std::int64_t>& dims, std::int64_t from,
                               std::int64_t to, const std::vector<std::int64_t>& taps) {
  PlanKey key{dims, from, to, taps, at::get_num_threads()};
  auto it = plans.find(key);
  if (it == plans.end()) {
    constexpr std::size_t kMaxPlans = 6;  // each plan holds its activation buffers
    if (plans.size() >= kMaxPlans) {
      auto oldest = std::min_element(plans.begin(), plans.end(), [](auto& a, auto& b) {
        return a.second->last_run < b.second->last_run;
      });
      plans.erase(oldest);
    }
    try {
      it = plans.emplace(key, build(dims, from, to, taps)).first;
    } catch (const dnnl::error& e) {
      fail(ErrorCode::kInternal, "fast path: oneDNN could not prepare blocks ", from + 1, "..", to,
           " for input ", c10::IntArrayRef(dims), ": ", e.what());
    }
  }
  it->second->last_run = ++clock;
  return *it->second;
}

// Images per pass: big batches run in chunks of a few images, so that a chunk's activations stay
// in the caches from one layer to the next (every image is computed by the same kernels in the
// same order whatever the chunk, so results do not change: FastPath.EqualsFoldedLibTorchBitForBit
// runs batch 16 in chunks of 8 against LibTorch's whole batch, and the Fashion-MNIST traces at
// batch 256 equal the LibTorch-generated ones bit for bit). ISPLITEE_FAST_PATH_CHUNK overrides the
// choice for experiments.
std::int64_t FastPath::Impl::chunk_size(const std::vector<std::int64_t>& dims, std::int64_t from,
                                        std::int64_t to) const {
  if (const char* env = std::getenv("ISPLITEE_FAST_PATH_CHUNK"))
    return std::max<std::int64_t>(1, std::atoll(env));
  std::int64_t c = dims[1], h = dims[2], w = dims[3], largest = c * h * w;
  for (std::int64_t b = from; b < to; ++b) {
    std::vector<std::array<std::int64_t, 3>> shape{{c, h, w}};
    for (const auto& od : blocks[static_cast<std::size_t>(b)]) {
      const auto& in = shape[static_cast<std::size_t>(od.op.src)];
      const std::int64_t oc = od.op.kind == LoweredOp::Kind::kConv ? od.op.weight.size(0) : in[0];
      shape.push_back({oc, out_size(in[1], od.op), out_size(in[2], od.op)});
      largest = std::max(largest, shape.back()[0] * shape.back()[1] * shape.back()[2]);
    }
    c = shape.back()[0];
    h = shape.back()[1];
    w = shape.back()[2];
  }
  // 4–8 images per pass beat whole batches and single images in earlier runs of bench_compare
  // with ISPLITEE_FAST_PATH_CHUNK set (MobileNetV2 at 32 and 224 px, the Fashion-MNIST ResNet);
  // not re-measured since (BENCHMARKS.md, fast path section, says how).
  constexpr std::int64_t kTargetBytes = std::int64_t{16} << 20;
  const std::int64_t chunk = std::clamp<std::int64_t>(kTargetBytes / (4 * largest), 4, 8);
  return std::min(chunk, dims[0]);
}

std::vector<torch::Tensor> FastPath::run(const torch::Tensor& x, std::int64_t from, std::int64_t to,
                                         const std::vector<std::int64_t>& taps) {
  auto& im = *impl_;
  ISPLITEE_ASSERT(from >= 0 && from < to && to <= static_cast<std::int64_t>(im.blocks.size()),
                  "fast path: bad block range ", from, "..", to);
  ISPLITEE_CHECK(x.dim() == 4 && x.device().is_cpu(), "fast path: expected a 4-d CPU tensor, got ",
                 x.sizes(), " on ", x.device());
  const torch::Tensor in = x.to(torch::kFloat32).contiguous();
  const std::int64_t n = in.size(0);
  const std::int64_t chunk = im.chunk_size(in.sizes().vec(), from, to);
  std::vector<torch::Tensor> out;
  for (std::int64_t i0 = 0; i0 < n; i0 += chunk) {
    auto dims = in.sizes().vec();
    dims[0] = std::min(chunk, n - i0);
    Plan& p = im.plan_for(dims, from, to, taps);
    if (out.empty())
      for (const auto& td : p.tap_dims)
        out.push_back(torch::empty({n, td[1], td[2], td[3]}, torch::kFloat32));
    // Batch-major NCHW: images i0.. of the input and of every output are contiguous slices.
    p.input.set_data_handle(in[i0].data_ptr());
    for (std::size_t t = 0; t < out.size(); ++t)
      p.tap_mem[t].set_data_handle(out[t][i0].data_ptr());
    for (std::size_t s = 0; s < p.steps.size(); ++s) p.steps[s].prim.execute(im.stream, p.args[s]);
    im.stream.wait();
  }
  return out;
}

std::size_t FastPath::cached_plans() const noexcept { return impl_->plans.size(); }

std::string FastPath::describe() const {
  const auto* v = dnnl::version();
  std::ostringstream os;
  os << "oneDNN v" << v->major << "." << v->minor << "." << v->patch;
  if (!impl_->impls.empty()) {
    os << " (";
    bool first = true;
    for (const auto& [name, n] : impl_->impls) {
      os << (first ? "" : ", ") << n << "× " << name;
      first = false;
    }
    os << ")";
  }
  return os.str();
}

#else  // no oneDNN: the engine is absent and optimize_for_inference() keeps LibTorch's path

struct FastPath::Impl {};
FastPath::FastPath(std::vector<LoweredBlock>) {
  fail(ErrorCode::kUsage,
       "this build has no oneDNN fast path (install libdnnl-dev and reconfigure)");
}
FastPath::~FastPath() = default;
bool FastPath::available() noexcept { return false; }
std::vector<torch::Tensor> FastPath::run(const torch::Tensor&, std::int64_t, std::int64_t,
                                         const std::vector<std::int64_t>&) {
  return {};
}
std::size_t FastPath::cached_plans() const noexcept { return 0; }
std::string FastPath::describe() const { return "LibTorch"; }

#endif

}  // namespace isplitee::model::detail
