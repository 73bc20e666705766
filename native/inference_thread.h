// The threads all LibTorch work runs on: loading and every forward. OpenMP gives each thread
// that enters a parallel region a team of its own, and LibTorch keeps per-thread state; work
// spread over libuv's pool threads ran at half speed (measured on 2 cores, optimised model,
// 2 intra-op threads: 14 ms/img at batch 1 from the pool, 7.7 ms/img from this thread).
// A model loaded with N lanes runs up to N forwards at once, each on a thread of its own
// (lane 0 is the thread every model loads on); see Model in torch_module.h.
#pragma once

#include <functional>

namespace pytorch_infer {

constexpr int kMaxLanes = 16;

// Runs `job` on inference thread `lane` (0 … kMaxLanes-1) and waits for it; rethrows what the job throws.
void RunOnInferenceThread(int lane, const std::function<void()>& job);

}  // namespace pytorch_infer
