/** strongSwan as a real IKEv2 peer: the driver lives with the lab (`npm run lab` connects a client too). */
export * from '../../src/lab/strongswan.js';
