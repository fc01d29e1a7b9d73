// The browser side of rpc-web.e2e-spec.ts: bundled by esbuild and run in a
// page of the gateway's own origin, where it calls the gateway with connect-web.
import { failures, order, watch, watchForever } from './rpc-web-client.js';

(globalThis as unknown as { rpcWeb: unknown }).rpcWeb = {
  order,
  watch,
  watchForever,
  failures,
  progress: { frames: 0 },
};
