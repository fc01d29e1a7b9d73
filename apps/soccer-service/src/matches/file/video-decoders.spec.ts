import { describe, expect, it } from 'vitest';
import type { VideoDecoder } from './video-decoder.js';
import { VideoDecoders, type VideoDecoderName } from './video-decoders.js';

const VIDEO = { file: '/nowhere.mp4', width: 2, height: 2, rotation: 0 };

/** A decoder of two frames, standing in for node-av's. */
const twoFrames: VideoDecoder = async function* () {
  yield await Promise.resolve(Buffer.alloc(12, 1));
  yield Buffer.alloc(12, 2);
};

/** Records which decoder opened and whether it was released. */
function openings() {
  const log: string[] = [];
  const opened = (name: VideoDecoderName) => {
    log.push(`open ${name}`);
    return () => log.push(`close ${name}`);
  };
  return { log, opened };
}

describe('VideoDecoders', () => {
  it('decodes with node-av when it loads, and counts the decoder open until released', async () => {
    const { log, opened } = openings();
    const decoders = new VideoDecoders('node-av', '/usr/bin/ffmpeg', opened, () =>
      Promise.resolve(twoFrames),
    );
    const decode = (await decoders.decoder())!;
    const frames = decode(VIDEO, 'bgr', new AbortController().signal);
    expect(log).toEqual([]); // nothing opens before the first frame is asked for
    const got: number[] = [];
    for await (const frame of frames) got.push(frame[0]);
    expect(got).toEqual([1, 2]);
    expect(log).toEqual(['open node-av', 'close node-av']);
  });

  it('decodes a rotated file in an ffmpeg child even with node-av loaded', async () => {
    const { log, opened } = openings();
    const decoders = new VideoDecoders('node-av', '/bin/false', opened, () =>
      Promise.resolve(twoFrames),
    );
    const decode = (await decoders.decoder())!;
    for (const rotation of [90, 180, 270]) {
      await expect(async () => {
        for await (const _ of decode({ ...VIDEO, rotation }, 'bgr', new AbortController().signal));
      }).rejects.toThrow(/ffmpeg exited with 1/);
    }
    const frames: Buffer[] = [];
    for await (const frame of decode(VIDEO, 'bgr', new AbortController().signal))
      frames.push(frame);
    expect(frames).toHaveLength(2);
    expect(log).toEqual([
      ...Array<string[]>(3).fill(['open ffmpeg', 'close ffmpeg']).flat(),
      'open node-av',
      'close node-av',
    ]);
  });

  it('falls back to an ffmpeg child when node-av cannot load', async () => {
    const { log, opened } = openings();
    const noBinary = () => Promise.reject(new Error('no prebuilt binary for this platform'));
    const decoders = new VideoDecoders('node-av', '/bin/false', opened, noBinary);
    const decode = (await decoders.decoder())!;
    // /bin/false as ffmpeg: the child starts, writes nothing and exits 1.
    await expect(async () => {
      for await (const _ of decode(VIDEO, 'bgr', new AbortController().signal));
    }).rejects.toThrow(/ffmpeg exited with 1/);
    expect(log).toEqual(['open ffmpeg', 'close ffmpeg']);
  });

  it('has no decoder without node-av and without ffmpeg', async () => {
    const { opened } = openings();
    const noBinary = () => Promise.reject(new Error('no prebuilt binary'));
    expect(await new VideoDecoders('node-av', undefined, opened, noBinary).decoder()).toBe(
      undefined,
    );
  });

  it('uses the ffmpeg child when asked to, without loading node-av', async () => {
    const { log, opened } = openings();
    let loaded = false;
    const load = () => {
      loaded = true;
      return Promise.resolve(twoFrames);
    };
    const decode = (await new VideoDecoders('ffmpeg', '/bin/false', opened, load).decoder())!;
    await expect(async () => {
      for await (const _ of decode(VIDEO, 'bgr', new AbortController().signal));
    }).rejects.toThrow(/ffmpeg exited with 1/);
    expect(loaded).toBe(false);
    expect(log).toEqual(['open ffmpeg', 'close ffmpeg']);
  });
});
