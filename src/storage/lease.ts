import { type RawBuilder, type SqlBool, sql } from 'kysely';

/**
 * The condition under which `owner` may take or renew a row's lease at `now`, for tables whose rows carry one
 * (`lease_owner`, `lease_until`: rollouts, monitors, pipeline runs): nobody holds it, `owner` already does, or
 * the holder's lease has run out. Used in the UPDATE that takes the lease, so taking it is atomic.
 */
export const leaseAvailableTo = (owner: string, now: number): RawBuilder<SqlBool> =>
  sql<SqlBool>`(lease_owner is null or lease_owner = ${owner} or lease_until < ${now})`;
