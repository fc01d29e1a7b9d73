/**
 * The last `limit` bytes (or a little more) of what a process printed. Each
 * chunk is kept as it came and joined only when read: a copy of the whole
 * tail per chunk (string concatenation then slicing) costs the reader more
 * CPU than the app spends serving a call when an app logs a line per RPC,
 * and on a shared machine that CPU is taken from the app being measured.
 */
export class OutputTail {
  private chunks: Buffer[] = [];
  private bytes = 0;
  private joined: string | undefined = '';

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.chunks.length > 1 && this.bytes - this.chunks[0].length >= this.limit) {
      this.bytes -= this.chunks.shift()!.length;
    }
    this.joined = undefined;
  }

  /** The tail as text, at most `limit` characters (the first line may be cut). */
  get text(): string {
    if (this.joined === undefined) {
      const all = Buffer.concat(this.chunks, this.bytes);
      this.chunks = [all];
      this.joined = all.toString().slice(-this.limit);
    }
    return this.joined;
  }
}
