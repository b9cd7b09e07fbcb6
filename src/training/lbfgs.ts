/** The objective: writes the gradient at `x` into `gradient` and returns the value. */
export type Objective = (x: Float64Array, gradient: Float64Array) => number;

export interface LbfgsOptions {
  maxIterations?: number;
  /** Correction pairs kept (the "limited memory"); default 7. */
  memory?: number;
  /** Stops when the largest gradient component is below this; default 1e-6. */
  gradientTolerance?: number;
}

const dot = (a: Float64Array, b: Float64Array): number => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
};

/**
 * Minimises a smooth convex objective with L-BFGS (two-loop recursion) and a backtracking Armijo line search.
 * Small and dependency-free: the trainer's objectives (regularised log loss, squared error) are smooth and
 * convex over at most a few thousand parameters, where this converges in tens of iterations.
 */
export function minimizeLbfgs(
  objective: Objective,
  start: Float64Array,
  options: LbfgsOptions = {},
): { x: Float64Array; value: number; iterations: number } {
  const maxIterations = options.maxIterations ?? 200;
  const memory = options.memory ?? 7;
  const tolerance = options.gradientTolerance ?? 1e-6;
  const n = start.length;
  let x = Float64Array.from(start);
  let gradient = new Float64Array(n);
  let value = objective(x, gradient);
  const sHistory: Float64Array[] = [];
  const yHistory: Float64Array[] = [];
  const rhoHistory: number[] = [];
  const direction = new Float64Array(n);
  const alpha = new Float64Array(memory);
  let iteration = 0;
  for (; iteration < maxIterations; iteration++) {
    let largest = 0;
    for (let i = 0; i < n; i++) largest = Math.max(largest, Math.abs(gradient[i] as number));
    if (largest < tolerance) break;

    // Two-loop recursion: direction = -H·g with H the implicit inverse-Hessian estimate.
    for (let i = 0; i < n; i++) direction[i] = -(gradient[i] as number);
    for (let k = sHistory.length - 1; k >= 0; k--) {
      const a = (rhoHistory[k] as number) * dot(sHistory[k] as Float64Array, direction);
      alpha[k] = a;
      const y = yHistory[k] as Float64Array;
      for (let i = 0; i < n; i++) direction[i] = (direction[i] as number) - a * (y[i] as number);
    }
    if (sHistory.length > 0) {
      const s = sHistory[sHistory.length - 1] as Float64Array;
      const y = yHistory[yHistory.length - 1] as Float64Array;
      const gamma = dot(s, y) / dot(y, y);
      for (let i = 0; i < n; i++) direction[i] = (direction[i] as number) * gamma;
    } else {
      // First step: scale so the trial step has unit length, whatever the gradient's magnitude.
      const norm = Math.sqrt(dot(direction, direction));
      for (let i = 0; i < n; i++) direction[i] = (direction[i] as number) / Math.max(norm, 1e-12);
    }
    for (let k = 0; k < sHistory.length; k++) {
      const y = yHistory[k] as Float64Array;
      const b = (rhoHistory[k] as number) * dot(y, direction);
      const s = sHistory[k] as Float64Array;
      const a = alpha[k] as number;
      for (let i = 0; i < n; i++) direction[i] = (direction[i] as number) + (a - b) * (s[i] as number);
    }

    let slope = dot(gradient, direction);
    if (slope >= 0) {
      // Not a descent direction (curvature estimate went bad): restart from steepest descent.
      sHistory.length = 0;
      yHistory.length = 0;
      rhoHistory.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -(gradient[i] as number);
      slope = dot(gradient, direction);
    }

    let step = 1;
    const next = new Float64Array(n);
    const nextGradient = new Float64Array(n);
    let nextValue = Number.POSITIVE_INFINITY;
    for (let tries = 0; tries < 40; tries++) {
      for (let i = 0; i < n; i++) next[i] = (x[i] as number) + step * (direction[i] as number);
      nextValue = objective(next, nextGradient);
      if (nextValue <= value + 1e-4 * step * slope) break;
      step /= 2;
    }
    if (!(nextValue < value)) break;

    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = (next[i] as number) - (x[i] as number);
      y[i] = (nextGradient[i] as number) - (gradient[i] as number);
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      if (sHistory.length === memory) {
        sHistory.shift();
        yHistory.shift();
        rhoHistory.shift();
      }
      sHistory.push(s);
      yHistory.push(y);
      rhoHistory.push(1 / sy);
    }
    const improvement = value - nextValue;
    x = next;
    gradient = nextGradient;
    value = nextValue;
    if (improvement < 1e-12 * Math.max(1, Math.abs(value))) {
      iteration++;
      break;
    }
  }
  return { x, value, iterations: iteration };
}
