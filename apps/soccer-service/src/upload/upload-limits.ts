/** Injection token of the UploadLimits. */
export const UPLOAD_LIMITS = Symbol('UPLOAD_LIMITS');

/** soccer-service's limits on one upload (MAX_UPLOAD_BYTES, UPLOAD_TIMEOUT_MS). */
export interface UploadLimits {
  maxBytes: number;
  /** Longest an upload may take; then it ends with DEADLINE_EXCEEDED. */
  timeoutMs: number;
}
