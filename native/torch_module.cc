#include "torch_module.h"

#include "inference_thread.h"

#include <ATen/Parallel.h>

#include <sys/mman.h>

#include <cstring>

#include <string>
#include <vector>

namespace pytorch_infer {
namespace {

constexpr size_t kMaxRank = 8;

// c10::Error::what() carries a C++ backtrace; users need only the message.
std::string Describe(const std::exception& e) {
  if (auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

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
  LoadWorker(Napi::Env env, std::string path, bool optimize)
      : Napi::AsyncWorker(env, "pytorch-infer:load"),
        deferred_(Napi::Promise::Deferred::New(env)),
        path_(std::move(path)),
        optimize_(optimize) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      RunOnInferenceThread([this] {
        at::init_num_threads();
        auto model = std::make_shared<Model>();
        model->module = torch::jit::load(path_, torch::kCPU);
        model->module.eval();
        // Freezing folds batch norms and weights into constants and picks
        // inference kernels; a module it cannot handle is an error, not a silent fallback.
        if (optimize_) model->module = torch::jit::optimize_for_inference(model->module);
        model_ = std::move(model);
      });
    } catch (const std::exception& e) {
      SetError("cannot load TorchScript model '" + path_ + "': " + Describe(e));
    }
  }

  void OnOK() override {
    auto holder = Napi::External<std::shared_ptr<Model>>::New(
        Env(), new std::shared_ptr<Model>(std::move(model_)),
        [](Napi::Env, std::shared_ptr<Model>* p) { delete p; });
    deferred_.Resolve(Constructor(Env()).New({holder}));
  }

  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  bool optimize_;
  std::shared_ptr<Model> model_;
};

class ForwardWorker : public Napi::AsyncWorker {
 public:
  ForwardWorker(Napi::Env env, std::shared_ptr<Model> model, torch::Tensor input)
      : Napi::AsyncWorker(env, "pytorch-infer:forward"),
        deferred_(Napi::Promise::Deferred::New(env)),
        model_(std::move(model)),
        input_(std::move(input)) {}

  Napi::Promise Promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      RunOnInferenceThread([this] {
        at::init_num_threads();  // apply the process-wide intra-op setting
        c10::InferenceMode guard;
        torch::jit::IValue result = model_->module.forward({input_});
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
  torch::Tensor input_;
  torch::Tensor output_;
};

}  // namespace

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
    return Rejected(env, Napi::TypeError::New(env, "load(path, optimize): path must be a string"));
  }
  bool optimize = info.Length() < 2 || info[1].IsUndefined() || info[1].ToBoolean().Value();
  auto* worker = new LoadWorker(env, info[0].As<Napi::String>().Utf8Value(), optimize);
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
  size_t bytes = data.ByteLength();
  void* pages = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (pages == MAP_FAILED) {
    return Rejected(env, Napi::Error::New(env, "forward(): cannot allocate " + std::to_string(bytes) + " bytes for the input"));
  }
  std::memcpy(pages, data.Data(), bytes);
  torch::Tensor input = torch::from_blob(pages, shape, [bytes](void* p) { munmap(p, bytes); }, torch::kFloat32);
  auto* worker = new ForwardWorker(env, model_, std::move(input));
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

void TorchModule::Close(const Napi::CallbackInfo&) { model_.reset(); }

}  // namespace pytorch_infer
