import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { stream } from '#proto';
import { GRPC_STREAM_RESET_BURST } from '#grpc';
import { startSoccerService, type SoccerService } from './support/soccer-service.js';

type WatchFn = (request: Partial<stream.Match>) => ClientReadableStream<stream.Video>;

/** More cancels than Node's default rapid-reset budget (1000 at once, then 33/s). */
const CANCELS = 3000;
/** Calls open at a time, as a gateway's viewers come and go. */
const AT_ONCE = 50;

/**
 * A gateway cancels an upstream Watch each time a viewer leaves, all over
 * one connection. Thousands of cancels in a few seconds must leave that
 * connection, and every other call on it, alone: at Node's defaults the
 * 1001st RST_STREAM closes it, and the calls on it fail with INTERNAL.
 */
describe('a client cancelling thousands of Watch calls in a burst', () => {
  let service: SoccerService;

  beforeAll(async () => {
    service = await startSoccerService();
  });

  afterAll(() => service?.stop());

  it(`${CANCELS} watch/cancel cycles on one connection, ${AT_ONCE} at a time: each ends CANCELLED, and a call that stays open lives on`, async () => {
    expect(CANCELS).toBeLessThan(GRPC_STREAM_RESET_BURST);
    const watch = (service.client as unknown as { watch: WatchFn }).watch.bind(service.client);
    const request = { id: 'live', encoding: stream.Encoding.JPEG, fps: 30, jpegQuality: 1 };

    // A viewer who stays for the whole burst, on the same connection.
    const stayer = watch(request);
    let stayerFrames = 0;
    const stayerFailed = new Promise<ServiceError>((resolve) => stayer.on('error', resolve));
    stayer.on('data', () => stayerFrames++);

    const codes = new Map<number, number>();
    const cycle = () =>
      new Promise<void>((resolve) => {
        const call = watch(request);
        call.once('data', () => call.cancel());
        call.on('error', (e: ServiceError) => {
          codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
          resolve();
        });
        call.on('end', resolve);
      });
    for (let done = 0; done < CANCELS; done += AT_ONCE) {
      await Promise.all(Array.from({ length: AT_ONCE }, cycle));
    }

    expect(Object.fromEntries(codes)).toEqual({ [status.CANCELLED]: CANCELS });
    const framesDuringBurst = stayerFrames;
    await expect.poll(() => stayerFrames, { timeout: 5000 }).toBeGreaterThan(framesDuringBurst);
    stayer.cancel();
    expect((await stayerFailed).code).toBe(status.CANCELLED);
  }, 180_000);
});
