import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { labSkipReason, withLab } from '../lab/lab-support.js';
import { parsePing } from '../lab/ping.js';
import { TARGET, TunnelRig, tunnelTopology } from './tunnel-rig.js';

const skip = labSkipReason();

describe('roam tunnel in the lab', { skip }, () => {
  test('ping and NAT through the tunnel; the serve end learns both uplinks', async () => {
    await withLab(tunnelTopology(), async (lab) => {
      const rig = await TunnelRig.start(lab);
      try {
        const { stdout } = await lab.exec('client', ['ping', '-n', '-c', '5', '-i', '0.2', TARGET]);
        const r = parsePing(stdout);
        assert.equal(r.loss, 0);
        console.log(`# ping through the tunnel: min ${r.minMs} ms, median ${r.medianMs} ms`);
        assert.ok(r.minMs >= 10, 'the RTT of the wifi path (2 × 5 ms) at least');
        const s = await rig.server();
        const eps = s.peers[0]?.paths.map((p) => p.endpointIp).sort();
        assert.deepEqual(eps, ['10.1.0.2', '10.2.0.2']);
        assert.equal((await rig.client()).active, 'wifi');
      } finally {
        await rig.stop();
      }
    });
  });
});
