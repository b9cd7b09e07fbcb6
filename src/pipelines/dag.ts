/** Pure graph functions over a pipeline's steps: `edges` maps each step to the steps it needs. */

/**
 * A cycle in the graph as the list of steps around it (first step repeated at the end, e.g. `a -> b -> a`), or
 * undefined when the graph is acyclic. Edges to unknown steps are ignored (they are reported separately).
 */
export function findCycle(edges: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (step: string): string[] | undefined => {
    const seen = state.get(step);
    if (seen === 'done') return undefined;
    if (seen === 'visiting') return [...path.slice(path.indexOf(step)), step];
    state.set(step, 'visiting');
    path.push(step);
    for (const next of edges.get(step) ?? []) {
      if (!edges.has(next)) continue;
      const cycle = visit(next);
      if (cycle !== undefined) return cycle;
    }
    path.pop();
    state.set(step, 'done');
    return undefined;
  };
  for (const step of edges.keys()) {
    const cycle = visit(step);
    if (cycle !== undefined) return cycle;
  }
  return undefined;
}

export type StepState = 'pending' | 'running' | 'succeeded' | 'cached' | 'failed' | 'skipped';

const DONE_OK: ReadonlySet<StepState> = new Set(['succeeded', 'cached']);
const DONE_BAD: ReadonlySet<StepState> = new Set(['failed', 'skipped']);

/**
 * What the runner does next: pending steps whose needs all finished well are `ready`; pending steps with a
 * failed or skipped need can never run and are `blocked` (they become skipped). Steps keep declaration order.
 */
export function planNext(
  edges: ReadonlyMap<string, readonly string[]>,
  states: ReadonlyMap<string, StepState>,
): { ready: string[]; blocked: string[] } {
  const ready: string[] = [];
  const blocked: string[] = [];
  for (const [step, needs] of edges) {
    if (states.get(step) !== 'pending') continue;
    const needStates = needs.map((n) => states.get(n) ?? 'pending');
    if (needStates.some((s) => DONE_BAD.has(s))) blocked.push(step);
    else if (needStates.every((s) => DONE_OK.has(s))) ready.push(step);
  }
  return { ready, blocked };
}
