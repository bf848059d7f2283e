/*
 * backprop's optional native kernels for Node: the GEMM family through OpenBLAS's CBLAS, working in
 * place on the WASM backend's memory.
 *
 * The WASM backend keeps every tensor in one WebAssembly.Memory. Each call is handed a Uint8Array over
 * that memory's whole buffer (a new one after the memory grows and its buffer object changes) and byte
 * offsets into it, exactly as the WASM kernels get them: no copy in or out, so tensors, arenas, scopes
 * and every other kernel stay as they are. The addon keeps no memory of its own between calls, so
 * backends in several threads (worker_threads) can share it. Every call checks that the matrices it
 * will touch lie inside the memory, so a wrong offset is a RangeError, never a write outside it.
 *
 * Exports:
 *   sgemm(memory: Uint8Array, a, b, c, batch, M, K, N, transA, transB, accumulate, strideA, strideB)
 *       for p in [0, batch): C_p[M,N] (+)= op(A_p) · op(B_p), row-major; a, b, c byte offsets;
 *       A_p = a + p·strideA elements (0 broadcasts), likewise B; C_p = c + p·M·N elements.
 *       One row (M = 1) or one column (N = 1) goes to sgemv: a matrix-vector product is bound by
 *       memory bandwidth, and GEMM's packing would read the matrix twice.
 *   setThreads(n)                                     openblas_set_num_threads(n)
 *   info() -> { config, corename, threads, parallel } what OpenBLAS reports about itself
 */
#include <stdint.h>
#include <string.h>
#include <stdio.h>
#include <node_api.h>
#include <cblas.h>

/* Declared by OpenBLAS's cblas.h; repeated here so that a CBLAS header from another vendor fails to link, not to compile silently. */
extern void openblas_set_num_threads(int num_threads);
extern int openblas_get_num_threads(void);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);
extern int openblas_get_parallel(void);

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "backprop native: N-API call failed: " #call); return NULL; } } while (0)

/* The memory a call works on: `view` must be a Uint8Array over the whole buffer (from byte 0). */
static int memory_of(napi_env env, napi_value view, uint8_t **base, size_t *bytes) {
  bool is_typed = false;
  napi_typedarray_type type;
  size_t offset;
  void *data;
  napi_value buffer;
  if (napi_is_typedarray(env, view, &is_typed) != napi_ok || !is_typed
      || napi_get_typedarray_info(env, view, &type, bytes, &data, &buffer, &offset) != napi_ok
      || type != napi_uint8_array || offset != 0) {
    napi_throw_type_error(env, NULL, "backprop native: sgemm takes a Uint8Array over the whole WebAssembly memory first");
    return 0;
  }
  *base = (uint8_t *)data;
  return 1;
}

/* Reads argument i as a non-negative integer (doubles: byte offsets go up to 4 GiB). */
static int arg_index(napi_env env, napi_value v, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok || !(*out >= 0) || *out != (double)(int64_t)*out) {
    napi_throw_type_error(env, NULL, "backprop native: sgemm takes non-negative integer offsets and sizes");
    return 0;
  }
  return 1;
}

/* True when [byte, byte + 4·elements) lies inside a memory of `bytes` bytes and is 4-byte aligned. */
static int inside(double byte, double elements, size_t bytes) {
  return ((uint64_t)byte & 3) == 0 && byte + 4 * elements <= (double)bytes;
}

static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 13) {
    napi_throw_type_error(env, NULL, "backprop native: sgemm takes 13 arguments");
    return NULL;
  }
  uint8_t *mem_base;
  size_t mem_bytes;
  if (!memory_of(env, argv[0], &mem_base, &mem_bytes)) return NULL;
  double v[12];
  for (int i = 0; i < 12; i++) if (!arg_index(env, argv[i + 1], &v[i])) return NULL;
  const double a = v[0], b = v[1], c = v[2], batch = v[3], M = v[4], K = v[5], N = v[6];
  const int transA = v[7] != 0, transB = v[8] != 0, accumulate = v[9] != 0;
  const double sA = v[10], sB = v[11];
  if (M > INT32_MAX || K > INT32_MAX || N > INT32_MAX) {
    napi_throw_range_error(env, NULL, "backprop native: sgemm dimensions exceed 2^31");
    return NULL;
  }
  if (batch == 0 || M == 0 || N == 0) return NULL;
  /* The last matrix of each operand must end inside the memory (the first starts at its offset). */
  const double last = batch - 1;
  if (!inside(a, last * sA + M * K, mem_bytes) || !inside(b, last * sB + K * N, mem_bytes) || !inside(c, batch * M * N, mem_bytes)) {
    char msg[200];
    snprintf(msg, sizeof msg, "backprop native: sgemm operands outside the memory (%.0f bytes): a %.0f, b %.0f, c %.0f, %.0fx%.0fx%.0fx%.0f",
      (double)mem_bytes, a, b, c, batch, M, K, N);
    napi_throw_range_error(env, NULL, msg);
    return NULL;
  }
  const int m = (int)M, k = (int)K, n = (int)N;
  const float beta = accumulate ? 1.0f : 0.0f;
  for (int64_t p = 0; p < (int64_t)batch; p++) {
    const float *pa = (const float *)(mem_base + (size_t)a) + (size_t)p * (size_t)sA;
    const float *pb = (const float *)(mem_base + (size_t)b) + (size_t)p * (size_t)sB;
    float *pc = (float *)(mem_base + (size_t)c) + (size_t)p * (size_t)m * (size_t)n;
    if (k == 0) {
      if (!accumulate) for (size_t i = 0; i < (size_t)m * (size_t)n; i++) pc[i] = 0.0f;
    } else if (m == 1) {
      /* out[1,N] = a[K] · op(B): a is one contiguous K-vector whether or not A is transposed.
       * Without accumulation C is zeroed first and gemv accumulates into it: whether gemv's beta = 0 reads
       * the old C (and so carries a NaN left there) has differed across OpenBLAS versions and kernels; the
       * reference never reads it. */
      if (!accumulate) memset(pc, 0, (size_t)n * sizeof(float));
      if (transB) cblas_sgemv(CblasRowMajor, CblasNoTrans, n, k, 1.0f, pb, k, pa, 1, 1.0f, pc, 1);
      else cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, pb, n, pa, 1, 1.0f, pc, 1);
    } else if (n == 1) {
      /* out[M,1] = op(A) · b: b is one contiguous K-vector whether or not B is transposed (C zeroed first, as above). */
      if (!accumulate) memset(pc, 0, (size_t)m * sizeof(float));
      if (transA) cblas_sgemv(CblasRowMajor, CblasTrans, k, m, 1.0f, pa, m, pb, 1, 1.0f, pc, 1);
      else cblas_sgemv(CblasRowMajor, CblasNoTrans, m, k, 1.0f, pa, k, pb, 1, 1.0f, pc, 1);
    } else {
      cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
        m, n, k, 1.0f, pa, transA ? m : k, pb, transB ? k : n, beta, pc, n);
    }
  }
  return NULL;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n = 0;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_get_value_int32(env, argv[0], &n) != napi_ok || n < 1) {
    napi_throw_type_error(env, NULL, "backprop native: setThreads takes a positive integer");
    return NULL;
  }
  openblas_set_num_threads(n);
  return NULL;
}

static napi_value get_info(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, s;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, out, "config", s));
  CHECK(napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, out, "corename", s));
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &s));
  CHECK(napi_set_named_property(env, out, "threads", s));
  /* 0: sequential build, 1: pthreads, 2: OpenMP. */
  const int par = openblas_get_parallel();
  CHECK(napi_create_string_utf8(env, par == 0 ? "sequential" : par == 1 ? "pthreads" : "openmp", NAPI_AUTO_LENGTH, &s));
  CHECK(napi_set_named_property(env, out, "parallel", s));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "sgemm", NULL, sgemm, NULL, NULL, NULL, napi_enumerable, NULL },
    { "setThreads", NULL, set_threads, NULL, NULL, NULL, napi_enumerable, NULL },
    { "info", NULL, get_info, NULL, NULL, NULL, napi_enumerable, NULL },
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
