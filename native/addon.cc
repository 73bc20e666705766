// Entry point of the pytorch-infer native addon: a thin N-API binding over
// LibTorch's TorchScript runtime. Everything else lives in TypeScript.
#include <cstdlib>
#include <napi.h>
#include <torch/headeronly/version.h>
#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <torch/csrc/jit/codegen/fuser/interface.h>
#include <torch/csrc/jit/passes/tensorexpr_fuser.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include "torch_module.h"

// NNPACK's entry point inside LibTorch (weak: absent from builds without NNPACK). Returns 0 once
// NNPACK can run here.
extern "C" int nnp_initialize() __attribute__((weak));

namespace pytorch_infer {
namespace {

// Where NNPACK cannot start (a CPU without AVX2; a VM or sandbox whose /sys lacks what cpuinfo
// reads, as on the AMD EPYC VMs this project is built on), LibTorch logs "Could not initialize
// NNPACK! Reason: Unsupported hardware." during convolutions: 68 lines on stderr for one photo. Asking NNPACK once, quietly, and switching it
// off there keeps LibTorch silent; where it starts it stays on (LibTorch uses it for batches of 16+).
void DisableNnpackWhereItCannotRun() {
  if (nnp_initialize != nullptr && nnp_initialize() != 0) at::globalContext().setUserEnabledNNPACK(false);
}

// Intra-op threads are process-wide in LibTorch, so they are set here, not per module.
Napi::Value SetNumThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  double n = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
  if (!(n >= 1 && n <= 1024 && n == static_cast<int>(n))) {
    throw Napi::RangeError::New(env, "setNumThreads(n): n must be an integer from 1 to 1024");
  }
  at::set_num_threads(static_cast<int>(n));
  return env.Undefined();
}

Napi::Value NumThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), at::get_num_threads());
}

// configureJit({ profilingExecutor?, tensorExprFuser? }): process-wide TorchScript executor
// settings, for benchmarks (bench/libtorch-options.ts); call before the first forward. The
// defaults (profiling executor on, NNC fuser off on CPU) are what LibTorch does without it.
Napi::Value ConfigureJit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "configureJit(options): options must be an object");
  Napi::Object o = info[0].As<Napi::Object>();
  auto flag = [&](const char* key, auto apply) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return;
    if (!v.IsBoolean()) throw Napi::TypeError::New(env, std::string("configureJit: ") + key + " must be a boolean");
    apply(v.As<Napi::Boolean>().Value());
  };
  flag("profilingExecutor", [](bool on) {
    torch::jit::getProfilingMode() = on;
    torch::jit::getExecutorMode() = on;
  });
  flag("tensorExprFuser", [](bool on) {
    torch::jit::overrideCanFuseOnCPU(on);
    torch::jit::setTensorExprFuserEnabled(on);
  });
  return env.Undefined();
}

// Ends the process without running static destructors: LibTorch's (its operator and kernel
// registries) took 85–110 ms of a one-photo `predict` (0.6 s in all) after the output was
// written, measured with strace: one busy main thread, no system calls. For a caller that has
// flushed its output and closed what it opened (exitAfterOutput, src/native.ts).
[[noreturn]] void ExitNow(const Napi::CallbackInfo& info) {
  const int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 0;
  std::_Exit(code);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  DisableNnpackWhereItCannotRun();
  exports.Set("TorchModule", TorchModule::Define(env));
  exports.Set("load", Napi::Function::New(env, TorchModule::Load, "load"));
  exports.Set("setNumThreads", Napi::Function::New(env, SetNumThreads, "setNumThreads"));
  exports.Set("configureJit", Napi::Function::New(env, ConfigureJit, "configureJit"));
  exports.Set("numThreads", Napi::Function::New(env, NumThreads, "numThreads"));
  exports.Set("exitNow", Napi::Function::New(env, ExitNow, "exitNow"));
  exports.Set("libtorchVersion", Napi::String::New(env, TORCH_VERSION));
  return exports;
}

}  // namespace
}  // namespace pytorch_infer

using pytorch_infer::Init;
NODE_API_MODULE(pytorch_infer, Init)
