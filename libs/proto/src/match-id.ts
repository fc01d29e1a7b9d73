/**
 * A match id, as stream.proto's `Match.id` documents it: a file name stem on
 * soccer-service, never a path. The gateway checks it before any call, the
 * service again, and the web page before it asks. No imports: the page's
 * bundle takes this file as it is.
 */
export const MATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
