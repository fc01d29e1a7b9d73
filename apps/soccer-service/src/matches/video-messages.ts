import { EncodedMessage, GRPC_PREFIX_BYTES } from '#grpc';
import { isShared, newFrameBuffer } from './frame-target.js';

const LEN = 2; // protobuf wire types
const VARINT = 0;
const key = (field: number, wire: number) => (field << 3) | wire;

/** Bytes of `n` as a protobuf varint (n < 2^53). */
function varintLength(n: number): number {
  let bytes = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 0x80);
    bytes++;
  }
  return bytes;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  buf[at++] = n;
  return at;
}

/**
 * Raw `stream.Video` messages of one Watch, in their wire form behind room
 * for the gRPC prefix, with the frame (field 1, `data`) first: a frame is
 * decoded straight into the message that carries it (`frameTarget`), and
 * grpc-js writes that buffer to the HTTP/2 stream as it is (EncodedMessage),
 * so a frame is copied once, from the decoder, on its way out. A
 * message's buffer is used again once grpc-js is done with it: a Watch holds
 * as many as it has frames in flight, no more. The bytes are what protobufjs
 * writes for the same Video with every field set, as the Watch sets them.
 */
export class VideoMessages {
  private readonly free: Buffer[] = [];
  /** The gRPC prefix's room, then field 1's key and length. */
  private readonly head: Buffer;
  private readonly tail: Buffer;
  private readonly capacity: number;
  /** Messages whose frame views were handed out, oldest first, not yet sent. */
  private readonly pending: Buffer[] = [];

  constructor(
    private readonly frameBytes: number,
    dataType: string,
    dataShape: string,
    private readonly encoding: number,
  ) {
    const head = Buffer.alloc(GRPC_PREFIX_BYTES + 1 + varintLength(frameBytes));
    head[GRPC_PREFIX_BYTES] = key(1, LEN);
    writeVarint(head, GRPC_PREFIX_BYTES + 1, frameBytes);
    this.head = head;
    const strings = [
      [2, Buffer.from(dataType)],
      [3, Buffer.from(dataShape)],
    ] as const;
    this.tail = Buffer.concat(
      strings.flatMap(([field, bytes]) => {
        const k = Buffer.alloc(1 + varintLength(bytes.length));
        k[0] = key(field, LEN);
        writeVarint(k, 1, bytes.length);
        return [k, bytes];
      }),
    );
    // seq, pts_ms and encoding: a key byte and at most 8 varint bytes each.
    this.capacity = head.length + frameBytes + this.tail.length + 3 * 9;
  }

  /**
   * Where the next frame may be written: the data field of a message buffer.
   * Frames are to come back to `message` in the order their targets were given.
   */
  frameTarget = (_frameBytes: number, shared = false): Buffer => {
    const message = this.newMessage(shared);
    this.pending.push(message);
    return message.subarray(this.head.length, this.head.length + this.frameBytes);
  };

  /** The message carrying `frame` (written into the oldest frameTarget, or copied in). */
  message(frame: Buffer, seq: number, ptsMs: number): EncodedMessage {
    let message = this.pending[0];
    if (
      message &&
      frame.buffer === message.buffer &&
      frame.byteOffset === message.byteOffset + this.head.length
    ) {
      this.pending.shift();
    } else {
      message = this.newMessage(false);
      frame.copy(message, this.head.length);
    }
    let at = this.head.length + this.frameBytes;
    at += this.tail.copy(message, at);
    for (const [field, value] of [
      [4, seq],
      [5, ptsMs],
      [6, this.encoding],
    ] as const) {
      message[at++] = key(field, VARINT);
      at = writeVarint(message, at, value);
    }
    return new EncodedMessage(message.subarray(0, at), () => this.free.push(message));
  }

  private newMessage(shared: boolean): Buffer {
    let message = this.free.pop();
    if (!message || isShared(message) !== shared) message = newFrameBuffer(this.capacity, shared);
    this.head.copy(message, 0);
    return message;
  }
}
