import { status } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleSum } from '#observability';
import { stream } from '#proto';
import { InProcessChatRoomBus } from '../chat/in-process-chat-room-bus.js';
import { SoccerMetrics, uploadResult } from './soccer-metrics.js';

async function scrape(registry: Registry) {
  return parsePrometheusText(await registry.metrics()).samples;
}

describe('SoccerMetrics', () => {
  it('counts frames and their bytes per encoding, both present at 0 from the start', async () => {
    const registry = new Registry();
    const metrics = new SoccerMetrics(registry, new InProcessChatRoomBus());
    const before = await scrape(registry);
    expect(sampleSum(before, 'soccer_watch_frames_sent_total', { encoding: 'RAW' })).toBe(0);
    expect(before.filter((s) => s.name === 'soccer_watch_frames_sent_total')).toHaveLength(2);

    const jpeg = metrics.watchFrames(stream.Encoding.JPEG);
    jpeg.sent(100);
    jpeg.sent(50);
    metrics.watchFrames(stream.Encoding.RAW).sent(691_200);
    const after = await scrape(registry);
    expect(sampleSum(after, 'soccer_watch_frames_sent_total', { encoding: 'JPEG' })).toBe(2);
    expect(sampleSum(after, 'soccer_watch_bytes_sent_total', { encoding: 'JPEG' })).toBe(150);
    expect(sampleSum(after, 'soccer_watch_frames_sent_total', { encoding: 'RAW' })).toBe(1);
    expect(() => metrics.watchFrames(stream.Encoding.UNRECOGNIZED)).toThrow(/encoding/);
  });

  it('reads the chat rooms and members from the bus on each scrape', async () => {
    const registry = new Registry();
    const bus = new InProcessChatRoomBus();
    new SoccerMetrics(registry, bus);
    const leave = [bus.subscribe('a', () => undefined), bus.subscribe('a', () => undefined)];
    leave.push(bus.subscribe('b', () => undefined));
    let s = await scrape(registry);
    expect([sampleSum(s, 'soccer_chat_rooms'), sampleSum(s, 'soccer_chat_members')]).toEqual([
      2, 3,
    ]);
    expect(sampleSum(s, 'soccer_chat_available')).toBe(1);
    for (const unsubscribe of leave) unsubscribe();
    s = await scrape(registry);
    expect([sampleSum(s, 'soccer_chat_rooms'), sampleSum(s, 'soccer_chat_members')]).toEqual([
      0, 0,
    ]);
  });

  it('counts upload bytes as they arrive and uploads by result', async () => {
    const registry = new Registry();
    const metrics = new SoccerMetrics(registry, new InProcessChatRoomBus());
    metrics.uploadReceived(65_536);
    metrics.uploadReceived(10);
    metrics.uploadEnded(status.OK);
    metrics.uploadEnded(status.ALREADY_EXISTS);
    const s = await scrape(registry);
    expect(sampleSum(s, 'soccer_upload_bytes_total')).toBe(65_546);
    expect(sampleSum(s, 'soccer_uploads_total', { result: 'stored' })).toBe(1);
    expect(sampleSum(s, 'soccer_uploads_total', { result: 'rejected' })).toBe(1);
  });

  it.each([
    [status.OK, 'stored'],
    [status.INVALID_ARGUMENT, 'rejected'],
    [status.ALREADY_EXISTS, 'rejected'],
    [status.RESOURCE_EXHAUSTED, 'rejected'],
    [status.FAILED_PRECONDITION, 'rejected'],
    [status.CANCELLED, 'cancelled'],
    [status.DEADLINE_EXCEEDED, 'cancelled'],
    [status.INTERNAL, 'failed'],
    [status.UNKNOWN, 'failed'],
  ])('names an upload ending with code %i %j', (code, result) => {
    expect(uploadResult(code)).toBe(result);
  });
});
