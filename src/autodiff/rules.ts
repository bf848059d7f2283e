/**
 * The one primitive table: every primitive's vector-Jacobian product, gathered from the files that
 * define the primitives (ops.ts: tensor primitives and the fused loss; cells.ts: the fused recurrent
 * cells). Typed `{ [P in Prim]: Rule<P> }`: a primitive declared in primitive.ts without a rule here is a
 * compile error. The tape never looks rules up by name (each forward records its own rule); this table
 * is the complete list, for tests and documentation.
 */
import { cellRules } from './cells.js';
import { tensorRules } from './ops.js';
import type { Prim, Rules } from './primitive.js';

/**
 * The rule table: one vector-Jacobian product per primitive (tensor ops and recurrent cells).
 *
 * @example
 * ```ts
 * import { rules, primitives } from 'backprop';
 * for (const p of primitives) console.log(p, rules[p]); // one forward/VJP rule per primitive
 * ```
 */
export const rules: Rules<Prim> = { ...tensorRules, ...cellRules };

/**
 * Every primitive's name.
 *
 * @example
 * ```ts
 * import { primitives } from 'backprop';
 * primitives.includes('matmul'); // true
 * ```
 */
export const primitives = Object.keys(rules) as Prim[];
