/**
 * A fused training path for small dense networks: the whole forward pass, the tutorial's backward rules
 * and the SGD update as plain loops over the model's parameter arena, with no tensors or tape in between.
 *
 * For a 1-2-2-1 network, building a graph of a dozen tiny tensors costs far more than the arithmetic
 * itself; this path does the same math (x_j = Σ_i w_ij·y_i + b_j, y = f(x), ∂E/∂y_out = y − t,
 * ∂E/∂x = f'(x)·∂E/∂y, ∂E/∂w_ij = y_i·∂E/∂x_j, ∂E/∂y_i = Σ_j w_ij·∂E/∂x_j, w ← w − α·∂E/∂w) directly.
 * Its test checks it against the autodiff path step by step. Squared error E = Σ ½(y − t)², batch 1.
 * Each layer's f and f' come from the activation table (nn/activations.ts), so every elementwise
 * activation runs here; softmax, which is not elementwise, does not.
 */
import { ConfigError, ShapeError } from '../errors.js';
import type { FloatArray } from '../backend/index.js';
import { activationRow, Dense, Sequential } from '../nn/layers.js';

/** One layer: its sizes, its activation's f and f'(x, y), and views of its weights in the arena. */
interface FusedLayer {
  inSize: number; outSize: number;
  f: (x: number) => number; df: (x: number, y: number) => number;
  w: FloatArray; b: FloatArray;
}

/**
 * SGD on one example at a time for a `Sequential` of `Dense` layers, as plain loops (see the file header).
 *
 * @example
 * ```ts
 * import { FusedDenseTrainer, buildNetwork, defaultNetwork } from 'backprop';
 * const trainer = new FusedDenseTrainer(buildNetwork(defaultNetwork), 0.5);
 * for (let i = 0; i < 100; i++) trainer.step([1], [0]); // SGD on one example; returns its error E
 * ```
 */
export class FusedDenseTrainer {
  private readonly layers: FusedLayer[];
  private readonly ys: Float64Array[];
  /** Pre-activations x of each layer's outputs (f' of relu and others needs x, not only y). */
  private readonly xs: Float64Array[];
  private readonly ds: Float64Array[];

  constructor(net: Sequential, public lr: number) {
    if (!(lr >= 0)) throw new ConfigError(`FusedDenseTrainer: learning rate must be ≥ 0, got ${lr}`);
    net.arena(); // parameters live in the arena; the views below point into it
    this.layers = net.layers.map((l, k) => {
      if (!(l instanceof Dense) || !l.bias) throw new ConfigError(`FusedDenseTrainer: layer ${k} must be a Dense layer with a bias`);
      const { scalar } = activationRow(l.activation);
      if (scalar === null) throw new ConfigError(`FusedDenseTrainer: layer ${k}: ${l.activation} is not elementwise, so not supported on the fused path`);
      return { inSize: l.inSize, outSize: l.outSize, f: scalar.f, df: scalar.df, w: l.weight.data as FloatArray, b: l.bias.data as FloatArray };
    });
    this.ys = [new Float64Array(this.layers[0]!.inSize), ...this.layers.map((l) => new Float64Array(l.outSize))];
    this.xs = this.ys.map((y) => new Float64Array(y.length));
    this.ds = this.ys.map((y) => new Float64Array(y.length));
  }

  /** One SGD step on one example; returns E before the update. */
  step(input: ArrayLike<number>, target: ArrayLike<number>): number {
    const L = this.layers, ys = this.ys, ds = this.ds;
    if (input.length !== ys[0]!.length || target.length !== ys[L.length]!.length) {
      throw new ShapeError(`FusedDenseTrainer: expected ${ys[0]!.length} inputs and ${ys[L.length]!.length} targets, got ${input.length} and ${target.length}`);
    }
    const y0 = ys[0]!;
    for (let i = 0; i < y0.length; i++) y0[i] = input[i]!;
    // Forward: x_j = Σ_i w_ij·y_i + b_j; y_j = f(x_j). (We keep x and y; f' below takes both.)
    const xs = this.xs;
    for (let l = 0; l < L.length; l++) {
      const { inSize, outSize, f, w, b } = L[l]!, yi = ys[l]!, yo = ys[l + 1]!, xo = xs[l + 1]!;
      for (let j = 0; j < outSize; j++) {
        let x = b[j]!;
        for (let i = 0, k = j; i < inSize; i++, k += outSize) x += w[k]! * yi[i]!;
        xo[j] = x;
        yo[j] = f(x);
      }
    }
    // E and ∂E/∂y_out = y_out − y_target.
    const yOut = ys[L.length]!, dOut = ds[L.length]!;
    let E = 0;
    for (let j = 0; j < yOut.length; j++) { const d = yOut[j]! - target[j]!; E += 0.5 * d * d; dOut[j] = d; }
    // Backward, layer by layer: ∂E/∂x = f'(x)·∂E/∂y (kept in ds[l+1]), ∂E/∂y_i = Σ_j w_ij·∂E/∂x_j, then update.
    const lr = this.lr;
    for (let l = L.length - 1; l >= 0; l--) {
      const { inSize, outSize, df, w, b } = L[l]!, yi = ys[l]!, yo = ys[l + 1]!, xo = xs[l + 1]!, dx = ds[l + 1]!, dyIn = ds[l]!;
      for (let j = 0; j < outSize; j++) dx[j] = dx[j]! * df(xo[j]!, yo[j]!);
      for (let i = 0, row = 0; i < inSize; i++, row += outSize) {
        let s = 0;
        for (let j = 0; j < outSize; j++) s += w[row + j]! * dx[j]!;   // uses w before its update
        dyIn[i] = s;
        const g = lr * yi[i]!;                                          // ∂E/∂w_ij = y_i·∂E/∂x_j, times α
        for (let j = 0; j < outSize; j++) w[row + j] = w[row + j]! - g * dx[j]!;
      }
      for (let j = 0; j < outSize; j++) b[j] = b[j]! - lr * dx[j]!;
    }
    return E;
  }
}
