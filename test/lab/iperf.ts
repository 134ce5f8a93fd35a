import type { ChildProcess } from 'node:child_process';
import type { Lab } from '../../src/lab/lab.js';

/** An iperf3 server inside a lab host, and TCP measurements against it (congestion control set). */
export class IperfServer {
  private constructor(
    private readonly lab: Lab,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {}

  static async start(lab: Lab, host: string, port = 5201): Promise<IperfServer> {
    const child = lab.spawn(host, ['iperf3', '-s', '-p', String(port), '--forceflush'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const server = new IperfServer(lab, child, exited);
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout?.on(
          'data',
          (d: Buffer) => d.toString().includes('Server listening') && resolve(),
        );
        void exited.then(() => reject(new Error('iperf3 server exited')));
        setTimeout(() => reject(new Error('iperf3 server did not start in 10 s')), 10_000).unref();
      });
    } catch (err) {
      await server.stop();
      throw err;
    }
    return server;
  }

  /** Goodput in Mbit/s of one TCP stream from `host` (or to it, with -R), first second omitted. */
  async measure(
    host: string,
    target: string,
    seconds: number,
    extra: string[] = [],
  ): Promise<number> {
    const { stdout } = await this.lab.exec(host, [
      'iperf3',
      '-c',
      target,
      '-t',
      String(seconds),
      '-O',
      '1',
      '-C',
      'cubic',
      '-J',
      ...extra,
    ]);
    const result = JSON.parse(stdout) as { end: { sum_received: { bits_per_second: number } } };
    return result.end.sum_received.bits_per_second / 1e6;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
  }
}
