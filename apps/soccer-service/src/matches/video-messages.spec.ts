import { describe, expect, it } from 'vitest';
import type { MethodDefinition } from '@grpc/grpc-js';
import { grpcServiceName, loadServiceProto, stream } from '#proto';
import { VideoMessages } from './video-messages.js';

/** stream.Soccer/Watch's serializer, as the server gets it. */
function watchSerializer(pkg = loadServiceProto('soccer')) {
  const service = pkg[grpcServiceName('soccer')] as Record<
    string,
    MethodDefinition<unknown, unknown>
  >;
  return service.Watch.responseSerialize;
}

const SHAPE = '(2, 3, 3)';
const frame = (fill: number) => Buffer.alloc(18, fill);

describe('VideoMessages', () => {
  it.each([
    ['the first frame', 0, 0],
    ['a later frame', 1234, 49_360],
    ['a frame past 2^32', 2 ** 40, 2 ** 45],
  ])('writes %s as protobufjs writes the same Video', (_case, seq, ptsMs) => {
    const messages = new VideoMessages(18, 'uint8', SHAPE, stream.Encoding.RAW);
    const target = messages.frameTarget(18);
    frame(7).copy(target);
    const encoded = messages.message(target, seq, ptsMs);
    const video = { data: frame(7), dataType: 'uint8', dataShape: SHAPE, seq, ptsMs, encoding: 0 };
    expect(encoded.bytes.equals(watchSerializer()(video))).toBe(true);
  });

  it('carries frames decoded ahead in the messages of their targets, in order, with no copy', () => {
    const messages = new VideoMessages(18, 'uint8', SHAPE, stream.Encoding.RAW);
    const targets = [messages.frameTarget(18, true), messages.frameTarget(18, true)];
    targets.forEach((target, i) => frame(5 + i).copy(target));
    const encoded = targets.map((target, seq) => messages.message(target, seq, seq * 40));
    encoded.forEach((message, seq) => {
      expect(message.bytes.buffer).toBe(targets[seq].buffer);
      const data = frame(5 + seq);
      const video = {
        data,
        dataType: 'uint8',
        dataShape: SHAPE,
        seq,
        ptsMs: seq * 40,
        encoding: 0,
      };
      expect(message.bytes.equals(watchSerializer()(video))).toBe(true);
    });
  });

  it('copies a frame that was not written into its target (a rendered one)', () => {
    const messages = new VideoMessages(18, 'uint8', SHAPE, stream.Encoding.RAW);
    const encoded = messages.message(frame(9), 3, 120);
    const video = {
      data: frame(9),
      dataType: 'uint8',
      dataShape: SHAPE,
      seq: 3,
      ptsMs: 120,
      encoding: 0,
    };
    expect(encoded.bytes.equals(watchSerializer()(video))).toBe(true);
  });

  it('leaves room for the gRPC prefix, which the message fills in', () => {
    const messages = new VideoMessages(18, 'uint8', SHAPE, stream.Encoding.RAW);
    const encoded = messages.message(frame(4), 0, 0);
    expect(encoded.framed.readUInt32BE(1)).toBe(encoded.bytes.length);
    expect(encoded.framed.subarray(5).equals(encoded.bytes)).toBe(true);
  });

  it('uses a buffer again only once grpc-js is done with its message', () => {
    const messages = new VideoMessages(18, 'uint8', SHAPE, stream.Encoding.RAW);
    const first = messages.message(frame(1), 0, 0);
    const second = messages.message(frame(2), 1, 40);
    expect(second.bytes.buffer).not.toBe(first.bytes.buffer);
    first.sent!();
    const third = messages.frameTarget(18);
    expect(third.buffer).toBe(first.bytes.buffer);
  });

  it('gives shared memory only when asked (a decoder thread writes it), and reuses a buffer only of that kind', () => {
    const messages = new VideoMessages(18, 'uint8', SHAPE, stream.Encoding.RAW);
    const own = messages.frameTarget(18);
    expect(own.buffer).toBeInstanceOf(ArrayBuffer);
    messages.message(own, 0, 0).sent!();
    const shared = messages.frameTarget(18, true);
    expect(shared.buffer).toBeInstanceOf(SharedArrayBuffer);
    messages.message(shared, 1, 40).sent!();
    expect(messages.frameTarget(18, true).buffer).toBe(shared.buffer);
  });
});
