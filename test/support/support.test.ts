import { existsSync } from 'node:fs';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { postgresAvailable, startPostgres } from './postgres.js';
import { redisAvailable, redisCommand, startRedis } from './redis.js';

describe.skipIf(!postgresAvailable)('startPostgres', () => {
  it('serves queries on loopback and leaves nothing behind', async () => {
    const server = await startPostgres();
    try {
      expect(server.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/slipway$/);
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        const result = await client.query<{ one: number; db: string }>(
          'select 1 as one, current_database() as db',
        );
        expect(result.rows).toEqual([{ one: 1, db: 'slipway' }]);
      } finally {
        await client.end();
      }
    } finally {
      await server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
  });

  it('runs two servers at once without collisions', async () => {
    const servers = await Promise.all([startPostgres(), startPostgres()]);
    try {
      const [first, second] = servers;
      expect(first.url).not.toBe(second.url);
      expect(first.dir).not.toBe(second.dir);
      for (const [index, server] of servers.entries()) {
        const client = new pg.Client({ connectionString: server.url });
        await client.connect();
        await client.query('create table marker (n int)');
        await client.query('insert into marker values ($1)', [index]);
        const result = await client.query<{ n: number }>('select n from marker');
        expect(result.rows).toEqual([{ n: index }]);
        await client.end();
      }
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
    for (const server of servers) expect(existsSync(server.dir)).toBe(false);
  });
});

describe.skipIf(!redisAvailable)('startRedis', () => {
  it('answers SET/GET on loopback and leaves nothing behind', async () => {
    const server = await startRedis();
    try {
      expect(server.url).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
      expect(await redisCommand(server.url, ['SET', 'greeting', 'héllo'])).toBe('OK');
      expect(await redisCommand(server.url, ['GET', 'greeting'])).toBe('héllo');
      expect(await redisCommand(server.url, ['GET', 'missing'])).toBeNull();
      await expect(redisCommand(server.url, ['NOSUCHCOMMAND'])).rejects.toThrow(/unknown command/);
    } finally {
      await server.stop();
    }
    expect(existsSync(server.dir)).toBe(false);
  });

  it('runs two servers at once without collisions', async () => {
    const servers = await Promise.all([startRedis(), startRedis()]);
    try {
      const [first, second] = servers;
      expect(first.url).not.toBe(second.url);
      await redisCommand(first.url, ['SET', 'owner', 'first']);
      await redisCommand(second.url, ['SET', 'owner', 'second']);
      expect(await redisCommand(first.url, ['GET', 'owner'])).toBe('first');
      expect(await redisCommand(second.url, ['GET', 'owner'])).toBe('second');
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
    for (const server of servers) expect(existsSync(server.dir)).toBe(false);
  });
});
