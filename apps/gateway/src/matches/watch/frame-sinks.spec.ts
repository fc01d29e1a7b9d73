import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stream } from '#proto';
import { SseWriter } from '../../http-streaming/sse-writer.js';
import { frameEventBytes, sseFrameEvent, toFrameEvent } from './frame-sinks.js';

function video(bytes: number, fields: Partial<stream.Video> = {}): stream.Video {
  // A view into a bigger buffer, as a decoded message's bytes are.
  const backing = randomBytes(bytes + 11);
  return {
    data: new Uint8Array(backing.buffer, backing.byteOffset + 7, bytes),
    dataType: 'uint8',
    dataShape: '(360, 640, 3)',
    seq: 41,
    ptsMs: 1640,
    encoding: stream.Encoding.RAW,
    ...fields,
  };
}

const VIDEOS: [string, stream.Video][] = [
  ['a 360p raw frame', video(360 * 640 * 3)],
  ['base64 with one pad', video(1001)],
  ['base64 with two pads', video(1000)],
  ['no bytes', video(0)],
  ['a JPEG', video(5000, { encoding: stream.Encoding.JPEG, dataShape: '' })],
  ['an encoding this gateway does not know', video(30, { encoding: 7 as stream.Encoding })],
  ['a shape with quotes to escape', video(30, { dataShape: '"(1, 2)"\\' })],
];

describe('sseFrameEvent', () => {
  it.each(VIDEOS)('is the bytes of the JSON-framed event: %s', (_, v) => {
    const framed = sseFrameEvent(v);
    expect(framed.equals(SseWriter.event('frame', toFrameEvent(v)))).toBe(true);
    const text = framed.toString();
    expect(text.startsWith('event: frame\ndata: ')).toBe(true);
    expect(text.endsWith('\n\n')).toBe(true);
    const data = JSON.parse(text.slice('event: frame\ndata: '.length, -2)) as { data: string };
    expect(Buffer.from(data.data, 'base64').equals(Buffer.from(v.data))).toBe(true);
  });

  it('frames a video once, however many viewers write it', () => {
    const v = video(3000);
    expect(sseFrameEvent(v)).toBe(sseFrameEvent(v));
  });
});

describe('frameEventBytes', () => {
  it.each(VIDEOS)('is the NDJSON line JSON.stringify makes: %s', (_, v) => {
    const line = frameEventBytes(v, '{"result":', '}\n');
    expect(line.toString()).toBe(`${JSON.stringify({ result: toFrameEvent(v) })}\n`);
  });
});
