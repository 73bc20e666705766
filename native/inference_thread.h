// The one thread all LibTorch work runs on: loading and every forward. OpenMP gives each thread
// that enters a parallel region a team of its own, and LibTorch keeps per-thread state; work
// spread over libuv's pool threads ran at half speed (measured on 2 cores, optimised model,
// 2 intra-op threads: 14 ms/img at batch 1 from the pool, 7.7 ms/img from this thread).
#pragma once

#include <functional>

namespace pytorch_infer {

// Runs `job` on the inference thread and waits for it; rethrows what the job throws.
void RunOnInferenceThread(const std::function<void()>& job);

}  // namespace pytorch_infer
