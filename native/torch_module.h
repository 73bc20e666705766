// A TorchScript module behind a JS object. Loading and forward run on the inference thread
// (inference_thread.h), waited for by libuv's pool; the event loop thread only validates
// arguments and copies data.
#pragma once

#include <napi.h>
#include <torch/script.h>

#include <memory>

namespace pytorch_infer {

// Shared by the JS wrapper and in-flight workers, so close() while a forward
// runs frees the module only when that forward is done.
// Forwards run one at a time, all on one thread (inference_thread.h): intra-op threads
// already use every core.
struct Model {
  torch::jit::Module module;
};

class TorchModule : public Napi::ObjectWrap<TorchModule> {
 public:
  static Napi::Function Define(Napi::Env env);
  // load(path: string, optimize: boolean) → Promise<TorchModule>
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
