/**
 * pino's `timestamp` option: `,"time":"<ISO 8601 UTC>"`, the same text as
 * pino's `stdTimeFunctions.isoTime` (`new Date().toISOString()`), with the
 * part up to the second made once per second. A Date and its ISO string per
 * line were a sixth of the per-RPC log line's CPU.
 */
export function cachedIsoTime(): () => string {
  let second = NaN;
  let prefix = '';
  return () => {
    const now = Date.now();
    const ms = now % 1000;
    if (now - ms !== second) {
      second = now - ms;
      // '2026-12-03T03:45:12.' of '2026-12-03T03:45:12.000Z'
      prefix = `,"time":"${new Date(second).toISOString().slice(0, -4)}`;
    }
    return `${prefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z"`;
  };
}
