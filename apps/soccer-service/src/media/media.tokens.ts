/** Injection token: absolute media directory (created at start when possible). */
export const MEDIA_DIR = Symbol('MEDIA_DIR');
/** Injection token: the MediaTools found at start-up. */
export const MEDIA_TOOLS = Symbol('MEDIA_TOOLS');
/** Injection token: ms between two checks that MEDIA_DIR takes writes. */
export const MEDIA_CHECK_INTERVAL_MS = Symbol('MEDIA_CHECK_INTERVAL_MS');
