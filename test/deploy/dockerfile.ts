/**
 * A small Dockerfile reader and the rules CI holds the Dockerfile to: a few of
 * hadolint's (no hadolint on this machine), and the project's own (every app
 * target runs node directly, as user node, with a health check).
 */

export interface Instruction {
  /** Upper case: FROM, RUN, CMD, … */
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  /** 1-based line of the keyword. */
  line: number;
}

export interface Stage {
  /** `AS name`, or the stage's index as a string. */
  name: string;
  /** The image or stage after FROM, build arguments substituted. */
  from: string;
  /** The stage it builds on, when FROM names an earlier stage. */
  parent?: Stage;
  /** 1-based line of its FROM. */
  line: number;
  instructions: Instruction[];
}

export interface Dockerfile {
  stages: Stage[];
  /** Stages no other stage builds on or copies from: what `--target` is for. */
  targets: Stage[];
}

/** Splits the file into instructions: comments dropped, `\` continuations joined. */
export function readInstructions(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    // Comment lines, also inside a continued instruction, are not part of it.
    if (trimmed.startsWith('#') || (trimmed === '' && !pending)) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1).trim() : trimmed;
    pending = pending
      ? { text: `${pending.text} ${part}`.trim(), line: pending.line }
      : { text: part, line: index + 1 };
    if (!continued) {
      const match = /^(\S+)\s*(.*)$/.exec(pending.text);
      if (match) {
        instructions.push({ keyword: match[1].toUpperCase(), args: match[2], line: pending.line });
      }
      pending = undefined;
    }
  });
  return instructions;
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions = readInstructions(text);
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const from = words[0].replace(
        /\$\{?(\w+)\}?/g,
        (_, name: string) => globalArgs.get(name) ?? '',
      );
      const alias = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      const parent = stages.find((stage) => stage.name === from);
      stages.push({
        name: alias ?? String(stages.length),
        from,
        parent,
        line: instruction.line,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') {
        const [name, value = ''] = instruction.args.split('=', 2);
        globalArgs.set(name.trim(), value.trim());
      }
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  const used = new Set<string>();
  for (const stage of stages) {
    if (stage.parent) used.add(stage.parent.name);
    for (const { keyword, args } of stage.instructions) {
      const from = /--from=(\S+)/.exec(args)?.[1];
      if (keyword === 'COPY' && from) used.add(from);
    }
  }
  return { stages, targets: stages.filter((stage) => !used.has(stage.name)) };
}

/** The last `keyword` instruction in effect in `stage`: its own, else its parent stage's. */
export function effective(stage: Stage | undefined, keyword: string): Instruction | undefined {
  if (!stage) return undefined;
  return (
    stage.instructions.findLast((i) => i.keyword === keyword) ?? effective(stage.parent, keyword)
  );
}

/** The environment `stage` sets (its own ENV and its parent stages'). */
export function stageEnv(stage: Stage | undefined): Record<string, string> {
  if (!stage) return {};
  const env = stageEnv(stage.parent);
  for (const { keyword, args } of stage.instructions) {
    if (keyword !== 'ENV') continue;
    for (const match of args.matchAll(/(\w+)=("[^"]*"|\S*)/g)) {
      env[match[1]] = match[2].replace(/^"(.*)"$/, '$1');
    }
  }
  return env;
}

/** The argv of an exec-form (JSON array) command, or undefined for the shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trim().startsWith('[')) return undefined;
  try {
    const argv = JSON.parse(args) as unknown;
    return Array.isArray(argv) && argv.every((a) => typeof a === 'string') ? argv : undefined;
  } catch {
    return undefined;
  }
}

/** The argv of a target's CMD and of its HEALTHCHECK (exec forms only). */
export function targetCommands(dockerfile: Dockerfile, target: string) {
  const stage = dockerfile.stages.find((s) => s.name === target);
  if (!stage) throw new Error(`Dockerfile: no target ${target}`);
  const cmd = effective(stage, 'CMD');
  const healthcheck = effective(stage, 'HEALTHCHECK');
  const healthcheckCmd = healthcheck && /(?:^|\s)CMD\s+(.*)$/.exec(healthcheck.args)?.[1];
  return {
    cmd: cmd && execForm(cmd.args),
    healthcheck: healthcheckCmd ? execForm(healthcheckCmd) : undefined,
  };
}

/** An image reference pinned to a version: a tag other than `latest`, or a digest. */
export function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  // The tag is on the last path segment (a registry's :port is on the first).
  const tag = /:(\w[\w.-]{0,127})$/.exec(image.split('/').at(-1) ?? '')?.[1];
  return tag !== undefined && tag !== 'latest';
}

export interface DockerfileRules {
  /** Targets that run an app: a HEALTHCHECK, NODE_ENV=production, STOPSIGNAL, required. */
  appTargets: readonly string[];
}

/** Every rule `text` breaks, as `line N: [code] message` (none: it passes). */
export function checkDockerfile(text: string, rules: DockerfileRules): string[] {
  const problems: string[] = [];
  const dockerfile = parseDockerfile(text);
  const at = (i: Instruction | { line: number }, message: string) =>
    problems.push(`line ${i.line}: ${message}`);

  for (const stage of dockerfile.stages) {
    // `scratch` is no image: the empty root a distroless-style stage starts from.
    if (!stage.parent && stage.from !== 'scratch' && !isPinnedImage(stage.from)) {
      at(stage, `[DL3006/DL3007] base image ${stage.from || '(empty)'} is not pinned to a version`);
    }
    for (const i of stage.instructions) {
      const { keyword, args } = i;
      if ((keyword === 'CMD' || keyword === 'ENTRYPOINT') && !execForm(args)) {
        at(
          i,
          `[DL3025] ${keyword} must use the exec (JSON) form, so that signals reach the process`,
        );
      }
      if (keyword === 'HEALTHCHECK' && !/\bNONE$/.test(args)) {
        const cmd = /(?:^|\s)CMD\s+(.*)$/.exec(args)?.[1];
        if (!cmd || !execForm(cmd)) at(i, 'HEALTHCHECK must use CMD in the exec (JSON) form');
      }
      if (keyword === 'ADD') at(i, '[DL3020] use COPY instead of ADD');
      if (keyword === 'MAINTAINER') at(i, '[DL4000] MAINTAINER is deprecated');
      if (keyword === 'WORKDIR' && !args.startsWith('/')) {
        at(i, `[DL3000] WORKDIR ${args} must be an absolute path`);
      }
      if (
        (keyword === 'ENV' || keyword === 'ARG') &&
        /\b\w*(TOKEN|SECRET|PASSWORD|API_KEYS?)\w*=/i.test(args)
      ) {
        at(
          i,
          `${keyword} holds a secret-looking variable: secrets belong at run time, not in an image`,
        );
      }
      if (keyword !== 'RUN') continue;
      if (/\bsudo\b/.test(args)) at(i, '[DL3004] do not use sudo');
      if (/\bnpm (install|i)\b/.test(args)) at(i, 'use `npm ci` (the lockfile), not `npm install`');
      if (/\bapt-get\s+(\S+\s+)*install\b/.test(args)) {
        if (!/--no-install-recommends/.test(args)) {
          at(i, '[DL3015] apt-get install without --no-install-recommends');
        }
        if (!/\s(-y|--yes|-qq?y|--assume-yes)\b/.test(args))
          at(i, '[DL3014] apt-get install without -y');
        if (!/rm -rf \/var\/lib\/apt\/lists/.test(args)) {
          at(i, '[DL3009] apt lists not removed (rm -rf /var/lib/apt/lists/*) in the same RUN');
        }
      }
      if (/\bapt-get\s+upgrade\b/.test(args)) at(i, '[DL3005] do not apt-get upgrade in an image');
    }
  }

  for (const target of dockerfile.targets) {
    const user = effective(target, 'USER');
    if (!user || /^(root|0)(:|$)/.test(user.args.trim())) {
      problems.push(`target ${target.name}: [DL3002] runs as root (add USER node)`);
    }
    if (!effective(target, 'CMD') && !effective(target, 'ENTRYPOINT')) {
      problems.push(`target ${target.name}: no CMD`);
    }
  }
  for (const name of rules.appTargets) {
    const stage = dockerfile.stages.find((s) => s.name === name);
    if (!stage) {
      problems.push(`target ${name}: missing`);
      continue;
    }
    if (!effective(stage, 'HEALTHCHECK')) problems.push(`target ${name}: no HEALTHCHECK`);
    if (stageEnv(stage).NODE_ENV !== 'production') {
      problems.push(`target ${name}: NODE_ENV is not production`);
    }
    if (effective(stage, 'STOPSIGNAL')?.args.trim() !== 'SIGTERM') {
      problems.push(`target ${name}: no STOPSIGNAL SIGTERM`);
    }
  }
  return problems;
}

/** Whether .dockerignore `patterns` keep `path` out of the build context (last match wins). */
export function isDockerignored(patterns: string[], path: string): boolean {
  const parts = path.split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      `^${pattern
        .split(/(\*\*\/|\*\*|\*|\?)/)
        .map((token) =>
          token === '**/'
            ? '(?:.*/)?'
            : token === '**'
              ? '.*'
              : token === '*'
                ? '[^/]*'
                : token === '?'
                  ? '[^/]'
                  : token.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
        )
        .join('')}$`,
    );
    // A pattern that matches a directory takes everything in it.
    if (candidates.some((candidate) => regex.test(candidate))) ignored = !negated;
  }
  return ignored;
}

/** The patterns of a .dockerignore file. */
export function dockerignorePatterns(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}
