/**
 * View 1: the tutorial's 1-2-2-1 network, walked one step at a time in the tutorial's order. Every
 * number comes from the engine's `traceStep` (the same code as `backprop explain`); this file only
 * decides which numbers to show at each step, and how.
 *
 * Test hooks: each shown value carries data attributes, e.g. `data-node="n1.2" data-field="dEdx"`,
 * `data-param="w2.1.2" data-field="dEdw"` (layer 2, from node 1 to node 2), `data-field="E"`.
 */
import { ACTIVATIONS, activationKinds, activationRow, defaultNetwork, traceStep, traceTraining, type ActivationKind, type NetworkSpec, type NodeTrace, type StepTrace } from '../../src/index.js';
import { h, num, s, svgRoot, tex, texNum } from './dom.js';
import { onLangChange, t, type Key } from './i18n.js';

/** The activations offered here: the rows of the activation table that carry TeX formulas. */
const offered = activationKinds.filter((k) => ACTIVATIONS[k].tex !== null);
type Field = 'x' | 'y' | 'dEdx' | 'dEdy';

interface Step {
  title: Key;
  desc: Key;
  vars?: Record<string, string | number>;
  repeat?: boolean;
  /** Lines of TeX, numbers substituted. */
  lines: string[];
  nodes: string[];
  edges: string[];
  /** Values this step computes, as "n1.2:x", "w2.1.2:dEdw", "E". */
  reveals: string[];
}

// ---- naming: n<layer>.<node> for nodes, w<layer>.<from>.<to> for the weight into <layer> -----------

const nodeId = (layer: number, index: number) => `n${layer}.${index + 1}`;
const weightId = (layer: number, from: number, to: number) => `w${layer}.${from + 1}.${to + 1}`;
const biasId = (layer: number, node: number) => `b${layer}.${node + 1}`;
const sub = (layer: number, index: number) => `${layer}.${index + 1}`;
const wTex = (layer: number, from: number, to: number) => `w_{${sub(layer - 1, from)},\\,${sub(layer, to)}}`;

/** f and f' in TeX, from the activation table. */
function fTex(kind: ActivationKind): { f: string; df: string } {
  return activationRow(kind).tex ?? { f: 'f(x) = x', df: "f'(x) = 1" };
}

/** f'(x) written with this node's numbers (the product itself is the engine's ∂E/∂x). */
function fPrimeTex(n: NodeTrace): string {
  const tex = n.activation === null ? null : activationRow(n.activation as ActivationKind).tex;
  return tex ? tex.dfAt(n.x!, n.y, texNum) : '1';
}

/** The tutorial's sequence of steps for one trace. */
export function buildSteps(tr: StepTrace): Step[] {
  const L = tr.network.layers.length;
  const layer = (l: number) => tr.nodes.filter((n) => n.layer === l);
  const w = (l: number, i: number, j: number) => tr.weights.find((q) => q.layer === l && q.from === i && q.to === j)!;
  const b = (l: number, j: number) => tr.biases.find((q) => q.layer === l && q.node === j)!;
  const allNodes = tr.nodes.map((n) => n.label);
  const allEdges = tr.weights.map((q) => weightId(q.layer, q.from, q.to));
  const out = layer(L);
  const steps: Step[] = [];
  const act = tr.network.layers[0]!.activation;

  steps.push({ title: 's_network', desc: 'd_network', lines: [`\\text{${[tr.network.inputSize, ...tr.network.layers.map((l) => l.biases.length)].join('-')}},\\quad \\alpha = ${tr.learningRate}`], nodes: allNodes, edges: allEdges, reveals: [] });
  steps.push({ title: 's_activation', desc: 'd_activation', lines: [fTex(act).f, fTex(act).df], nodes: tr.nodes.filter((n) => n.layer > 0).map((n) => n.label), edges: [], reveals: [] });
  steps.push({ title: 's_errorFn', desc: 'd_errorFn', lines: ['E = \\tfrac12 \\sum_{\\text{out}} (y_{\\text{out}} - y_{\\text{target}})^2'], nodes: out.map((n) => n.label), edges: [], reveals: [] });

  // Forward.
  for (const n of layer(0)) {
    steps.push({ title: 's_input', desc: 'd_input', lines: [`y_{${sub(0, n.index)}} = x_{\\text{input}} = ${texNum(n.y)}`], nodes: [n.label], edges: [], reveals: [`${n.label}:y`] });
  }
  for (let l = 1; l <= L; l++) {
    for (const n of layer(l)) {
      const prev = layer(l - 1);
      const j = n.index;
      const terms = prev.map((p) => `${texNum(w(l, p.index, j).w, 4, true)}\\cdot ${texNum(p.y, 4, true)}`).join(' + ');
      steps.push({
        title: 's_fwd', desc: 'd_fwd', vars: { node: n.label },
        lines: [
          `x_{${sub(l, j)}} = \\sum_i w_{i,\\,${sub(l, j)}}\\, y_i + b_{${sub(l, j)}} = ${terms} + ${texNum(b(l, j).b, 4, true)} = ${texNum(n.x!)}`,
          `y_{${sub(l, j)}} = f(x_{${sub(l, j)}}) = f(${texNum(n.x!)}) = ${texNum(n.y)}`,
        ],
        nodes: [...prev.map((p) => p.label), n.label],
        edges: prev.map((p) => weightId(l, p.index, j)),
        reveals: [`${n.label}:x`, `${n.label}:y`],
      });
    }
  }
  steps.push({
    title: 's_errorValue', desc: 'd_errorValue',
    lines: [`E = ${out.map((o, k) => `\\tfrac12(${texNum(o.y)} - ${texNum(tr.target[k]!, 4, true)})^2`).join(' + ')} = ${texNum(tr.error, 6)}`],
    nodes: out.map((o) => o.label), edges: [], reveals: ['E'],
  });
  steps.push({
    title: 's_rules', desc: 'd_rules',
    lines: [
      'w_{ij} \\leftarrow w_{ij} - \\alpha\\, \\frac{\\partial E}{\\partial w_{ij}}',
      '\\frac{\\partial E}{\\partial y_{\\text{out}}} = y_{\\text{out}} - y_{\\text{target}}',
      "\\frac{\\partial E}{\\partial x} = f'(x)\\,\\frac{\\partial E}{\\partial y}",
      '\\frac{\\partial E}{\\partial w_{ij}} = y_i\\,\\frac{\\partial E}{\\partial x_j}',
      '\\frac{\\partial E}{\\partial y_i} = \\sum_j w_{ij}\\,\\frac{\\partial E}{\\partial x_j}',
    ],
    nodes: allNodes, edges: allEdges, reveals: [],
  });

  // Backward.
  for (const [k, o] of out.entries()) {
    steps.push({
      title: 's_dEdyOut', desc: 'd_dEdyOut',
      lines: [`\\frac{\\partial E}{\\partial y_{${sub(L, o.index)}}} = y_{\\text{out}} - y_{\\text{target}} = ${texNum(o.y)} - ${texNum(tr.target[k]!, 4, true)} = ${texNum(o.dEdy)}`],
      nodes: [o.label], edges: [], reveals: [`${o.label}:dEdy`],
    });
  }
  for (let l = L; l >= 1; l--) {
    const repeat = l < L;
    for (const n of layer(l)) {
      steps.push({
        title: 's_dEdx', desc: 'd_dEdx', vars: { node: n.label }, repeat,
        lines: [`\\frac{\\partial E}{\\partial x_{${sub(l, n.index)}}} = f'(x)\\,\\frac{\\partial E}{\\partial y} = ${fPrimeTex(n)}\\cdot ${texNum(n.dEdy, 4, true)} = ${texNum(n.dEdx!)}`],
        nodes: [n.label], edges: [], reveals: [`${n.label}:dEdx`],
      });
    }
    const prev = layer(l - 1);
    const lines: string[] = [];
    const reveals: string[] = [];
    for (const p of prev) for (const n of layer(l)) {
      const q = w(l, p.index, n.index);
      lines.push(`\\frac{\\partial E}{\\partial ${wTex(l, p.index, n.index)}} = y_{${sub(l - 1, p.index)}}\\,\\frac{\\partial E}{\\partial x_{${sub(l, n.index)}}} = ${texNum(p.y, 4, true)}\\cdot ${texNum(n.dEdx!, 4, true)} = ${texNum(q.dEdw, 6)}`);
      reveals.push(`${weightId(l, p.index, n.index)}:dEdw`);
    }
    for (const n of layer(l)) {
      lines.push(`\\frac{\\partial E}{\\partial b_{${sub(l, n.index)}}} = \\frac{\\partial E}{\\partial x_{${sub(l, n.index)}}} = ${texNum(b(l, n.index).dEdb, 6)}`);
      reveals.push(`${biasId(l, n.index)}:dEdw`);
    }
    steps.push({
      title: 's_dEdw', desc: 'd_dEdw', vars: { layer: l }, repeat, lines,
      nodes: [...prev, ...layer(l)].map((n) => n.label),
      edges: prev.flatMap((p) => layer(l).map((n) => weightId(l, p.index, n.index))),
      reveals,
    });
    for (const p of prev) {
      const terms = layer(l).map((n) => `${texNum(w(l, p.index, n.index).w, 4, true)}\\cdot ${texNum(n.dEdx!, 4, true)}`).join(' + ');
      steps.push({
        title: 's_dEdy', desc: 'd_dEdy', vars: { node: p.label }, repeat,
        lines: [`\\frac{\\partial E}{\\partial y_{${sub(l - 1, p.index)}}} = \\sum_j w_{${sub(l - 1, p.index)},\\,j}\\,\\frac{\\partial E}{\\partial x_j} = ${terms} = ${texNum(p.dEdy)}`],
        nodes: [p.label, ...layer(l).map((n) => n.label)],
        edges: layer(l).map((n) => weightId(l, p.index, n.index)),
        reveals: [`${p.label}:dEdy`],
      });
    }
  }

  // Update.
  const lines = [
    ...tr.weights.map((q) => `${wTex(q.layer, q.from, q.to)}: ${texNum(q.w)} - ${tr.learningRate}\\cdot ${texNum(q.dEdw, 6, true)} = ${texNum(q.newW, 6)}`),
    ...tr.biases.map((q) => `b_{${sub(q.layer, q.node)}}: ${texNum(q.b)} - ${tr.learningRate}\\cdot ${texNum(q.dEdb, 6, true)} = ${texNum(q.newB, 6)}`),
    `E: ${texNum(tr.error, 6)} \\to ${texNum(tr.errorAfter, 6)}`,
  ];
  steps.push({
    title: 's_update', desc: 'd_update', lines, nodes: allNodes, edges: allEdges,
    reveals: [...tr.weights.map((q) => `${weightId(q.layer, q.from, q.to)}:newW`), ...tr.biases.map((q) => `${biasId(q.layer, q.node)}:newW`)],
  });
  return steps;
}

// ---- the view --------------------------------------------------------------------------------------

interface State {
  spec: NetworkSpec;
  input: number;
  target: number;
  lr: number;
  step: number;
  /** Error before the first trained step, then after each. */
  curve: number[];
}

export function mountNetworkView(root: HTMLElement): void {
  const st: State = { spec: structuredClone(defaultNetwork), input: 1, target: 0.5, lr: 0.5, step: 0, curve: [] };
  let trace: StepTrace = traceStep(st.spec, [st.input], [st.target], st.lr);
  let steps = buildSteps(trace);

  // Layout: diagram on top; the step panel and the controls side by side below (stacked when narrow).
  const diagram = h('div', { class: 'diagram', 'data-role': 'diagram' });
  const stepTitle = h('h2', { class: 'step-title', 'data-role': 'step-title' });
  const stepCounter = h('span', { class: 'step-counter', 'data-role': 'step-counter' });
  const stepDesc = h('p', { class: 'step-desc' });
  const formulas = h('div', { class: 'formulas', 'data-role': 'formulas' });
  const backBtn = h('button', { type: 'button', 'data-action': 'back' });
  const nextBtn = h('button', { type: 'button', 'data-action': 'next', class: 'primary' });
  const restartBtn = h('button', { type: 'button', 'data-action': 'restart' });
  const stepPanel = h('div', { class: 'panel step-panel' },
    h('div', { class: 'step-nav' }, backBtn, stepCounter, nextBtn, restartBtn), stepTitle, stepDesc, formulas);

  const numInput = (name: string, value: number, step = 'any') => h('input', { type: 'number', step, value, 'data-edit': name, inputmode: 'decimal' });
  const inputEl = numInput('input', st.input), targetEl = numInput('target', st.target), lrEl = numInput('lr', st.lr);
  const actEl = h('select', { 'data-edit': 'activation' }, ...offered.map((a) => h('option', { value: a }, a)));
  const nStepsEl = numInput('nsteps', 100, '1');
  nStepsEl.min = '1'; nStepsEl.max = '5000';
  const applyBtn = h('button', { type: 'button', 'data-action': 'apply' });
  const trainBtn = h('button', { type: 'button', 'data-action': 'train', class: 'primary' });
  const resetBtn = h('button', { type: 'button', 'data-action': 'reset' });
  const labels: [HTMLElement, Key][] = [];
  const label = (key: Key, control: HTMLElement) => { const span = h('span'); labels.push([span, key]); return h('label', {}, span, control); };
  const paramBody = h('tbody');
  const paramHead = h('thead');
  const paramsTitle = h('h3');
  const controls = h('div', { class: 'panel controls' },
    h('div', { class: 'fields' }, label('input', inputEl), label('target', targetEl), label('lr', lrEl), label('activation', actEl)),
    h('div', { class: 'train-row' }, applyBtn, trainBtn, nStepsEl, h('span', { 'data-role': 'nsteps-label' }), resetBtn),
    paramsTitle, h('div', { class: 'table-wrap' }, h('table', { class: 'params' }, paramHead, paramBody)));
  const curveTitle = h('h3');
  const curve = h('div', { class: 'curve', 'data-role': 'curve' });
  const curvePanel = h('div', { class: 'panel curve-panel' }, curveTitle, curve);
  root.append(diagram, h('div', { class: 'below' }, stepPanel, controls), curvePanel);

  // Parameter table: built once (the network's shape never changes here), values refreshed.
  const paramInputs = new Map<string, HTMLInputElement>();
  const paramRows: { id: string; layer: number; i: number; j: number; isBias: boolean }[] = [];
  st.spec.layers.forEach((ls, k) => {
    const l = k + 1;
    ls.weights.forEach((row, i) => row.forEach((_, j) => paramRows.push({ id: weightId(l, i, j), layer: l, i, j, isBias: false })));
    ls.biases.forEach((_, j) => paramRows.push({ id: biasId(l, j), layer: l, i: -1, j, isBias: true }));
  });
  for (const r of paramRows) {
    const input = numInput(r.id, 0, '0.1');
    paramInputs.set(r.id, input);
    const name = h('td', { class: 'pname' });
    tex(name, r.isBias ? `b_{${sub(r.layer, r.j)}}` : wTex(r.layer, r.i, r.j));
    paramBody.append(h('tr', {}, name, h('td', {}, input), h('td', { class: 'num', 'data-param': r.id, 'data-field': 'dEdw' }), h('td', { class: 'num', 'data-param': r.id, 'data-field': 'newW' })));
  }

  function revealed(): Set<string> {
    const set = new Set<string>();
    for (const s of steps.slice(0, st.step + 1)) for (const r of s.reveals) set.add(r);
    return set;
  }

  function recompute(): void {
    trace = traceStep(st.spec, [st.input], [st.target], st.lr);
    steps = buildSteps(trace);
    st.step = Math.min(st.step, steps.length - 1);
    render();
  }

  function renderParams(shown: Set<string>): void {
    for (const r of paramRows) {
      const spec = st.spec.layers[r.layer - 1]!;
      const value = r.isBias ? spec.biases[r.j]! : spec.weights[r.i]![r.j]!;
      const input = paramInputs.get(r.id)!;
      if (document.activeElement !== input) input.value = String(+value.toPrecision(6));
      const g = r.isBias ? trace.biases.find((q) => q.layer === r.layer && q.node === r.j)!.dEdb : trace.weights.find((q) => q.layer === r.layer && q.from === r.i && q.to === r.j)!.dEdw;
      const nw = r.isBias ? trace.biases.find((q) => q.layer === r.layer && q.node === r.j)!.newB : trace.weights.find((q) => q.layer === r.layer && q.from === r.i && q.to === r.j)!.newW;
      const row = input.closest('tr')!;
      row.querySelector<HTMLElement>('[data-field="dEdw"]')!.textContent = shown.has(`${r.id}:dEdw`) ? num(g) : '?';
      row.querySelector<HTMLElement>('[data-field="newW"]')!.textContent = shown.has(`${r.id}:newW`) ? num(nw) : '?';
    }
  }

  function renderDiagram(step: Step, shown: Set<string>): void {
    const width = Math.max(300, Math.min(diagram.clientWidth || 900, 1100));
    const vertical = width < 640;
    const NW = 150, NH = 100;
    const sizes = [trace.network.inputSize, ...trace.network.layers.map((l) => l.biases.length)];
    const L = sizes.length;
    const maxN = Math.max(...sizes);
    const gap = 56;
    const errW = 130, errH = 44;
    const height = vertical ? L * NH + (L - 1) * 90 + errH + 40 : maxN * NH + (maxN - 1) * gap + 24;
    const pos = (l: number, i: number): { x: number; y: number } => {
      const n = sizes[l]!;
      if (vertical) {
        const slot = width / n;
        return { x: slot * (i + 0.5) - NW / 2, y: 8 + l * (NH + 90) };
      }
      const usable = width - errW - 24;
      const colX = 4 + (l * (usable - NW)) / (L - 1);
      const total = n * NH + (n - 1) * gap;
      return { x: colX, y: (height - total) / 2 + i * (NH + gap) };
    };
    const svg = svgRoot(width, height, { class: 'net', role: 'img' });
    const hlNodes = new Set(step.nodes), hlEdges = new Set(step.edges);
    const maxW = Math.max(1e-9, ...trace.weights.map((q) => Math.abs(q.w)));
    const edgeLayer = s('g', {}, svg), labelLayer = s('g', {}, svg), nodeLayer = s('g', {}, svg);

    for (const q of trace.weights) {
      const a = pos(q.layer - 1, q.from), b = pos(q.layer, q.to);
      const [x1, y1, x2, y2] = vertical ? [a.x + NW / 2, a.y + NH, b.x + NW / 2, b.y] : [a.x + NW, a.y + NH / 2, b.x, b.y + NH / 2];
      const id = weightId(q.layer, q.from, q.to);
      const hl = hlEdges.has(id);
      s('line', { x1, y1, x2, y2, class: `edge ${q.w >= 0 ? 'pos' : 'neg'}${hl ? ' hl' : ''}`, 'stroke-width': (1 + 5 * Math.abs(q.w) / maxW).toFixed(2), 'data-edge': id }, edgeLayer);
      const f = vertical ? 0.36 : 0.27;
      const lx = x1 + (x2 - x1) * f, ly = y1 + (y2 - y1) * f;
      const g = s('g', { class: `wlabel${hl ? ' hl' : ''}` }, labelLayer);
      s('rect', { x: lx - 24, y: ly - 9, width: 48, height: 18, rx: 4 }, g);
      s('text', { x: lx, y: ly + 4, 'text-anchor': 'middle', class: 'lbl', 'data-edge': id, 'data-field': 'w' }, g, num(q.w, 3));
    }

    const rows: [Field, string][] = [['x', 'x'], ['y', 'y'], ['dEdx', '∂E/∂x'], ['dEdy', '∂E/∂y']];
    for (const n of trace.nodes) {
      const p = pos(n.layer, n.index);
      const g = s('g', { class: `node${hlNodes.has(n.label) ? ' hl' : ''}`, 'data-node-box': n.label }, nodeLayer);
      s('rect', { x: p.x, y: p.y, width: NW, height: NH, rx: 8 }, g);
      s('text', { x: p.x + 8, y: p.y + 16, class: 'lbl head' }, g, n.label);
      const bias = n.layer > 0 ? trace.biases.find((q) => q.layer === n.layer && q.node === n.index)!.b : null;
      s('text', { x: p.x + NW - 8, y: p.y + 16, 'text-anchor': 'end', class: 'lbl bias', 'data-node': n.label, 'data-field': 'b' }, g, bias === null ? t('input') : `b ${num(bias, 3)}`);
      rows.forEach(([field, name], r) => {
        const y = p.y + 36 + r * 17;
        const v = n[field];
        const known = v !== null && shown.has(`${n.label}:${field}`);
        const focus = step.reveals.includes(`${n.label}:${field}`);
        s('text', { x: p.x + 8, y, class: `lbl fname${focus ? ' focus' : ''}` }, g, name);
        s('text', { x: p.x + NW - 8, y, 'text-anchor': 'end', class: `lbl val${focus ? ' focus' : ''}`, 'data-node': n.label, 'data-field': field }, g, v === null ? '—' : known ? num(v) : '?');
      });
    }
    // The error, beside (or below) the output node.
    const o = pos(L - 1, 0);
    const [ex, ey] = vertical ? [width / 2 - errW / 2, o.y + NH + 28] : [o.x + NW + 20, o.y + NH / 2 - errH / 2];
    const g = s('g', { class: `node err${step.reveals.includes('E') ? ' hl' : ''}` }, nodeLayer);
    s('rect', { x: ex, y: ey, width: errW, height: errH, rx: 8 }, g);
    s('text', { x: ex + 8, y: ey + 17, class: 'lbl head' }, g, `E (${t('errorShort')})`);
    s('text', { x: ex + errW - 8, y: ey + 35, 'text-anchor': 'end', class: 'lbl val', 'data-field': 'E' }, g, shown.has('E') ? num(trace.error, 8) : '?');
    if (vertical) s('line', { x1: width / 2, y1: o.y + NH, x2: width / 2, y2: ey, class: 'edge err-link' }, edgeLayer);
    else s('line', { x1: o.x + NW, y1: o.y + NH / 2, x2: ex, y2: ey + errH / 2, class: 'edge err-link' }, edgeLayer);
    diagram.replaceChildren(svg);
  }

  function renderCurve(): void {
    curveTitle.textContent = t('curveTitle');
    if (st.curve.length < 2) { curve.replaceChildren(h('p', { class: 'muted' }, t('curveEmpty'))); return; }
    const width = Math.max(280, Math.min(curve.clientWidth || 600, 900)), height = 180;
    const m = { l: 62, r: 12, t: 10, b: 28 };
    const svg = svgRoot(width, height, { class: 'chart' });
    const maxE = Math.max(...st.curve), n = st.curve.length - 1;
    const X = (i: number) => m.l + (i / n) * (width - m.l - m.r);
    const Y = (e: number) => m.t + (1 - e / maxE) * (height - m.t - m.b);
    s('line', { x1: m.l, y1: Y(0), x2: width - m.r, y2: Y(0), class: 'axis' }, svg);
    s('line', { x1: m.l, y1: m.t, x2: m.l, y2: Y(0), class: 'axis' }, svg);
    s('text', { x: m.l - 6, y: Y(maxE) + 10, 'text-anchor': 'end', class: 'lbl tick' }, svg, maxE.toExponential(2));
    s('text', { x: m.l - 6, y: Y(0), 'text-anchor': 'end', class: 'lbl tick' }, svg, '0');
    s('text', { x: width - m.r, y: height - 8, 'text-anchor': 'end', class: 'lbl tick' }, svg, `${n} ${t('curveStep')}`);
    s('polyline', { points: st.curve.map((e, i) => `${X(i).toFixed(1)},${Y(e).toFixed(1)}`).join(' '), class: 'curve-line' }, svg);
    s('text', { x: width - m.r, y: m.t + 12, 'text-anchor': 'end', class: 'lbl tick', 'data-field': 'trainError' }, svg, `E = ${st.curve.at(-1)!.toExponential(4)}`);
    curve.replaceChildren(svg);
  }

  function render(): void {
    const step = steps[st.step]!;
    const shown = revealed();
    stepCounter.textContent = t('stepOf', { i: st.step + 1, n: steps.length });
    stepCounter.dataset.step = String(st.step);
    stepCounter.dataset.count = String(steps.length);
    stepTitle.textContent = (step.repeat ? t('repeat') : '') + t(step.title, step.vars);
    stepTitle.dataset.kind = step.title;
    stepDesc.textContent = t(step.desc, step.vars);
    formulas.replaceChildren(...step.lines.map((line) => { const d = h('div', { class: 'formula' }); tex(d, line); return d; }));
    formulas.classList.toggle('many', step.lines.length > 4);
    backBtn.textContent = t('back'); nextBtn.textContent = t('next'); restartBtn.textContent = t('restart');
    backBtn.disabled = st.step === 0; nextBtn.disabled = st.step === steps.length - 1;
    applyBtn.textContent = t('applyUpdate'); trainBtn.textContent = t('train'); resetBtn.textContent = t('resetNet');
    root.querySelector('[data-role="nsteps-label"]')!.textContent = t('trainSteps');
    for (const [el, key] of labels) el.textContent = t(key);
    paramsTitle.textContent = t('paramsTitle');
    paramHead.replaceChildren(h('tr', {}, h('th', {}, t('colParam')), h('th', {}, t('colValue')), h('th', {}, t('colGrad')), h('th', {}, t('colNew'))));
    actEl.value = st.spec.layers[0]!.activation;
    renderDiagram(step, shown);
    renderParams(shown);
    renderCurve();
  }

  const go = (k: number) => { st.step = Math.max(0, Math.min(steps.length - 1, k)); render(); };
  backBtn.addEventListener('click', () => go(st.step - 1));
  nextBtn.addEventListener('click', () => go(st.step + 1));
  restartBtn.addEventListener('click', () => go(0));
  root.addEventListener('keydown', (e) => {
    if ((e.target as HTMLElement).tagName === 'INPUT') return;
    if (e.key === 'ArrowRight') go(st.step + 1);
    if (e.key === 'ArrowLeft') go(st.step - 1);
  });

  const readNumber = (el: HTMLInputElement): number | null => {
    const v = Number(el.value);
    const ok = el.value.trim() !== '' && Number.isFinite(v);
    el.classList.toggle('invalid', !ok);
    return ok ? v : null;
  };
  const onEdit = (el: HTMLInputElement, apply: (v: number) => void) => {
    el.addEventListener('input', () => { const v = readNumber(el); if (v !== null) { apply(v); recompute(); } });
  };
  onEdit(inputEl, (v) => { st.input = v; });
  onEdit(targetEl, (v) => { st.target = v; });
  onEdit(lrEl, (v) => { st.lr = v; });
  for (const r of paramRows) {
    onEdit(paramInputs.get(r.id)!, (v) => {
      const spec = st.spec.layers[r.layer - 1]!;
      if (r.isBias) spec.biases[r.j] = v; else spec.weights[r.i]![r.j] = v;
    });
  }
  actEl.addEventListener('change', () => {
    for (const l of st.spec.layers) l.activation = actEl.value as ActivationKind;
    st.curve = [];
    recompute();
  });
  const train = (n: number) => {
    const run = traceTraining(st.spec, [st.input], [st.target], st.lr, n);
    if (st.curve.length === 0) st.curve.push(run[0]!.error);
    for (const r of run) st.curve.push(r.errorAfter);
    st.spec = run.at(-1)!.updated;
    recompute();
  };
  applyBtn.addEventListener('click', () => train(1));
  trainBtn.addEventListener('click', () => {
    const n = readNumber(nStepsEl);
    if (n !== null && n >= 1) train(Math.min(5000, Math.round(n)));
  });
  resetBtn.addEventListener('click', () => {
    const act = st.spec.layers[0]!.activation;
    st.spec = structuredClone(defaultNetwork);
    for (const l of st.spec.layers) l.activation = act;
    st.curve = [];
    recompute();
  });

  onLangChange(render);
  let lastWidth = 0;
  new ResizeObserver(() => {
    const w = diagram.clientWidth;
    if (w !== lastWidth) { lastWidth = w; render(); }
  }).observe(diagram);
  render();
}
