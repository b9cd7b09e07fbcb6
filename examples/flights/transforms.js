// On-demand transforms for the flights example. One row in, one row out; the same function runs when
// training sets are built and when an endpoint is called, so both see the same values.

/**
 * @param {{ origin_avg_delay_1d: number | null, origin_avg_delay_7d: number | null, distance: number | null }} row
 * @returns {{ delay_ratio: number | null, delay_trend: number | null, long_haul: number | null }}
 */
export function delaySignals(row) {
  const day = row.origin_avg_delay_1d;
  const week = row.origin_avg_delay_7d;
  const known = day !== null && week !== null;
  return {
    // The last day's delays relative to the week's (+1 keeps it finite when the week averages zero).
    delay_ratio: known ? day / (Math.abs(week) + 1) : null,
    delay_trend: known ? day - week : null,
    long_haul: row.distance === null ? null : row.distance > 1000 ? 1 : 0,
  };
}
