import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import { controlSocketPath, stateDir } from '../../src/tunnel/host-state.js';
import { labSkipReason, withLab } from '../lab/lab-support.js';
import { parsePing } from '../lab/ping.js';
import { TARGET, TunnelRig, tunnelTopology } from './tunnel-rig.js';

const skip = labSkipReason();

describe('roam tunnel lifecycle', { skip }, () => {
  test('rekeying every 2 s under traffic loses no ping', async () => {
    await withLab(tunnelTopology(), async (lab) => {
      const rig = await TunnelRig.start(lab, { extra: ['--rekey-ms', '2000'] });
      try {
        const { stdout } = await lab.exec('client', [
          'ping',
          '-n',
          '-c',
          '40',
          '-i',
          '0.2',
          TARGET,
        ]);
        const st = await rig.client();
        const srv = await rig.server();
        console.log(
          `# rekeying: ${st.session?.handshakes} handshakes in 8 s, ping loss ${parsePing(stdout).loss}`,
        );
        assert.equal(parsePing(stdout).loss, 0);
        assert.ok((st.session?.handshakes ?? 0) >= 4);
        assert.equal(srv.peers[0]?.handshakes, st.session?.handshakes);
      } finally {
        await rig.stop();
      }
    });
  });

  test('after a crash (SIGKILL), roam tunnel down restores the host', async () => {
    await withLab(tunnelTopology(), async (lab) => {
      const rig = await TunnelRig.start(lab);
      try {
        const routes = async () =>
          (await lab.exec('client', ['ip', 'route', 'show', '10.7.0.0/24'])).stdout.trim();
        const mangle = async () =>
          (await lab.exec('client', ['iptables', '-t', 'mangle', '-S'])).stdout;
        assert.match(await routes(), /dev roamtun0/);
        assert.match(await mangle(), /roam-tunnel-cli/);
        await rig.crashClient();
        assert.ok(existsSync(`${stateDir('cli')}/state.json`), 'the state outlives the crash');
        // The tun device went with the process, and so did its route; the iptables rules stay.
        assert.match(await mangle(), /roam-tunnel-cli/);
        const down = await lab.exec('client', [
          process.execPath,
          rig.cliPath,
          'tunnel',
          'down',
          '--name',
          'cli',
        ]);
        assert.match(down.stdout, /tunnel cli: restored/);
        assert.doesNotMatch(await mangle(), /roam-tunnel-cli/);
        assert.equal(await routes(), '');
        assert.equal(existsSync(stateDir('cli')), false);
        assert.equal(existsSync(controlSocketPath('cli')), false);
        const again = await lab.exec('client', [
          process.execPath,
          rig.cliPath,
          'tunnel',
          'down',
          '--name',
          'cli',
        ]);
        assert.match(again.stdout, /nothing to restore/);
      } finally {
        await rig.stop();
      }
    });
  });
});
