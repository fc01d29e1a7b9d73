import { availableParallelism } from 'node:os';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { DecoderReply, DecoderRequest, ThreadMessage } from './node-av-thread.js';

// Under vitest this module is its .ts source, and so is the thread's (Node strips its types).
const THREAD_FILE = new URL(
  `./node-av-thread${extname(fileURLToPath(import.meta.url))}`,
  import.meta.url,
);

/** One decoder thread and the replies its files wait for, oldest first per file. */
class DecoderThread {
  private fileCount = 0;
  private readonly waiting = new Map<number, ((reply: DecoderReply) => void)[]>();
  private readonly worker: Worker;
  private failure?: string;
  /** Resolves once node-av has loaded on the thread; rejects if it cannot. */
  readonly ready: Promise<void>;

  constructor(onGone: (thread: DecoderThread) => void) {
    this.worker = new Worker(THREAD_FILE);
    this.worker.unref(); // while it has no file, it does not keep the process alive
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (message: ThreadMessage) => {
        if (message === 'ready') return resolve();
        this.waiting.get(message.id)?.shift()?.(message);
      });
      const fail = (why: string) => {
        this.failure ??= `the decoder thread ${why}`;
        reject(new Error(this.failure));
        onGone(this);
        for (const [id, queue] of this.waiting) {
          for (const settle of queue.splice(0)) settle({ id, error: this.failure });
        }
      };
      this.worker.on('error', (err: Error) => fail(`failed: ${err.message}`));
      this.worker.on('exit', (code) => fail(`exited (${code})`));
    });
    this.ready.catch(() => undefined); // also seen by whoever awaits it
  }

  /** Sends `request`; resolves with its reply (an error reply once the thread is gone). */
  request(request: DecoderRequest): Promise<DecoderReply> {
    const { id } = request;
    if (this.failure) return Promise.resolve({ id, error: this.failure });
    return new Promise((settle) => {
      let queue = this.waiting.get(id);
      if (!queue) this.waiting.set(id, (queue = []));
      queue.push(settle);
      this.worker.postMessage(request);
    });
  }

  get files(): number {
    return this.fileCount;
  }

  opened(): void {
    if (this.fileCount++ === 0) this.worker.ref();
  }

  /** The file `id` is closed: no more replies for it. */
  closed(id: number): void {
    this.waiting.delete(id);
    if (--this.fileCount === 0) this.worker.unref();
  }
}

/**
 * The decoder threads of node-av, started as files are watched: a new file
 * goes to a thread with nothing to decode, or while there are fewer threads
 * than cores to a new one, else to the thread with the fewest files (they
 * take turns, a frame each).
 */
export class DecoderThreads {
  private readonly threads: DecoderThread[] = [];
  private nextId = 1;

  constructor(private readonly max = availableParallelism()) {}

  /** Starts the first thread; rejects where node-av cannot load. */
  async start(): Promise<void> {
    await this.pick().ready;
  }

  /** A thread for a new file, and the file's id. */
  take(): { thread: DecoderThread; id: number } {
    const thread = this.pick();
    thread.opened();
    return { thread, id: this.nextId++ };
  }

  private pick(): DecoderThread {
    const least = this.threads.reduce<DecoderThread | undefined>(
      (best, t) => (!best || t.files < best.files ? t : best),
      undefined,
    );
    if (least && (least.files === 0 || this.threads.length >= this.max)) return least;
    const thread = new DecoderThread((gone) => {
      const at = this.threads.indexOf(gone);
      if (at >= 0) this.threads.splice(at, 1);
    });
    this.threads.push(thread);
    return thread;
  }
}

export type { DecoderThread };
