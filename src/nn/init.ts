/** Weight initialisers. Each fills a tensor in place from a seeded generator. */
import { globalRng, type Rng } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';

/** A parameter initializer: constant, uniform, normal, Glorot or He. */
export type Init =
  | { kind: 'uniform'; scale: number }          // U(−scale, scale), TensorFlow PTB's init_scale
  | { kind: 'glorotUniform' }                    // U(±√(6/(fanIn+fanOut))), Glorot & Bengio 2010
  | { kind: 'normal'; std: number }
  | { kind: 'zeros' }
  | { kind: 'constant'; value: number };

/**
 * Fill `t` per `init`. Fans are read from a [fanIn, fanOut] shape (dense and recurrent kernels).
 *
 * @example
 * ```ts
 * import { initialize, zeros, Rng } from 'backprop';
 * const w = initialize(zeros([4, 4]), { kind: 'uniform', scale: 0.1 }, new Rng(1)); // in place, returned
 * ```
 */
export function initialize(t: Tensor, init: Init, rng: Rng = globalRng): Tensor {
  const d = t.data;
  switch (init.kind) {
    case 'uniform': for (let i = 0; i < d.length; i++) d[i] = rng.uniform(-init.scale, init.scale); break;
    case 'glorotUniform': {
      const fanIn = t.shape.length >= 2 ? t.shape[t.shape.length - 2]! : t.shape[0] ?? 1;
      const fanOut = t.shape[t.shape.length - 1] ?? 1;
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      for (let i = 0; i < d.length; i++) d[i] = rng.uniform(-limit, limit);
      break;
    }
    case 'normal': for (let i = 0; i < d.length; i++) d[i] = rng.normal(0, init.std); break;
    case 'zeros': d.fill(0); break;
    case 'constant': d.fill(init.value); break;
  }
  return t;
}
