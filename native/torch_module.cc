#include "torch_module.h"

#include "inference_thread.h"

#include <caffe2/serialize/inline_container.h>

#include <ATen/Parallel.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/codegen/onednn/interface.h>
#include <torch/csrc/jit/passes/pass_manager.h>
#include <torch/csrc/jit/runtime/graph_executor.h>

#include <sys/mman.h>

#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pytorch_infer {
namespace {

constexpr size_t kMaxRank = 8;
// Input shapes that get a fused function of their own (the batch sizes a server sends); later
// shapes run the frozen module's own, which is fused for the first shape it saw.
constexpr size_t kMaxFusedShapes = 32;

// The oneDNN Graph fuser is a graph executor pass, and passes are process-wide. This one fuses
// only graphs optimised on a thread that is running a kFused model's forward, so plain, frozen
// and oneDNN-layout models loaded in the same process stay what they are.
thread_local bool fuse_graphs = false;

struct FuseGraphsGuard {
  explicit FuseGraphsGuard(bool on) : before(fuse_graphs) { fuse_graphs = on; }
  ~FuseGraphsGuard() { fuse_graphs = before; }
  bool before;
};

void RegisterFusionPass() {
  static const bool registered = [] {
    torch::jit::registerPrePass([](std::shared_ptr<torch::jit::Graph>& graph) {
      if (fuse_graphs) torch::jit::fuser::onednn::fuseGraph(graph);
    });
    return true;
  }();
  (void)registered;
}

// c10::Error::what() carries a C++ backtrace; users need only the message.
std::string Describe(const std::exception& e) {
  if (auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

// Input buffers: anonymous mappings kept for reuse once a forward is done with them. Copying a
// batch-1 input into fresh pages took 0.5–2 ms on the event loop (a fault per page); into
// reused pages, a memcpy. Kept: at most kMaxKept regions and kMaxKeptBytes, newest first.
class InputPages {
 public:
  static void* Take(size_t bytes) {
    Kept& kept = Instance();
    {
      std::lock_guard<std::mutex> lock(kept.mutex);
      for (auto it = kept.regions.begin(); it != kept.regions.end(); ++it) {
        if (it->second == bytes) {
          void* p = it->first;
          kept.bytes -= bytes;
          kept.regions.erase(it);
          return p;
        }
      }
    }
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }

  static void Give(void* p, size_t bytes) {
    Kept& kept = Instance();
    std::vector<std::pair<void*, size_t>> evicted;
    {
      std::lock_guard<std::mutex> lock(kept.mutex);
      kept.regions.insert(kept.regions.begin(), {p, bytes});
      kept.bytes += bytes;
      while (kept.regions.size() > kMaxKept || kept.bytes > kMaxKeptBytes) {
        evicted.push_back(kept.regions.back());
        kept.bytes -= kept.regions.back().second;
        kept.regions.pop_back();
      }
    }
    for (auto [q, n] : evicted) munmap(q, n);
  }

 private:
  static constexpr size_t kMaxKept = 8;
  static constexpr size_t kMaxKeptBytes = 64u << 20;
  struct Kept {
    std::mutex mutex;
    std::vector<std::pair<void*, size_t>> regions;
    size_t bytes = 0;
  };
  // Never destroyed: a forward still running at exit may give its pages back.
  static Kept& Instance() {
    static Kept* kept = new Kept();
    return *kept;
  }
};

Napi::Value Rejected(Napi::Env env, const Napi::Error& error) {
  auto deferred = Napi::Promise::Deferred::New(env);
  deferred.Reject(error.Value());
  return deferred.Promise();
}

Napi::FunctionReference& Constructor(Napi::Env env) {
  return *env.GetInstanceData<Napi::FunctionReference>();
}

class LoadWorker : public Napi::AsyncWorker {
 public:
  LoadWorker(Napi::Env env, std::string path, LoadOptions options)
      : Napi::AsyncWorker(env, "pytorch-infer:load"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        options_(options) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      RunOnInferenceThread(0, [this] { model_ = Model::Load(path_, options_); });
      // A model folder's config may travel inside the TorchScript file (torch.jit.save's
      // _extra_files): one record of the archive, read without loading the module again.
      caffe2::serialize::PyTorchStreamReader archive(path_);
      if (archive.hasRecord("extra/config.json")) {
        auto [data, size] = archive.getRecord("extra/config.json");
        config_.assign(static_cast<const char*>(data.get()), size);
      }
    } catch (const std::exception& e) {
      SetError("cannot load TorchScript model '" + path_ + "': " + Describe(e));
    }
  }

  void OnOK() override {
    auto holder = Napi::External<std::shared_ptr<Model>>::New(
        Env(), new std::shared_ptr<Model>(std::move(model_)),
        [](Napi::Env, std::shared_ptr<Model>* p) { delete p; });
    Napi::Object module = Constructor(Env()).New({holder});
    if (!config_.empty()) module.Set("config", config_);
    deferred_.Resolve(module);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  LoadOptions options_;
  std::shared_ptr<Model> model_;
  std::string config_;  // the archive's extra/config.json, empty when it has none
};

class ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, std::shared_ptr<Model> model, torch::Tensor input)
      : Napi::AsyncWorker(env, "pytorch-infer:forward"),
        deferred_(Napi::Promise::Deferred::New(env)),
        model_(std::move(model)),
        input_(std::move(input)) {}
  ~ForwardWorker() override { model_->ReleaseLane(lane_); }

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      RunOnInferenceThread(lane_, [this] {
        torch::jit::IValue result = model_->Forward(input_);
        input_ = torch::Tensor();
        output_ = FirstTensor(result).to(torch::kFloat32).contiguous();
      });
    } catch (const std::exception& e) {
      SetError("forward failed: " + Describe(e));
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    auto data = Napi::Float32Array::New(env, output_.numel());
    std::memcpy(data.Data(), output_.data_ptr<float>(), output_.numel() * sizeof(float));
    auto shape = Napi::Array::New(env, output_.dim());
    for (int64_t i = 0; i < output_.dim(); ++i) shape.Set(i, Napi::Number::New(env, output_.size(i)));
    auto result = Napi::Object::New(env);
    result.Set("data", data);
    result.Set("shape", shape);
    output_ = torch::Tensor();
    deferred_.Resolve(result);
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  // Classifiers return logits; some wrap them in a tuple or list.
  static torch::Tensor FirstTensor(const torch::jit::IValue& value) {
    if (value.isTensor()) return value.toTensor();
    if (value.isTuple() && !value.toTupleRef().elements().empty()) return FirstTensor(value.toTupleRef().elements()[0]);
    if (value.isList() && !value.toListRef().empty()) return FirstTensor(value.toListRef()[0]);
    throw std::runtime_error("the model returned " + value.tagKind() + ", expected a tensor");
  }

  Napi::Promise::Deferred deferred_;
  std::shared_ptr<Model> model_;
  int lane_ = model_->AcquireLane();  // after model_, which it needs
  torch::Tensor input_;
  torch::Tensor output_;
};

GraphMode ParseMode(const std::string& name) {
  if (name == "plain") return GraphMode::kPlain;
  if (name == "frozen") return GraphMode::kFrozen;
  if (name == "mkldnn") return GraphMode::kMkldnn;
  if (name == "fused") return GraphMode::kFused;
  throw std::invalid_argument("mode must be one of plain, frozen, mkldnn, fused; got '" + name + "'");
}

// load(path, true | false | { optimize, mode, channelsLast, noGrad, executorOptimize, lanes }).
LoadOptions ParseLoadOptions(const Napi::Value& value) {
  LoadOptions options;
  if (value.IsUndefined()) return options;
  if (value.IsBoolean()) {
    if (!value.As<Napi::Boolean>().Value()) options.mode = GraphMode::kPlain;
    return options;
  }
  if (!value.IsObject()) throw std::invalid_argument("options must be a boolean or an object");
  Napi::Object o = value.As<Napi::Object>();
  auto flag = [&o](const char* key, bool fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsBoolean()) throw std::invalid_argument(std::string(key) + " must be a boolean");
    return v.As<Napi::Boolean>().Value();
  };
  if (!flag("optimize", true)) options.mode = GraphMode::kPlain;
  Napi::Value mode = o.Get("mode");
  if (!mode.IsUndefined()) {
    if (!mode.IsString()) throw std::invalid_argument("mode must be a string");
    options.mode = ParseMode(mode.As<Napi::String>().Utf8Value());
  }
  options.channels_last = flag("channelsLast", options.channels_last);
  options.no_grad = flag("noGrad", options.no_grad);
  options.executor_optimize = flag("executorOptimize", options.executor_optimize);
  Napi::Value lanes = o.Get("lanes");
  if (!lanes.IsUndefined()) {
    double n = lanes.IsNumber() ? lanes.As<Napi::Number>().DoubleValue() : 0;
    if (!(n >= 1 && n <= kMaxLanes && n == static_cast<int>(n))) {
      throw std::invalid_argument("lanes must be an integer from 1 to " + std::to_string(kMaxLanes));
    }
    options.lanes = static_cast<int>(n);
  }
  return options;
}

}  // namespace

std::shared_ptr<Model> Model::Load(const std::string& path, const LoadOptions& options) {
  at::init_num_threads();
  RegisterFusionPass();
  auto model = std::make_shared<Model>();
  model->options_ = options;
  torch::jit::Module& module = model->module_;
  module = torch::jit::load(path, torch::kCPU);
  module.eval();
  if (options.channels_last) {
    torch::NoGradGuard no_grad;
    for (torch::Tensor p : module.parameters()) {
      if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
    }
  }
  // A module these passes cannot handle is an error, not a silent fallback. The int8 artifact
  // goes through all of them unchanged in effect: oneDNN Graph finds nothing to fuse among
  // quantized ops (measured in Python, same binaries: same logits as
  // unfused, 4.3 ms vs 4.7 at batch 1 on 1 thread: noise).
  switch (options.mode) {
    case GraphMode::kPlain:
      break;
    case GraphMode::kFrozen:
    case GraphMode::kFused:
      module = torch::jit::freeze(module);
      break;
    case GraphMode::kMkldnn:
      module = torch::jit::optimize_for_inference(module);
      break;
  }
  if (options.mode == GraphMode::kFused) {
    model->graph_ = torch::jit::toGraphFunction(module.get_method("forward").function()).graph();
  }
  return model;
}

int Model::AcquireLane() {
  int best = 0;
  for (int lane = 1; lane < options_.lanes; ++lane) {
    if (busy_[lane].load() < busy_[best].load()) best = lane;
  }
  ++busy_[best];
  return best;
}

void Model::ReleaseLane(int lane) { --busy_[lane]; }

torch::jit::GraphFunction* Model::FusedFunction(const torch::Tensor& input) {
  std::lock_guard<std::mutex> lock(functions_mutex_);
  std::vector<int64_t> key = input.sizes().vec();
  auto found = functions_.find(key);
  if (found != functions_.end()) return found->second.get();
  if (functions_.size() >= kMaxFusedShapes) return nullptr;
  auto function = std::make_unique<torch::jit::GraphFunction>("forward", graph_->copy(), nullptr);
  return functions_.emplace(std::move(key), std::move(function)).first->second.get();
}

torch::jit::IValue Model::Forward(const torch::Tensor& input) {
  at::init_num_threads();  // apply the process-wide intra-op setting to this thread
  std::optional<c10::InferenceMode> inference_mode;
  std::optional<torch::NoGradGuard> no_grad;
  if (options_.no_grad) no_grad.emplace(); else inference_mode.emplace();
  torch::jit::GraphOptimizerEnabledGuard optimize(options_.executor_optimize);
  FuseGraphsGuard fuse(options_.mode == GraphMode::kFused);
  torch::Tensor x = options_.channels_last ? input.contiguous(at::MemoryFormat::ChannelsLast) : input;
  torch::jit::GraphFunction* function = options_.mode == GraphMode::kFused ? FusedFunction(x) : nullptr;
  if (!function) return module_.forward({x});
  torch::jit::Stack stack{module_._ivalue(), x};
  function->run(stack);
  return stack.back();
}

Napi::Function TorchModule::Define(Napi::Env env) {
  Napi::Function ctor = DefineClass(env, "TorchModule", {
      InstanceMethod("forward", &TorchModule::Forward),
      InstanceMethod("close", &TorchModule::Close),
  });
  env.SetInstanceData(new Napi::FunctionReference(Napi::Persistent(ctor)));
  return ctor;
}

TorchModule::TorchModule(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TorchModule>(info) {
  if (info.Length() != 1 || !info[0].IsExternal()) {
    throw Napi::TypeError::New(info.Env(), "TorchModule cannot be constructed directly; use load(path)");
  }
  model_ = *info[0].As<Napi::External<std::shared_ptr<Model>>>().Data();
}

Napi::Value TorchModule::Load(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsString()) {
    return Rejected(env, Napi::TypeError::New(env, "load(path, options): path must be a string"));
  }
  LoadOptions options;
  try {
    options = ParseLoadOptions(info[1]);
  } catch (const std::invalid_argument& e) {
    return Rejected(env, Napi::TypeError::New(env, std::string("load(path, options): ") + e.what()));
  }
  auto* worker = new LoadWorker(env, info[0].As<Napi::String>().Utf8Value(), options);
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Value TorchModule::Forward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!model_) return Rejected(env, Napi::Error::New(env, "forward() after close(): the model is closed"));
  if (info.Length() < 2 || !info[0].IsTypedArray() ||
      info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    return Rejected(env, Napi::TypeError::New(env, "forward(data, shape): data must be a Float32Array"));
  }
  if (!info[1].IsArray()) {
    return Rejected(env, Napi::TypeError::New(env, "forward(data, shape): shape must be an array of dimensions"));
  }
  auto data = info[0].As<Napi::Float32Array>();
  auto dims = info[1].As<Napi::Array>();
  if (dims.Length() == 0 || dims.Length() > kMaxRank) {
    return Rejected(env, Napi::RangeError::New(env, "shape must have 1 to 8 dimensions"));
  }
  std::vector<int64_t> shape;
  double count = 1;
  for (uint32_t i = 0; i < dims.Length(); ++i) {
    Napi::Value dim = dims.Get(i);
    double d = dim.IsNumber() ? dim.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 1 && d <= 1e9 && d == static_cast<int64_t>(d))) {
      return Rejected(env, Napi::RangeError::New(env, "shape[" + std::to_string(i) + "] must be a positive integer"));
    }
    shape.push_back(static_cast<int64_t>(d));
    count *= d;
  }
  if (count != static_cast<double>(data.ElementLength())) {
    return Rejected(env, Napi::RangeError::New(env, "data has " + std::to_string(data.ElementLength()) +
                                                        " elements but shape needs " + std::to_string(static_cast<int64_t>(count))));
  }
  // A copy owned by the worker: JS may reuse or transfer its buffer while the forward runs. It
  // lives in pages of its own, not in the malloc heap: there the small allocations made while
  // it is in use (results JS keeps until the next GC) split its chunk when it is freed, the next
  // input no longer fits, and RSS grows by an input per forward (measured: +575 MB per 1000).
  // The pages are reused (InputPages): fresh ones cost a page fault per 4 KB on the event loop.
  size_t bytes = data.ByteLength();
  void* pages = InputPages::Take(bytes);
  if (!pages) {
    return Rejected(env, Napi::Error::New(env, "forward(): cannot allocate " + std::to_string(bytes) + " bytes for the input"));
  }
  std::memcpy(pages, data.Data(), bytes);
  torch::Tensor input = torch::from_blob(pages, shape, [bytes](void* p) { InputPages::Give(p, bytes); }, torch::kFloat32);
  auto* worker = new ForwardWorker(env, model_, std::move(input));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

void TorchModule::Close(const Napi::CallbackInfo&) { model_.reset(); }

}  // namespace pytorch_infer
