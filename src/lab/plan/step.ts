/** One command of a plan: argv to run, and whether a failure is expected and harmless. */
export interface Step {
  argv: string[];
  /** Ignore a non-zero exit (e.g. deleting what may already be gone). */
  mayFail?: boolean;
}

export const ip = (ns: string, ...args: string[]): Step => ({ argv: ['ip', '-n', ns, ...args] });

export const sysctl = (ns: string, ...settings: string[]): Step => ({
  argv: ['ip', 'netns', 'exec', ns, 'sysctl', '-qw', ...settings],
});

export const inNs = (ns: string, ...argv: string[]): Step => ({
  argv: ['ip', 'netns', 'exec', ns, ...argv],
});
