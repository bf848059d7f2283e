// Entry point of the WASM kernels: every export the JavaScript side calls. The module imports its
// memory (shared, so worker threads run the same code on the same data) and owns no static data:
// all storage, packing buffers included, is handed in by the JavaScript allocator.
export * from './exports.gen'; // unary_<op>, binary_<op>: one per row of the kernel table
export * from './elementwise';
export * from './fused';
export { gemm, gemm_small, gemv, gemm_scratch_bytes, set_gemm_scratch } from './gemm';

/** End of the module's static data (math tables): JavaScript-managed memory must start above it. */
export function heap_base(): usize { return __heap_base; }
