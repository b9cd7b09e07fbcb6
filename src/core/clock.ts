/** Time source, injected so tests can pin it. Milliseconds since the Unix epoch. */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
