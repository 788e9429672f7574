// I-SplitEE on an environment of your own: a 4-exit edge device whose exit scores are simulated
// here (replace `run_edge` and `run_cloud` with your network). OnlineSession holds the policy, the
// cost model, the exit rule and the side-information mode; you decide, act, observe.
#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include <isplitee/policy/policy.hpp>
#include <isplitee/sim/session.hpp>

using namespace isplitee;

int main() {
  const std::size_t K = 4;
  cost::CostConfig cost;  // the paper's constants: alpha 0.5, lambda 0.1, mu 1, offload 0.5
  cost.side_info = cost::SideInfo::kStrict;  // no trace to peek into: skip what was not seen
  sim::OnlineSession session(policy::make_policy(policy::parse_policy_argument("i-splitee"), K, 1),
                             cost::CostModel(cost, {1, 2, 3, 4}));
  std::mt19937 gen(7);
  std::normal_distribution<float> noise(0.0f, 0.1f);
  const float mean_score[K] = {0.35f, 0.75f, 0.8f, 0.85f};  // deeper exits are more confident
  auto score = [&](std::size_t k) { return std::clamp(mean_score[k] + noise(gen), 0.0f, 1.0f); };

  std::vector<float> edge(K);
  for (int t = 0; t < 20000; ++t) {
    const policy::Action a = session.decide();
    const std::size_t s = a.arm();  // split after exit s+1: run exits 1..s+1 on the edge
    for (std::size_t k = 0; k <= s; ++k) edge[k] = score(k);  // run_edge
    sim::Outcome o;
    o.action = a;
    o.num_seen = s + 1;
    o.scores = edge.data();
    o.exited = session.exit_rule().exits(s, K, edge[s]);
    o.offloaded = !o.exited && s + 1 < K;  // else the cloud finishes: run_cloud
    o.final_known = !o.exited;
    o.final_score = s + 1 < K ? score(K - 1) : edge[s];
    o.exit_used = o.exited ? s : K - 1;
    session.observe(o);
  }
  const auto& n = session.totals();
  std::printf("samples %llu, mean cost %.3f (final exit: %.1f), offloaded %.1f%%\n",
              static_cast<unsigned long long>(n.steps), n.cost / n.steps, 0.1 * K,
              100.0 * n.offloaded / n.steps);
  const auto most = std::max_element(n.arm_count.begin(), n.arm_count.end()) - n.arm_count.begin();
  std::printf("most played split: after exit %lld\n", static_cast<long long>(most + 1));
}
