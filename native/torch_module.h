// A TorchScript module behind a JS object. Loading and forward run on the inference threads
// (inference_thread.h), waited for by libuv's pool; the event loop thread only validates
// arguments and copies data.
#pragma once

#include <napi.h>
#include <torch/script.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "inference_thread.h"

namespace pytorch_infer {

// What load() does to the module before it runs. Measured with bench/libtorch-options.ts
// (bench/results/libtorch-options.md, 2 shared cores, 1 thread, CPU ms/img at batch 1 / 4, with
// ONNX Runtime at 8.0 / 7.5 in the same run): plain 16.1 / 22.9, frozen 14.0 / 14.2,
// mkldnn 11.5 / 8.8, fused 9.1 / 8.0 (an earlier run: ONNX 7.9 / 7.4, mkldnn 11.0 / 8.4,
// fused 8.5 / 7.5). channels_last: fused 9.1 / 7.3 and 8.6 / 7.7 in the two runs, within the
// noise, so it stays off (it costs an input copy); NoGradGuard instead of InferenceMode, the
// legacy executor and the NNC fuser (no LLVM in the CPU wheel: 15.0 / 17.6) bought nothing.
enum class GraphMode {
  kPlain,   // torch::jit::load as is
  kFrozen,  // torch::jit::freeze: weights and batch norms folded into constants
  kMkldnn,  // torch::jit::optimize_for_inference: frozen, convolutions on oneDNN's blocked layout
  kFused,   // frozen, then oneDNN Graph (LLGA) fuses conv + bias + clamp (+ add) per input shape
};

struct LoadOptions {
  GraphMode mode = GraphMode::kFused;
  bool channels_last = false;     // 4-D weights and every input in channels_last memory format
  bool no_grad = false;           // NoGradGuard instead of InferenceMode around forward
  bool executor_optimize = true;  // torch::jit::setGraphExecutorOptimize during forward
  // Forwards that may run at once, each on an inference thread of its own. Measured on 2 cores,
  // forwards alone: two 1-thread lanes 97 / 71 img/s and 9.0 / 8.1 CPU ms/img at batch 1 / 4, one
  // forward on 2 threads (passive OpenMP) 103 / 131 img/s and 8.9 / 7.4. In the service, beside
  // the decode workers, two lanes keep both cores busy (serve's default: 147-153 img/s vs 121-125).
  int lanes = 1;
};

// Shared by the JS wrapper and in-flight workers, so close() while a forward
// runs frees the module only when that forward is done.
class Model {
 public:
  // Runs on inference thread 0.
  static std::shared_ptr<Model> Load(const std::string& path, const LoadOptions& options);

  // The least busy lane; every Acquire is paired with a Release.
  int AcquireLane();
  void ReleaseLane(int lane);
  // Runs on an inference thread (one per lane).
  torch::jit::IValue Forward(const torch::Tensor& input);

  const LoadOptions& options() const { return options_; }

 private:
  // The fused function for this input shape; null once kMaxFusedShapes are taken.
  torch::jit::GraphFunction* FusedFunction(const torch::Tensor& input);

  torch::jit::Module module_;
  LoadOptions options_;
  // kFused: oneDNN Graph compiles the partitions of a graph for the first input shape the graph
  // executor sees, and later shapes fall back to unfused ops (measured with torch 2.13 in
  // Python, same binaries: 10.5 ms/img instead of 7.3 at batch 1 after batch 4). So each input
  // shape gets a function of its own, on a copy of the frozen graph (the copies share the weight
  // tensors; each shape's compiled partitions add ~10 MB RSS). The lanes share them: a graph
  // executor compiles once under its own lock and its plans and oneDNN kernels run concurrently
  // (LlgaKernel initialises once), so each shape is profiled and compiled once, not once per lane.
  std::shared_ptr<torch::jit::Graph> graph_;
  std::mutex functions_mutex_;
  std::map<std::vector<int64_t>, std::unique_ptr<torch::jit::GraphFunction>> functions_;
  std::atomic<int> busy_[kMaxLanes] = {};
};

class TorchModule : public Napi::ObjectWrap<TorchModule> {
 public:
  static Napi::Function Define(Napi::Env env);
  // load(path: string, options?: boolean | LoadOptions) → Promise<TorchModule> (see src/native.ts)
  static Napi::Value Load(const Napi::CallbackInfo& info);

  explicit TorchModule(const Napi::CallbackInfo& info);

 private:
  // forward(data: Float32Array, shape: number[]) → Promise<{ data: Float32Array, shape: number[] }>
  Napi::Value Forward(const Napi::CallbackInfo& info);
  // close(): frees the module now rather than at garbage collection
  void Close(const Napi::CallbackInfo& info);

  std::shared_ptr<Model> model_;
};

}  // namespace pytorch_infer
