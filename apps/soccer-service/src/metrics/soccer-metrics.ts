import { Inject, Injectable } from '@nestjs/common';
import { status } from '@grpc/grpc-js';
import { Counter, Gauge, Registry } from 'prom-client';
import { stream } from '#proto';
import { CHAT_ROOM_BUS, type ChatRoomBus } from '../chat/chat-room-bus.js';
import { VIDEO_DECODERS, type VideoDecoderName } from '../matches/file/video-decoders.js';

/** How an upload ended, as `soccer_uploads_total{result}` counts it. */
export type UploadResultLabel = 'stored' | 'rejected' | 'cancelled' | 'failed';

/** The service's fault rather than the client's input. */
const SERVER_FAULTS = new Set<status>([status.INTERNAL, status.UNKNOWN, status.DATA_LOSS]);

/** Counters bound to one encoding: a frame costs two increments, no lookup by labels. */
export interface WatchFrameCounters {
  sent(bytes: number): void;
}

/**
 * soccer-service's own metrics, beside the gRPC ones every call gets
 * (`grpc_server_*`: active Watch/Chat streams are `grpc_server_active_streams`):
 * - `soccer_watch_frames_sent_total{encoding}`, `soccer_watch_bytes_sent_total{encoding}`:
 *   frames handed to Watch calls and their payload bytes, encoding RAW or JPEG
 * - `soccer_video_decoders_open{decoder}`: video file decoders running now,
 *   node-av (in process) or ffmpeg (children)
 * - `soccer_upload_bytes_total`: upload bytes received, as they arrive
 * - `soccer_uploads_total{result}`: uploads ended, stored / rejected (bad
 *   input, too large, exists) / cancelled / failed (the service's fault)
 * - `soccer_upload_temp_files_removed_total`: stale upload temp files the
 *   sweep removed (left by a crash)
 * - `soccer_chat_rooms`, `soccer_chat_members`: the chat bus's counts in this
 *   process, read on each scrape; `soccer_chat_available`: 0 while the bus
 *   has lost its broker (Redis), so chats are refused.
 */
@Injectable()
export class SoccerMetrics {
  private readonly frames = new Map<stream.Encoding, WatchFrameCounters>();
  private readonly uploadBytes: Counter;
  private readonly uploads: Counter<'result'>;
  private readonly staleUploads: Counter;
  private readonly decoders: Gauge<'decoder'>;

  constructor(registry: Registry, @Inject(CHAT_ROOM_BUS) chat: ChatRoomBus) {
    const registers = [registry];
    const framesSent = new Counter({
      name: 'soccer_watch_frames_sent_total',
      help: 'Video frames handed to Watch calls, by encoding.',
      labelNames: ['encoding'],
      registers,
    });
    const bytesSent = new Counter({
      name: 'soccer_watch_bytes_sent_total',
      help: 'Payload bytes of the video frames handed to Watch calls, by encoding.',
      labelNames: ['encoding'],
      registers,
    });
    for (const encoding of [stream.Encoding.RAW, stream.Encoding.JPEG]) {
      const labels = { encoding: stream.Encoding[encoding] };
      const frames = framesSent.labels(labels);
      const bytes = bytesSent.labels(labels);
      // Present at 0 from the start, so rate() sees the first frames.
      frames.inc(0);
      bytes.inc(0);
      this.frames.set(encoding, {
        sent: (n) => {
          frames.inc();
          bytes.inc(n);
        },
      });
    }
    this.uploadBytes = new Counter({
      name: 'soccer_upload_bytes_total',
      help: 'Bytes of match videos received by Upload calls, as they arrive (kept or not).',
      registers,
    });
    this.uploads = new Counter({
      name: 'soccer_uploads_total',
      help: 'Upload calls ended, by result: stored, rejected, cancelled or failed.',
      labelNames: ['result'],
      registers,
    });
    this.staleUploads = new Counter({
      name: 'soccer_upload_temp_files_removed_total',
      help: 'Upload temp files removed by the sweep: no upload in flight owned them, and nothing wrote to them for UPLOAD_TIMEOUT_MS (left by a crash).',
      registers,
    });
    this.decoders = new Gauge({
      name: 'soccer_video_decoders_open',
      help: 'Video file decoders running now: node-av (in process) or ffmpeg (children).',
      labelNames: ['decoder'],
      registers,
    });
    for (const decoder of VIDEO_DECODERS) this.decoders.set({ decoder }, 0);
    new Gauge({
      name: 'soccer_chat_rooms',
      help: 'Chat rooms with at least one member connected to this process.',
      registers,
      collect() {
        this.set(chat.roomCount);
      },
    });
    new Gauge({
      name: 'soccer_chat_members',
      help: 'Chat members connected to this process, over all rooms.',
      registers,
      collect() {
        this.set(chat.memberCount);
      },
    });
    new Gauge({
      name: 'soccer_chat_available',
      help: 'Whether Chat takes members (1) or answers UNAVAILABLE (0): its Redis is unreachable.',
      registers,
      collect() {
        this.set(chat.available ? 1 : 0);
      },
    });
  }

  /** A `name` decoder started; call what it returns once it is released. */
  decoderOpened(name: VideoDecoderName): () => void {
    this.decoders.inc({ decoder: name });
    return () => this.decoders.dec({ decoder: name });
  }

  /** The frame counters of a watch in `encoding` (validated: RAW or JPEG). Bind once per watch. */
  watchFrames(encoding: stream.Encoding): WatchFrameCounters {
    const counters = this.frames.get(encoding);
    if (!counters) throw new Error(`no frame counters for encoding ${encoding}`);
    return counters;
  }

  /** `bytes` more of an upload arrived. */
  uploadReceived(bytes: number): void {
    this.uploadBytes.inc(bytes);
  }

  /** The sweep removed an upload temp file that was nobody's. */
  staleUploadRemoved(): void {
    this.staleUploads.inc();
  }

  /** An upload ended: stored, or with the gRPC status `code` it was refused with. */
  uploadEnded(code: status): void {
    this.uploads.inc({ result: uploadResult(code) });
  }
}

export function uploadResult(code: status): UploadResultLabel {
  if (code === status.OK) return 'stored';
  if (code === status.CANCELLED || code === status.DEADLINE_EXCEEDED) return 'cancelled';
  return SERVER_FAULTS.has(code) ? 'failed' : 'rejected';
}
