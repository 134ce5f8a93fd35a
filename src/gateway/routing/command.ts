/** One command of a routing plan: argv, stdin (iptables-restore), and whether failure is fine. */
export interface Command {
  readonly argv: readonly string[];
  /** Ignore a non-zero exit (removing what may already be gone). */
  readonly mayFail?: boolean;
  readonly input?: string;
}

export const ip = (...args: string[]): Command => ({ argv: ['ip', ...args] });
export const ipt = (table: string, ...args: string[]): Command => ({
  argv: ['iptables', '-w', '5', '-t', table, ...args],
});
export const optional = (c: Command): Command => ({ ...c, mayFail: true });
