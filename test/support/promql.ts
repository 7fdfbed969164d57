/**
 * A tiny PromQL evaluator, for testing ops/ alert rules against real scrapes (promtool is not
 * available here). It knows the forms the rules use, and refuses anything else loudly:
 *
 *   selectors         name{label="v", label!="v", label=~"re", label!~"re"}
 *   range functions   rate(sel[5m]), increase(sel[5m]), delta(sel[5m])
 *   functions         clamp_min(e, n), clamp_max(e, n), abs(e); histogram_quantile(φ, e) is parsed
 *                     (for the dashboard's names and labels) but not evaluated
 *   aggregations      sum, max, min, avg, count, with `by (…)` / `without (…)` before or after
 *   binary operators  * / + - (vector/vector one-to-one, or with a scalar), comparisons
 *                     > < >= <= == != (filters; `bool` gives 0/1), and, or, unless
 *
 * A range function is evaluated over two scrapes, `before` and `now`, as if they were the first
 * and last samples of the range: a series missing from either has no result (as in Prometheus,
 * which needs two samples). rate() divides by the range's length.
 */

export type Labels = Readonly<Record<string, string>>;
export type Sample = { name: string; labels: Labels; value: number };
type Element = { labels: Labels; value: number };
type Value = { kind: 'vector'; elements: Element[] } | { kind: 'scalar'; value: number };

/* ---------------------------------------------------------------- exposition format */

const unescapeLabel = (s: string): string => s.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));

/** Parses the Prometheus text format (what /metrics serves). */
export const parseScrape = (text: string): Sample[] => {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] ?? ''] = unescapeLabel(l[2] ?? '');
    const raw = m[3] ?? '';
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: m[1] ?? '', labels, value });
  }
  return samples;
};

/* ---------------------------------------------------------------- syntax */

type Matcher = { label: string; op: '=' | '!=' | '=~' | '!~'; value: string };
export type Selector = { name: string; matchers: Matcher[] };
type Grouping = { mode: 'by' | 'without'; labels: string[] } | undefined;
type Node =
  | { type: 'number'; value: number }
  | { type: 'selector'; selector: Selector }
  | { type: 'range'; fn: 'rate' | 'increase' | 'delta'; selector: Selector; seconds: number }
  | { type: 'call'; fn: 'clamp_min' | 'clamp_max' | 'abs' | 'histogram_quantile'; args: Node[] }
  | { type: 'aggregate'; op: 'sum' | 'max' | 'min' | 'avg' | 'count'; grouping: Grouping; expr: Node }
  | { type: 'binary'; op: string; bool: boolean; left: Node; right: Node };

const TOKEN =
  /\s*(?:(\d+(?:\.\d+)?(?:e[+-]?\d+)?)(?![a-zA-Z_\d.])|(\d+[smhd])|([a-zA-Z_:][a-zA-Z0-9_:]*)|("(?:[^"\\]|\\.)*")|(=~|!~|!=|==|>=|<=|[-+*/(){}[\],=<>]))/y;
type Token = { kind: 'number' | 'duration' | 'ident' | 'string' | 'op'; text: string };

const tokenize = (src: string): Token[] => {
  const tokens: Token[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < src.length) {
    if (/^\s*$/.test(src.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(src);
    if (!m) throw new Error(`promql: cannot read ${JSON.stringify(src.slice(at, at + 20))}`);
    if (m[1] !== undefined) tokens.push({ kind: 'number', text: m[1] });
    else if (m[2] !== undefined) tokens.push({ kind: 'duration', text: m[2] });
    else if (m[3] !== undefined) tokens.push({ kind: 'ident', text: m[3] });
    else if (m[4] !== undefined) tokens.push({ kind: 'string', text: unescapeLabel(m[4].slice(1, -1)) });
    else tokens.push({ kind: 'op', text: m[5] ?? '' });
  }
  return tokens;
};

const SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400 };
const AGGREGATIONS = new Set(['sum', 'max', 'min', 'avg', 'count']);
const RANGE_FUNCTIONS = new Set(['rate', 'increase', 'delta']);
const FUNCTIONS = new Set(['clamp_min', 'clamp_max', 'abs', 'histogram_quantile']);
const COMPARISONS = new Set(['>', '<', '>=', '<=', '==', '!=']);

export const parse = (src: string): Node => {
  const tokens = tokenize(src);
  let i = 0;
  const peek = (): Token | undefined => tokens[i];
  const next = (): Token => {
    const t = tokens[i++];
    if (!t) throw new Error(`promql: unexpected end of ${src}`);
    return t;
  };
  const expect = (text: string): void => {
    const t = next();
    if (t.text !== text) throw new Error(`promql: expected ${text}, got ${t.text} in ${src}`);
  };
  const isOp = (...ops: string[]): boolean => {
    const t = peek();
    return t !== undefined && (t.kind === 'op' || t.kind === 'ident') && ops.includes(t.text);
  };

  const labelList = (): string[] => {
    expect('(');
    const labels: string[] = [];
    while (!isOp(')')) {
      labels.push(next().text);
      if (isOp(',')) next();
    }
    expect(')');
    return labels;
  };
  const grouping = (): Grouping => {
    if (!isOp('by', 'without')) return undefined;
    const mode = next().text as 'by' | 'without';
    return { mode, labels: labelList() };
  };
  const selector = (name: string): Selector => {
    const matchers: Matcher[] = [];
    if (isOp('{')) {
      next();
      while (!isOp('}')) {
        const label = next().text;
        const op = next().text;
        if (op !== '=' && op !== '!=' && op !== '=~' && op !== '!~') throw new Error(`promql: bad matcher ${label}${op}`);
        const value = next();
        if (value.kind !== 'string') throw new Error(`promql: ${label}${op} needs a string`);
        matchers.push({ label, op, value: value.text });
        if (isOp(',')) next();
      }
      expect('}');
    }
    return { name, matchers };
  };

  const primary = (): Node => {
    const t = next();
    if (t.kind === 'number') return { type: 'number', value: Number(t.text) };
    if (t.kind === 'op' && t.text === '(') {
      const e = expr();
      expect(')');
      return e;
    }
    if (t.kind === 'op' && t.text === '-') return { type: 'binary', op: '*', bool: false, left: { type: 'number', value: -1 }, right: primary() };
    if (t.kind !== 'ident') throw new Error(`promql: unexpected ${t.text} in ${src}`);
    if (AGGREGATIONS.has(t.text)) {
      let g = grouping();
      expect('(');
      const inner = expr();
      expect(')');
      g ??= grouping();
      return { type: 'aggregate', op: t.text as 'sum', grouping: g, expr: inner };
    }
    if (RANGE_FUNCTIONS.has(t.text)) {
      expect('(');
      const name = next();
      const sel = selector(name.text);
      expect('[');
      const d = next();
      if (d.kind !== 'duration') throw new Error(`promql: ${t.text} needs a range`);
      expect(']');
      expect(')');
      return { type: 'range', fn: t.text as 'rate', selector: sel, seconds: Number(d.text.slice(0, -1)) * (SECONDS[d.text.slice(-1)] ?? NaN) };
    }
    if (FUNCTIONS.has(t.text)) {
      expect('(');
      const args = [expr()];
      while (isOp(',')) {
        next();
        args.push(expr());
      }
      expect(')');
      return { type: 'call', fn: t.text as 'abs', args };
    }
    return { type: 'selector', selector: selector(t.text) };
  };

  const binary =
    (operand: () => Node, ops: string[]): (() => Node) =>
    () => {
      let left = operand();
      while (isOp(...ops)) {
        const op = next().text;
        const bool = isOp('bool');
        if (bool) next();
        left = { type: 'binary', op, bool, left, right: operand() };
      }
      return left;
    };
  const mul = binary(primary, ['*', '/']);
  const add = binary(mul, ['+', '-']);
  const cmp = binary(add, [...COMPARISONS]);
  const and = binary(cmp, ['and', 'unless']);
  const expr = binary(and, ['or']);

  const root = expr();
  if (i !== tokens.length) throw new Error(`promql: unexpected ${tokens[i]?.text} in ${src}`);
  return root;
};

/** Every selector in an expression: the metric names and labels it needs. */
export const selectorsOf = (node: Node): Selector[] => {
  switch (node.type) {
    case 'number':
      return [];
    case 'selector':
    case 'range':
      return [node.selector];
    case 'call':
      return node.args.flatMap(selectorsOf);
    case 'aggregate':
      return selectorsOf(node.expr);
    case 'binary':
      return [...selectorsOf(node.left), ...selectorsOf(node.right)];
    default: {
      const never: never = node;
      return never;
    }
  }
};

/* ---------------------------------------------------------------- evaluation */

export type Scrapes = { now: readonly Sample[]; before?: readonly Sample[] };

const key = (labels: Labels): string =>
  JSON.stringify(
    Object.keys(labels)
      .sort()
      .map((k) => [k, labels[k]]),
  );

export const matches = (sel: Selector, s: Sample): boolean =>
  s.name === sel.name &&
  sel.matchers.every((m) => {
    const v = s.labels[m.label] ?? '';
    switch (m.op) {
      case '=':
        return v === m.value;
      case '!=':
        return v !== m.value;
      case '=~':
        return new RegExp(`^(?:${m.value})$`).test(v);
      case '!~':
        return !new RegExp(`^(?:${m.value})$`).test(v);
      default: {
        const never: never = m.op;
        return never;
      }
    }
  });

const compare = (op: string, a: number, b: number): boolean => {
  switch (op) {
    case '>':
      return a > b;
    case '<':
      return a < b;
    case '>=':
      return a >= b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
    default:
      throw new Error(`promql: not a comparison: ${op}`);
  }
};

const arithmetic = (op: string, a: number, b: number): number => {
  switch (op) {
    case '+':
      return a + b;
    case '-':
      return a - b;
    case '*':
      return a * b;
    case '/':
      return a / b;
    default:
      throw new Error(`promql: not arithmetic: ${op}`);
  }
};

const vector = (elements: Element[]): Value => ({ kind: 'vector', elements });

const evaluate = (node: Node, scrapes: Scrapes): Value => {
  switch (node.type) {
    case 'number':
      return { kind: 'scalar', value: node.value };
    case 'selector':
      return vector(scrapes.now.filter((s) => matches(node.selector, s)).map((s) => ({ labels: s.labels, value: s.value })));
    case 'range': {
      if (!scrapes.before) throw new Error(`promql: ${node.fn}() needs two scrapes`);
      const before = new Map(scrapes.before.filter((s) => matches(node.selector, s)).map((s) => [key(s.labels), s.value]));
      const out: Element[] = [];
      for (const s of scrapes.now.filter((x) => matches(node.selector, x))) {
        const first = before.get(key(s.labels));
        if (first === undefined) continue;
        const change = node.fn === 'delta' ? s.value - first : s.value >= first ? s.value - first : s.value;
        out.push({ labels: s.labels, value: node.fn === 'rate' ? change / node.seconds : change });
      }
      return vector(out);
    }
    case 'call': {
      if (node.fn === 'histogram_quantile') throw new Error('promql: histogram_quantile is not evaluated here');
      const [arg, bound] = node.args.map((a) => evaluate(a, scrapes));
      if (arg?.kind !== 'vector') throw new Error(`promql: ${node.fn} needs a vector`);
      const b = bound?.kind === 'scalar' ? bound.value : NaN;
      const f = node.fn === 'abs' ? Math.abs : node.fn === 'clamp_min' ? (v: number) => Math.max(v, b) : (v: number) => Math.min(v, b);
      return vector(arg.elements.map((e) => ({ labels: e.labels, value: f(e.value) })));
    }
    case 'aggregate': {
      const inner = evaluate(node.expr, scrapes);
      if (inner.kind !== 'vector') throw new Error(`promql: ${node.op} needs a vector`);
      const groups = new Map<string, { labels: Labels; values: number[] }>();
      for (const e of inner.elements) {
        const g = node.grouping;
        const labels = Object.fromEntries(
          Object.entries(e.labels).filter(([k]) => (g === undefined ? false : g.mode === 'by' ? g.labels.includes(k) : !g.labels.includes(k))),
        );
        const k = key(labels);
        const group = groups.get(k) ?? { labels, values: [] };
        group.values.push(e.value);
        groups.set(k, group);
      }
      const op = node.op;
      const reduce = (values: number[]): number => {
        switch (op) {
          case 'sum':
            return values.reduce((a, b) => a + b, 0);
          case 'max':
            return Math.max(...values);
          case 'min':
            return Math.min(...values);
          case 'avg':
            return values.reduce((a, b) => a + b, 0) / values.length;
          case 'count':
            return values.length;
          default: {
            const never: never = op;
            return never;
          }
        }
      };
      return vector([...groups.values()].map((g) => ({ labels: g.labels, value: reduce(g.values) })));
    }
    case 'binary': {
      const left = evaluate(node.left, scrapes);
      const right = evaluate(node.right, scrapes);
      if (node.op === 'and' || node.op === 'or' || node.op === 'unless') {
        if (left.kind !== 'vector' || right.kind !== 'vector') throw new Error(`promql: ${node.op} needs vectors`);
        const rightKeys = new Set(right.elements.map((e) => key(e.labels)));
        if (node.op === 'and') return vector(left.elements.filter((e) => rightKeys.has(key(e.labels))));
        if (node.op === 'unless') return vector(left.elements.filter((e) => !rightKeys.has(key(e.labels))));
        const leftKeys = new Set(left.elements.map((e) => key(e.labels)));
        return vector([...left.elements, ...right.elements.filter((e) => !leftKeys.has(key(e.labels)))]);
      }
      const apply = (a: number, b: number): number | undefined => {
        if (!COMPARISONS.has(node.op)) return arithmetic(node.op, a, b);
        const ok = compare(node.op, a, b);
        return node.bool ? Number(ok) : ok ? a : undefined;
      };
      if (left.kind === 'scalar' && right.kind === 'scalar') return { kind: 'scalar', value: apply(left.value, right.value) ?? NaN };
      if (left.kind === 'vector' && right.kind === 'scalar') {
        return vector(left.elements.flatMap((e) => ((v) => (v === undefined ? [] : [{ labels: e.labels, value: v }]))(apply(e.value, right.value))));
      }
      if (left.kind === 'scalar' && right.kind === 'vector') {
        return vector(right.elements.flatMap((e) => ((v) => (v === undefined ? [] : [{ labels: e.labels, value: v }]))(apply(left.value, e.value))));
      }
      if (left.kind !== 'vector' || right.kind !== 'vector') throw new Error('unreachable');
      // One-to-one matching on the whole label set (the metric name is not a label here).
      const rightBy = new Map(right.elements.map((e) => [key(e.labels), e.value]));
      const out: Element[] = [];
      for (const e of left.elements) {
        const r = rightBy.get(key(e.labels));
        if (r === undefined) continue;
        const v = apply(e.value, r);
        if (v !== undefined) out.push({ labels: e.labels, value: v });
      }
      return vector(out);
    }
    default: {
      const never: never = node;
      return never;
    }
  }
};

/** The alert's result: the elements that would fire (empty: the alert is quiet). */
export const evaluateAlert = (expr: string, scrapes: Scrapes): Element[] => {
  const v = evaluate(parse(expr), scrapes);
  if (v.kind === 'scalar') throw new Error(`promql: an alert expression must be a vector: ${expr}`);
  // NaN (0/0) never fires a comparison in Prometheus; it can only reach here without one.
  return v.elements.filter((e) => !Number.isNaN(e.value));
};
