{
  # node-gyp build of the same sources as CMakeLists.txt (`node scripts/build-native.mjs --gyp`).
  # LibTorch comes from scripts/libtorch.mjs, in the same discovery order as the cmake-js build;
  # the RPATH, as in CMakeLists.txt, is <package>/libtorch/lib (a link build-native.mjs makes).
  "targets": [
    {
      "target_name": "pytorch_infer",
      "sources": ["native/addon.cc", "native/torch_module.cc", "native/inference_thread.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node scripts/libtorch.mjs --print include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-fexceptions", "-frtti"],
      "libraries": [
        "-L<!(node scripts/libtorch.mjs --print lib)",
        "-Wl,-rpath,'$$ORIGIN/../../libtorch/lib'",
        "-ltorch", "-ltorch_cpu", "-lc10"
      ]
    },
    {
      # The decode side: the JPEG decoder and the heap trim; libjpeg-turbo only (libjpeg-dev), no LibTorch.
      "target_name": "pytorch_infer_jpeg",
      "sources": ["native/jpeg_decoder.cc", "native/heap_trim.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "cflags_cc": ["-std=c++20", "-fexceptions"],
      "libraries": ["-ljpeg"]
    }
  ]
}
