import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command` and resolves with its exit code and output, whatever the code. */
export function runTool(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      {
        cwd: options.cwd ?? ROOT,
        env: options.env ?? process.env,
        timeout: 60_000,
        maxBuffer: 16 << 20,
      },
      (err, stdout, stderr) => {
        const code = (err as NodeJS.ErrnoException | null)?.code;
        // A missing tool must fail the check, never skip it.
        if (code === 'ENOENT') {
          reject(
            new Error(`${command} not found on PATH: ${INSTALL_HINTS[command] ?? 'install it'}`),
          );
          return;
        }
        resolve({ code: err ? (typeof code === 'number' ? code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const INSTALL_HINTS: Record<string, string> = {
  'docker-compose': "Debian's compose 1.29: apt-get install docker-compose (.ci/run installs it)",
  kubectl:
    'kubectl with kustomize v5 built in (the `kubectl` package of the Google Cloud or ' +
    'Kubernetes apt repositories, https://kubernetes.io/docs/tasks/tools/); ' +
    "Debian's kubernetes-client (1.20, kustomize v2) is too old for these overlays",
};
