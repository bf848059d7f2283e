/**
 * Modules and parameters. A `Module` owns parameters (trainable tensors) and child modules as plain
 * fields; `namedParameters()` walks them in declaration order, naming each by its path
 * (`layers.0.weight`), which is also the name used in checkpoints and exported files.
 */
import { ParamArena } from './arena.js';
import { Tensor } from '../tensor/tensor.js';
import { allocArena, type DType } from '../backend/index.js';
import { sizeOf, type Shape } from '../tensor/shape.js';

/**
 * A trainable tensor: a leaf that requires grad. Its storage is long-lived ('arena': a model built inside
 * an engine scope keeps its weights, and they stay in WASM memory); `Module.arena()` later packs it into
 * the model's one parameter block.
 *
 * @example
 * ```ts
 * import { Parameter, initialize } from 'backprop';
 * const w = initialize(new Parameter([3, 2]), { kind: 'glorotUniform' }); // a trainable leaf (requiresGrad)
 * ```
 */
export class Parameter extends Tensor {
  constructor(shape: Shape, dtype: DType = 'float32') {
    super(allocArena(dtype, sizeOf(shape)), shape, dtype, true);
  }
}

/**
 * A model part that owns parameters and child modules (see the file header).
 *
 * @example
 * ```ts
 * import { Module, Dense, type Tensor } from 'backprop';
 * class TwoLayer extends Module {
 *   hidden = new Dense(2, 4, { activation: 'tanh' });
 *   out = new Dense(4, 1);
 *   forward(x: Tensor): Tensor { return this.out.forward(this.hidden.forward(x)); }
 * }
 * new TwoLayer().namedParameters().map(([name]) => name); // ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
 * ```
 */
export abstract class Module {
  /** Training mode (dropout active) or evaluation mode. */
  training = true;
  private arenaCache: ParamArena | null = null;

  /** Parameters with their dotted path names, in declaration order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    const visit = (v: unknown, name: string) => {
      if (v instanceof Parameter) out.push([name, v]);
      else if (v instanceof Module) out.push(...v.namedParameters(name + '.'));
      else if (Array.isArray(v)) v.forEach((x, i) => visit(x, `${name}.${i}`));
    };
    for (const [k, v] of Object.entries(this)) {
      if (k === 'arenaCache') continue;
      visit(v, prefix + k);
    }
    return out;
  }

  /** The parameters, in declaration order. */
  parameters(): Tensor[] { return this.namedParameters().map(([, p]) => p); }

  /** The model's parameter arena, packed on first use (parameters become views into one block). */
  arena(): ParamArena {
    if (!this.arenaCache) this.arenaCache = ParamArena.pack(this.namedParameters());
    return this.arenaCache;
  }

  /** Set training (true) or evaluation (false) mode on this module and every child. */
  train(flag = true): this {
    const visit = (v: unknown) => {
      if (v instanceof Module) { v.training = flag; for (const [k, c] of Object.entries(v)) if (k !== 'arenaCache') visit(c); }
      else if (Array.isArray(v)) v.forEach(visit);
    };
    visit(this);
    return this;
  }

  /** Sets evaluation mode (dropout off) on this module and every child. */
  eval(): this { return this.train(false); }

  /** Number of scalar parameters. */
  numParameters(): number { return this.parameters().reduce((p, t) => p + t.size, 0); }
}
