# The optional native kernels (native/backprop_native.c): built at install by native/install.mjs, which
# never fails the install. Needs a C compiler, make and OpenBLAS's CBLAS (Debian: libopenblas-dev).
{
  "targets": [
    {
      "target_name": "backprop_native",
      "sources": ["native/backprop_native.c"],
      "cflags": ["-O2", "-std=c11"],
      "include_dirs": ["/usr/include/x86_64-linux-gnu/openblas-pthread", "/usr/include/openblas"],
      "libraries": ["-lopenblas"]
    }
  ]
}
