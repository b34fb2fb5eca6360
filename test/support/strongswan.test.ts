/** parseVici / parseListSas on swanctl --list-sas --raw output (no daemon needed). */
import { describe, expect, it } from 'vitest';
import { parseListSas, parseVici } from './strongswan.js';

// Captured from strongSwan 5.9.8 (client side, one CHILD_SA), with a DN identity swapped in.
const RAW =
  'list-sa event {home {uniqueid=1 version=2 state=ESTABLISHED local-host=198.18.100.2 local-port=4500 ' +
  'local-id=C=XX, O=Shoal Test, CN=client-1 remote-host=198.18.100.1 remote-port=4500 remote-id=vpn.shoal.test ' +
  'initiator=yes initiator-spi=a4b5124e461865f5 responder-spi=96553a8b57d1f07d nat-remote=yes nat-any=yes ' +
  'encr-alg=AES_CBC encr-keysize=256 integ-alg=HMAC_SHA2_256_128 prf-alg=PRF_HMAC_SHA2_256 dh-group=MODP_2048 ' +
  'established=0 rekey-time=13762 local-vips=[198.18.102.1] child-sas {home-1 {name=home uniqueid=1 reqid=1 ' +
  'state=INSTALLED mode=TUNNEL protocol=ESP encap=yes spi-in=ba77c41e spi-out=4b394409 encr-alg=AES_CBC ' +
  'encr-keysize=256 integ-alg=HMAC_SHA2_256_128 bytes-in=84 packets-in=1 bytes-out=84 packets-out=1 ' +
  'rekey-time=3423 life-time=3960 install-time=0 local-ts=[198.18.102.1/32] remote-ts=[198.18.101.0/24 198.18.103.0/24]}}}}\n' +
  'list-sas reply {}\n';

describe('swanctl --raw parsing', () => {
  it('reads sections, lists and values with spaces', () => {
    const [event, reply] = parseVici(RAW);
    expect(reply).toEqual({});
    const home = event?.['home'];
    expect(typeof home === 'object' && !Array.isArray(home) ? home['local-id'] : null).toBe('C=XX, O=Shoal Test, CN=client-1');
  });

  it('maps IKE_SAs and CHILD_SAs', () => {
    const [sa, ...rest] = parseListSas(RAW);
    expect(rest).toEqual([]);
    expect(sa).toMatchObject({
      name: 'home',
      state: 'ESTABLISHED',
      localPort: 4500,
      localId: 'C=XX, O=Shoal Test, CN=client-1',
      remoteId: 'vpn.shoal.test',
      initiatorSpi: 'a4b5124e461865f5',
      encrAlg: 'AES_CBC',
      integAlg: 'HMAC_SHA2_256_128',
      dhGroup: 'MODP_2048',
      natAny: true,
      localVips: ['198.18.102.1'],
      remoteVips: [],
    });
    expect(sa?.children).toEqual([
      expect.objectContaining({
        name: 'home',
        state: 'INSTALLED',
        encap: true,
        spiIn: 'ba77c41e',
        spiOut: '4b394409',
        packetsIn: 1,
        bytesOut: 84,
        dhGroup: undefined,
        localTs: ['198.18.102.1/32'],
        remoteTs: ['198.18.101.0/24', '198.18.103.0/24'],
      }),
    ]);
  });

  it('gives no SAs for an empty listing', () => {
    expect(parseListSas('list-sas reply {}\n')).toEqual([]);
  });
});
