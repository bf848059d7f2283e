export * from './module.js';
export * from './arena.js';
export * from './init.js';
export * from './layers.js';
