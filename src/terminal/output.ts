/** Global output choices, set from the command line before a command runs. */
export const output = { json: false };

export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v) => (v === Number.POSITIVE_INFINITY ? 'unlimited' : v), 2)}\n`,
  );
}
