import { readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { RoamError } from '../../errors.js';
import type { Logger } from '../../log/logger.js';
import { closeTun, openTun, type TunDevice } from '../../tun/device.js';
import { labNames, WIRE_DEVICES } from '../plan/names.js';
import { controlSocketPath, readState } from '../state.js';
import { teardownLabSync } from '../teardown.js';
import type { DirectionSpec } from '../topology/model.js';
import { parseTrace } from '../trace/parse.js';
import {
  type ControlRequest,
  type ControlResponse,
  MAX_CONTROL_LINE,
  parseControlRequest,
  type WireParamsPatch,
} from './control-protocol.js';
import { DelayLine, type DirectionParams } from './delay-line.js';

/**
 * The wire daemon: one process per lab holding every link's delay line (each a native
 * thread moving frames between the link's two taps), answering control requests on a unix
 * socket. Started by `Lab.up`, stopped by `Lab.down`. Given an owner pid (a test), it tears
 * the whole lab down itself if the owner dies, so a crashed test leaves nothing behind.
 */

interface Wire {
  name: string;
  taps: TunDevice[];
  line: DelayLine;
}

function loadTrace(path: string | null | undefined) {
  if (!path) return null;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new RoamError('ROAM_BAD_INPUT', `cannot read trace ${path}: ${(err as Error).message}`);
  }
  return parseTrace(text, path);
}

function directionParams(spec: DirectionSpec, queuePackets: number): DirectionParams {
  return {
    delayMs: spec.delayMs,
    jitterMs: spec.jitterMs,
    loss: spec.loss,
    stall: false,
    queuePackets,
    trace: loadTrace(spec.trace),
  };
}

export class WireDaemon {
  private readonly wires = new Map<string, Wire>();
  private server: Server | undefined;
  private ownerWatch: NodeJS.Timeout | undefined;

  constructor(
    private readonly labId: string,
    private readonly log: Logger,
  ) {}

  async start(ownerPid: number | null): Promise<void> {
    const state = readState(this.labId);
    const names = labNames(this.labId);
    for (const link of state.topology.links) {
      const netns = names.linkNs(link.name);
      const taps = [
        openTun({ name: WIRE_DEVICES.tapA, mode: 'tap', netns }),
        openTun({ name: WIRE_DEVICES.tapB, mode: 'tap', netns }),
      ] as const;
      const line = new DelayLine(
        taps[0].fd,
        taps[1].fd,
        directionParams(link.up, link.queuePackets),
        directionParams(link.down, link.queuePackets),
      );
      this.wires.set(link.name, { name: link.name, taps: [...taps], line });
    }
    const path = controlSocketPath(this.labId);
    rmSync(path, { force: true });
    this.server = createServer((socket) => this.serve(socket));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(path, () => resolve());
    });
    if (ownerPid !== null) {
      this.ownerWatch = setInterval(() => {
        if (!isAlive(ownerPid)) {
          this.log.warn({ ownerPid }, 'owner of the lab died; tearing the lab down');
          this.stop();
          teardownLabSync(this.labId);
          process.exit(0);
        }
      }, 500);
    }
  }

  private serve(socket: Socket): void {
    let buffered = '';
    socket.setEncoding('utf8');
    socket.on('error', () => socket.destroy());
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      let end = buffered.indexOf('\n');
      while (end >= 0) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 1);
        socket.write(`${JSON.stringify(this.handle(line))}\n`);
        end = buffered.indexOf('\n');
      }
      if (buffered.length > MAX_CONTROL_LINE) {
        socket.end(
          `${JSON.stringify({ ok: false, code: 'ROAM_BAD_INPUT', message: 'request too long' })}\n`,
        );
      }
    });
  }

  private handle(line: string): ControlResponse {
    const req = parseControlRequest(line);
    if ('error' in req) return { ok: false, code: 'ROAM_BAD_INPUT', message: req.error };
    try {
      return { ok: true, result: this.execute(req) };
    } catch (err) {
      const code = err instanceof RoamError ? err.code : 'ROAM_LAB_DAEMON';
      return { ok: false, code, message: (err as Error).message };
    }
  }

  private execute(req: ControlRequest): unknown {
    switch (req.op) {
      case 'ping':
        return { pid: process.pid };
      case 'stats':
        return Object.fromEntries([...this.wires].map(([name, w]) => [name, w.line.stats()]));
      case 'shutdown':
        setImmediate(() => {
          this.stop();
          process.exit(0);
        });
        return {};
      case 'set': {
        const wire = this.wires.get(req.link);
        if (!wire)
          throw new RoamError(
            'ROAM_LAB_NO_SUCH_LINK',
            `no link "${req.link}" in lab ${this.labId}`,
          );
        wire.line.set(req.dir, toDelayLinePatch(req.params));
        return {};
      }
    }
  }

  stop(): void {
    if (this.ownerWatch) clearInterval(this.ownerWatch);
    this.server?.close();
    for (const wire of this.wires.values()) {
      wire.line.close();
      for (const tap of wire.taps) closeTun(tap);
    }
    this.wires.clear();
  }
}

function toDelayLinePatch(patch: WireParamsPatch): Partial<DirectionParams> {
  const out: Partial<DirectionParams> = {};
  if (patch.delayMs !== undefined) out.delayMs = patch.delayMs;
  if (patch.jitterMs !== undefined) out.jitterMs = patch.jitterMs;
  if (patch.loss !== undefined) out.loss = patch.loss;
  if (patch.stall !== undefined) out.stall = patch.stall;
  if (patch.trace !== undefined) out.trace = loadTrace(patch.trace);
  return out;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
