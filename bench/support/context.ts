/** What every measurement is given: the mode, where to put temp files, how to start processes. */
export interface BenchContext {
  /** `bench:quick`: one round, short runs, small files. */
  quick: boolean;
  /** A/B rounds per comparison (≥ 3 in full, 1 in quick). */
  rounds: number;
  /** A scratch directory for this run, removed at the end. */
  tmp: string;
  /** With BENCH_PROFILE=1: where the Node processes of this run write their --cpu-prof files. */
  profileDir?: string;
  /** Prints a progress line. */
  log(line: string): void;
}

/** Seconds of one load run: `full` normally, `quick` in bench:quick. */
export function seconds(ctx: BenchContext, full: number, quick: number): number {
  return ctx.quick ? quick : full;
}
