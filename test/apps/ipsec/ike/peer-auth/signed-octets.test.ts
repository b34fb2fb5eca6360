import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { prfTransform, PrfId } from '../../../../../src/apps/ipsec/crypto/transforms.js';
import { signedOctets } from '../../../../../src/apps/ipsec/ike/peer-auth/signed-octets.js';
import { ID_TYPE, encodeId } from '../../../../../src/wire/ike/id.js';

describe('signedOctets (RFC 7296 §2.15)', () => {
  it('is RealMessage | peer NonceData | prf(SK_p, RestOfIDPayload)', () => {
    const prf = prfTransform(PrfId.HMAC_SHA2_384);
    if (prf === undefined) throw new Error('no prf');
    const message = Uint8Array.from({ length: 300 }, (_, i) => i & 0xff);
    const nonce = Uint8Array.from({ length: 32 }, (_, i) => 0xa0 ^ i);
    const skP = new Uint8Array(48).fill(7);
    const idBody = encodeId({ idType: ID_TYPE.FQDN, data: new TextEncoder().encode('client1.shoal.test') });
    const out = signedOctets(prf, message, nonce, skP, idBody);
    const maced = createHmac('sha384', skP).update(idBody).digest();
    expect(Buffer.from(out)).toEqual(Buffer.concat([message, nonce, maced]));
    // RestOfIDPayload starts at the ID Type: type, three reserved zero bytes, then the data.
    expect([...idBody.subarray(0, 4)]).toEqual([ID_TYPE.FQDN, 0, 0, 0]);
  });
});
