import { invalidParameter } from '../core/errors.js';

/** A weighted share of an endpoint's traffic. Weights are percentages and sum to 100. */
export interface WeightedVersion {
  version: string;
  weight: number;
}

/**
 * How an endpoint spreads requests over registry versions of its model:
 * - `direct`: one version takes everything;
 * - `split`: weighted, per request at random, or sticky per routing key when `sticky` (A/B tests, and the
 *   traffic steps of a canary);
 * - `shadow`: the champion answers; a copy of each request goes to the challenger off the request path.
 * Blue-green is a `direct` policy switched at once after the standby was warmed.
 */
export type TrafficPolicy =
  | { kind: 'direct'; version: string }
  | { kind: 'split'; variants: WeightedVersion[]; sticky: boolean }
  | { kind: 'shadow'; champion: string; challenger: string };

export interface Route {
  /** The version whose answer the caller gets. */
  version: string;
  /** A version that gets a copy of the request, whose answer is only compared. */
  shadow?: string;
}

/** Checks weights: each finite and >= 0, summing to 100 (to 1e-9), at least one variant, no duplicates. */
export function validateVariants(variants: readonly WeightedVersion[], field = 'weights'): void {
  if (variants.length === 0) throw invalidParameter(`${field}: expected at least one version`);
  const seen = new Set<string>();
  let sum = 0;
  for (const v of variants) {
    if (!Number.isFinite(v.weight) || v.weight < 0) {
      throw invalidParameter(
        `${field}: weight of version ${v.version} must be a number >= 0, got ${v.weight}`,
      );
    }
    if (seen.has(v.version)) throw invalidParameter(`${field}: version ${v.version} appears twice`);
    seen.add(v.version);
    sum += v.weight;
  }
  if (Math.abs(sum - 100) > 1e-9) {
    throw invalidParameter(
      `${field}: weights must sum to 100, got ${variants.map((v) => v.weight).join(' + ')} = ${sum}`,
    );
  }
}

/** The versions a policy sends answered traffic to (with their weights), for loading and reporting. */
export function versionsOf(policy: TrafficPolicy): string[] {
  switch (policy.kind) {
    case 'direct':
      return [policy.version];
    case 'split':
      return policy.variants.map((v) => v.version);
    case 'shadow':
      return [policy.champion, policy.challenger];
  }
}

/**
 * Picks where one request goes. `routingKey` makes `sticky` splits deterministic: the same key always lands on
 * the same version for the same weights (FNV-1a hash into [0, 100)). `random` is injected for tests.
 */
export function routeRequest(
  policy: TrafficPolicy,
  options: { routingKey?: string; random?: () => number } = {},
): Route {
  switch (policy.kind) {
    case 'direct':
      return { version: policy.version };
    case 'shadow':
      return { version: policy.champion, shadow: policy.challenger };
    case 'split': {
      const point =
        policy.sticky && options.routingKey !== undefined
          ? hashToPercent(options.routingKey)
          : (options.random ?? Math.random)() * 100;
      let cumulative = 0;
      for (const variant of policy.variants) {
        cumulative += variant.weight;
        if (point < cumulative) return { version: variant.version };
      }
      // Rounding at the top end: the last variant with weight takes it.
      const last =
        [...policy.variants].reverse().find((v) => v.weight > 0) ??
        policy.variants[policy.variants.length - 1];
      return { version: (last as WeightedVersion).version };
    }
  }
}

/** FNV-1a (32-bit) of the UTF-8 key, mapped uniformly onto [0, 100). */
export function hashToPercent(key: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  // A final avalanche so nearby keys ("user-1", "user-2") spread evenly.
  hash ^= hash >>> 16;
  hash = Math.imul(hash, 0x85ebca6b) >>> 0;
  hash ^= hash >>> 13;
  hash = Math.imul(hash, 0xc2b2ae35) >>> 0;
  hash ^= hash >>> 16;
  return ((hash >>> 0) / 0x100000000) * 100;
}
