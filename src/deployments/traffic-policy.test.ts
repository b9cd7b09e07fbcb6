import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../test/support/random.js';
import { hashToPercent, routeRequest, type TrafficPolicy, validateVariants } from './traffic-policy.js';

describe('traffic policies', () => {
  it('splits 10,000 requests within ±2 points of the weights', () => {
    for (const weights of [
      [90, 10],
      [50, 50],
      [70, 20, 10],
    ]) {
      const policy: TrafficPolicy = {
        kind: 'split',
        sticky: false,
        variants: weights.map((weight, i) => ({ version: String(i + 1), weight })),
      };
      const random = seededRandom(weights.length * 7);
      const counts = new Map<string, number>();
      for (let i = 0; i < 10_000; i++) {
        const { version } = routeRequest(policy, { random });
        counts.set(version, (counts.get(version) ?? 0) + 1);
      }
      weights.forEach((weight, i) => {
        expect(Math.abs((counts.get(String(i + 1)) ?? 0) / 100 - weight)).toBeLessThan(2);
      });
    }
  });

  it('keeps every routing key on one version, and spreads keys by weight', () => {
    const policy: TrafficPolicy = {
      kind: 'split',
      sticky: true,
      variants: [
        { version: 'a', weight: 30 },
        { version: 'b', weight: 70 },
      ],
    };
    let b = 0;
    for (let i = 0; i < 10_000; i++) {
      const key = `user-${i}`;
      const first = routeRequest(policy, { routingKey: key }).version;
      for (let again = 0; again < 3; again++)
        expect(routeRequest(policy, { routingKey: key, random: Math.random }).version).toBe(first);
      if (first === 'b') b++;
    }
    expect(Math.abs(b / 100 - 70)).toBeLessThan(2);
    expect(hashToPercent('x')).toBeGreaterThanOrEqual(0);
    expect(hashToPercent('x')).toBeLessThan(100);
  });

  it('routes direct and shadow policies', () => {
    expect(routeRequest({ kind: 'direct', version: '3' })).toEqual({ version: '3' });
    expect(routeRequest({ kind: 'shadow', champion: '1', challenger: '2' })).toEqual({
      version: '1',
      shadow: '2',
    });
    expect(
      routeRequest(
        {
          kind: 'split',
          sticky: false,
          variants: [
            { version: '1', weight: 100 },
            { version: '2', weight: 0 },
          ],
        },
        { random: () => 0.999999 },
      ),
    ).toEqual({ version: '1' });
  });

  it('refuses weights that do not sum to 100, negative or duplicate', () => {
    expect(() =>
      validateVariants([
        { version: '1', weight: 60 },
        { version: '2', weight: 30 },
      ]),
    ).toThrow('weights must sum to 100, got 60 + 30 = 90');
    expect(() =>
      validateVariants([
        { version: '1', weight: 110 },
        { version: '2', weight: -10 },
      ]),
    ).toThrow('>= 0');
    expect(() =>
      validateVariants([
        { version: '1', weight: 50 },
        { version: '1', weight: 50 },
      ]),
    ).toThrow('appears twice');
    expect(() => validateVariants([])).toThrow('at least one');
  });
});
