import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Test } from '@nestjs/testing';
import { RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { MEDIA_DIR, MEDIA_TOOLS } from '../media/media.module.js';
import { findMediaTools, type MediaTools } from '../media/media-tools.js';
import { VideoDecoders } from './file/video-decoders.js';
import { MatchCatalogService } from './match-catalog.service.js';

/** The catalog of `mediaDir` with only `tools` found on the machine, decoding in process (node-av). */
async function catalogWith(mediaDir: string, tools: MediaTools): Promise<MatchCatalogService> {
  const moduleRef = await Test.createTestingModule({
    providers: [
      MatchCatalogService,
      { provide: MEDIA_DIR, useValue: mediaDir },
      { provide: MEDIA_TOOLS, useValue: tools },
      { provide: VideoDecoders, useValue: new VideoDecoders('node-av', undefined, () => () => {}) },
    ],
  }).compile();
  return moduleRef.get(MatchCatalogService);
}

/** The catalog on a machine where neither ffmpeg nor ffprobe could be found. */
describe('MatchCatalogService without ffmpeg', () => {
  let mediaDir: string;
  let catalog: MatchCatalogService;

  beforeEach(async () => {
    mediaDir = await mkdtemp(join(tmpdir(), 'catalog-'));
    await writeFile(join(mediaDir, 'final.mp4'), 'bytes of a video');
    // node-av is there, but the probe needs ffprobe.
    catalog = await catalogWith(mediaDir, {});
  });

  afterEach(() => rm(mediaDir, { recursive: true, force: true }));

  it('answers FAILED_PRECONDITION for a file match', async () => {
    const err = (await catalog.open('final').catch((e: unknown) => e)) as RpcException;
    expect(err).toBeInstanceOf(RpcException);
    expect(err.getError()).toMatchObject({ code: status.FAILED_PRECONDITION });
  });

  it('still plays the synthetic matches', async () => {
    const match = await catalog.open('demo');
    const frames = [];
    for await (const frame of match.frames('bgr', new AbortController().signal)) {
      frames.push(frame);
      if (frames.length === 3) break;
    }
    expect(frames.map((f) => f.length)).toEqual([640 * 360 * 3, 640 * 360 * 3, 640 * 360 * 3]);
  });

  it('still lists the file, with its size but no geometry', async () => {
    const list = await catalog.list();
    expect(list.map((m) => m.id)).toEqual(['demo', 'final', 'live']);
    expect(list.find((m) => m.id === 'final')).toMatchObject({
      sizeBytes: 16,
      width: 0,
      height: 0,
    });
  });

  it('answers NOT_FOUND for a match that is neither built in nor a file', async () => {
    const err = (await catalog.open('nope').catch((e: unknown) => e)) as RpcException;
    expect(err.getError()).toMatchObject({ code: status.NOT_FOUND });
  });
});

/** ffprobe and node-av, but no ffmpeg: a rotated file has nothing to turn it upright. */
describe('MatchCatalogService with ffprobe but without ffmpeg', () => {
  const run = promisify(execFile);
  let mediaDir: string;
  let catalog: MatchCatalogService;

  beforeEach(async () => {
    mediaDir = await mkdtemp(join(tmpdir(), 'catalog-'));
    const stored = join(mediaDir, 'stored.mp4');
    const quiet = ['-v', 'error', '-y'];
    const frames = [
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=320x180:rate=25',
      '-t',
      '1',
      '-pix_fmt',
      'yuv420p',
    ];
    await run('ffmpeg', [...quiet, ...frames, stored]);
    // A display matrix, as phones write for portrait video.
    const rotated = ['-c', 'copy', '-metadata:s:v:0', 'rotate=90'];
    await run('ffmpeg', [...quiet, '-i', stored, ...rotated, join(mediaDir, 'portrait.mp4')]);
    catalog = await catalogWith(mediaDir, { ffprobe: findMediaTools().ffprobe });
  });

  afterEach(() => rm(mediaDir, { recursive: true, force: true }));

  it('answers FAILED_PRECONDITION for a rotated file, before a frame is decoded', async () => {
    const err = (await catalog.open('portrait').catch((e: unknown) => e)) as RpcException;
    expect(err).toBeInstanceOf(RpcException);
    expect(err.getError()).toMatchObject({
      code: status.FAILED_PRECONDITION,
      message: expect.stringContaining('rotated 90°') as unknown,
    });
  });

  it('still opens an unrotated file', async () => {
    const match = await catalog.open('stored');
    expect(match).toMatchObject({ width: 320, height: 180 });
  });
});
