/**
 * A CA back from its PEM certificate and PKCS#8 key (ca.pem, ca.key), able to
 * issue again: the subject's CN, O and OU come back from the certificate, the
 * signing algorithm from the key. Refuses a key that does not belong to the
 * certificate, so a mixed-up directory cannot issue certificates nobody trusts.
 */
import { createPrivateKey, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { ShoalError } from '../lib/errors.js';
import type { CaBundle } from './ca.js';
import { derOf } from './keys.js';
import { generatedKeyType, storeKeyTypeOf, type StoreKeyType } from './store-keys.js';

function importAlgorithm(t: StoreKeyType): webcrypto.EcKeyImportParams | webcrypto.RsaHashedImportParams {
  switch (t) {
    case 'ecdsa-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' };
    case 'ecdsa-p384':
      return { name: 'ECDSA', namedCurve: 'P-384' };
    case 'rsa-2048':
    case 'rsa-3072':
      return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
  }
}

function privateKeyOf(keyPem: string, keyFile: string): KeyObject {
  try {
    return createPrivateKey(keyPem);
  } catch (e) {
    throw new ShoalError('PKI_BAD_CA', `${keyFile} holds no usable private key: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function certificateOf(certPem: string, certFile: string): x509.X509Certificate {
  try {
    return new x509.X509Certificate(certPem);
  } catch (e) {
    throw new ShoalError('PKI_BAD_CA', `${certFile} holds no usable certificate: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The CA in `certPem` with its key `keyPem`; the file names are for messages. */
export async function caFromPem(certPem: string, keyPem: string, certFile: string, keyFile: string): Promise<CaBundle & { storeKeyType: StoreKeyType }> {
  const cert = certificateOf(certPem, certFile);
  const key = privateKeyOf(keyPem, keyFile);
  const storeKeyType = storeKeyTypeOf(key);
  if (storeKeyType === null) throw new ShoalError('PKI_BAD_CA', `${keyFile}: a ${key.asymmetricKeyType ?? 'unknown'} key the CA store cannot sign with`);
  const spki = new Uint8Array(cert.publicKey.rawData);
  const ownSpki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  if (!Buffer.from(spki).equals(ownSpki)) throw new ShoalError('PKI_BAD_CA', `${keyFile} is not the key of ${certFile}`);
  const algorithm = importAlgorithm(storeKeyType);
  const pkcs8 = key.export({ type: 'pkcs8', format: 'der' });
  const privateKey = await webcrypto.subtle.importKey('pkcs8', pkcs8, algorithm, true, ['sign']);
  const publicKey = await webcrypto.subtle.importKey('spki', spki, algorithm, true, ['verify']);
  const der = derOf(cert);
  const name = cert.subjectName;
  const ou = name.getField('OU')[0];
  return {
    name: name.getField('CN')[0] ?? cert.subject,
    der,
    cert,
    keys: { privateKey, publicKey },
    keyType: generatedKeyType(storeKeyType),
    storeKeyType,
    serial: cert.serialNumber,
    organization: name.getField('O')[0] ?? '',
    ...(ou === undefined ? {} : { organizationalUnit: ou }),
    rootDer: der,
    chainAboveLeaf: [],
  };
}
