/** Slipway's version, reported by /health, /version and the CLI. */
export const VERSION = '0.1.0';
