// trimHeap(): Promise<boolean>, exported by the decode side's addon (pytorch_infer_jpeg.node).
#pragma once

#include <napi.h>

namespace pytorch_infer {

void ExportHeapTrim(Napi::Env env, Napi::Object exports);

}  // namespace pytorch_infer
