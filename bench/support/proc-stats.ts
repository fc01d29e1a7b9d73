import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ: 100 on Linux). */
const TICKS_PER_SECOND = 100;

/** The fields of /proc/<pid>/stat after the command name, which may itself hold spaces and ')'. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/**
 * CPU time (user + system) of `pid` so far, in seconds; with `children`, that
 * of its children too once they have exited (an ffmpeg decoder it reaped).
 */
export function cpuSeconds(pid: number, children = false): number {
  const fields = statFields(pid);
  // utime, stime, cutime, cstime are fields 14-17 of the whole line, 12-15 here (from 1).
  const own = Number(fields[11]) + Number(fields[12]);
  const reaped = children ? Number(fields[13]) + Number(fields[14]) : 0;
  return (own + reaped) / TICKS_PER_SECOND;
}

/** Page faults (minor and major) of `pid` so far; with `children`, its reaped children's too. */
export function pageFaults(pid: number, children = false): number {
  const fields = statFields(pid);
  // minflt, cminflt, majflt, cmajflt are fields 10-13 of the whole line, 8-11 here (from 1).
  const own = Number(fields[7]) + Number(fields[9]);
  const reaped = children ? Number(fields[8]) + Number(fields[10]) : 0;
  return own + reaped;
}

/**
 * CPU µs per page fault: the first write to each 4 KiB page of 64 MiB of new
 * memory. On a VM it depends on the host (11-19 µs here on 2026-12-06), and a
 * server that writes each frame into new memory pays it for every page.
 */
export function pageFaultMicros(): number {
  const bytes = 64 * 1024 * 1024;
  const before = process.cpuUsage();
  const fresh = Buffer.allocUnsafeSlow(bytes);
  for (let i = 0; i < bytes; i += 4096) fresh[i] = 1;
  const { user, system } = process.cpuUsage(before);
  return (user + system) / (bytes / 4096);
}

/** Memory of `pid` from /proc/<pid>/status, in MB (10^6 bytes): resident now, and its peak. */
export function memory(pid: number): { rssMB: number; hwmMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  // The kernel's "kB" are KiB.
  const mb = (name: string) =>
    (Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) * 1024) / 1e6;
  return { rssMB: mb('VmRSS'), hwmMB: mb('VmHWM') };
}

/** CPU use of some processes over a window: start() ... stop() gives % of one core each. */
export class CpuWindow {
  private readonly start: number[];
  private readonly started = performance.now();

  /** `children`: count the CPU of the processes' children that exited within the window. */
  constructor(
    private readonly pids: readonly number[],
    private readonly children = false,
  ) {
    this.start = pids.map((pid) => cpuSeconds(pid, children));
  }

  /** CPU seconds each process used since the window opened. */
  used(): number[] {
    return this.pids.map((pid, i) => cpuSeconds(pid, this.children) - this.start[i]);
  }

  /** % of one core each process used since the window opened (200% = both cores of 2). */
  percent(): number[] {
    const seconds = (performance.now() - this.started) / 1000;
    return this.used().map((used) => (used / seconds) * 100);
  }
}

/** Samples the resident memory of some processes every `everyMs`, keeping each one's first and highest. */
export class RssSampler {
  readonly first: number[];
  readonly max: number[];
  readonly last: number[];
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pids: readonly number[],
    everyMs = 250,
  ) {
    this.first = pids.map((pid) => memory(pid).rssMB);
    this.max = [...this.first];
    this.last = [...this.first];
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    this.pids.forEach((pid, i) => {
      const { rssMB } = memory(pid);
      this.last[i] = rssMB;
      this.max[i] = Math.max(this.max[i], rssMB);
    });
  }

  stop(): void {
    clearInterval(this.timer);
    this.sample();
  }
}
