import { Redis } from 'ioredis';
import type { OnlineRecord, OnlineStore } from './online-store.js';

// Compare-and-set in one round trip: an older value (a late push, a re-run of an old interval) never replaces a
// newer one.
const SET_IF_NEWER = `
local current = redis.call('HGET', KEYS[1], ARGV[1] .. ':ts')
if current and tonumber(current) > tonumber(ARGV[2]) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3], ARGV[1] .. ':ts', ARGV[2])
return 1`;

type RedisWithScript = Redis & {
  setIfNewer(key: string, view: string, tsMs: string, valuesJson: string): Promise<number>;
};

/**
 * The Redis online store, Feast's layout: one hash per entity key, with a field per feature view (its values as
 * JSON) and `view:ts` (the event timestamp, ms). Reads are one pipelined HMGET per key.
 */
export function createRedisOnlineStore(url: string, options: { prefix?: string } = {}): OnlineStore {
  const prefix = options.prefix ?? 'slipway:features:';
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 2 }) as RedisWithScript;
  redis.defineCommand('setIfNewer', { numberOfKeys: 1, lua: SET_IF_NEWER });
  const keyOf = (entityKey: string) => `${prefix}${entityKey}`;
  return {
    kind: 'redis',
    async write(view, rows) {
      if (rows.length === 0) return 0;
      const pipeline = redis.pipeline() as ReturnType<Redis['pipeline']> & {
        setIfNewer(key: string, view: string, tsMs: string, valuesJson: string): unknown;
      };
      for (const row of rows)
        pipeline.setIfNewer(keyOf(row.key), view, String(row.eventTsMs), JSON.stringify(row.values));
      const results = (await pipeline.exec()) ?? [];
      let written = 0;
      for (const [error, value] of results) {
        if (error !== null) throw error;
        written += Number(value);
      }
      return written;
    },
    async read(view, keys) {
      const answers: (OnlineRecord | undefined)[] = [];
      const toRecord = (pair: (string | null)[]): OnlineRecord | undefined => {
        const [valuesJson, ts] = pair;
        if (valuesJson === null || valuesJson === undefined || ts === null || ts === undefined)
          return undefined;
        return { eventTsMs: Number(ts), values: JSON.parse(valuesJson) as Record<string, unknown> };
      };
      if (keys.length === 1) {
        answers.push(toRecord(await redis.hmget(keyOf(keys[0] as string), view, `${view}:ts`)));
        return answers;
      }
      const pipeline = redis.pipeline();
      for (const key of keys) pipeline.hmget(keyOf(key), view, `${view}:ts`);
      for (const [error, value] of (await pipeline.exec()) ?? []) {
        if (error !== null) throw error;
        answers.push(toRecord(value as (string | null)[]));
      }
      return answers;
    },
    async deleteView(view) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length > 0) {
          const pipeline = redis.pipeline();
          for (const key of keys) pipeline.hdel(key, view, `${view}:ts`);
          await pipeline.exec();
        }
      } while (cursor !== '0');
    },
    async close() {
      await redis.quit();
    },
  };
}
