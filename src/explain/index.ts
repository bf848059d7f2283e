export * from './network.js';
export * from './trace.js';
export { formatTrace } from './format.js';
