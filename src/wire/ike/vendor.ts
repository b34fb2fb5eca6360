/** Vendor ID payload body (RFC 7296 §3.12): opaque bytes, usually a hash of a vendor string. */
import { decodeSafely, type Decoded } from '../decode-error.js';
import { MAX_PAYLOAD_BODY, maxLength } from './fields.js';

export interface VendorPayload {
  vendorId: Uint8Array;
}

export function readVendor(body: Uint8Array): VendorPayload {
  return { vendorId: body };
}

export function decodeVendor(body: Uint8Array): Decoded<VendorPayload> {
  return decodeSafely(() => readVendor(body));
}

export function encodeVendor(p: VendorPayload): Uint8Array {
  return maxLength(p.vendorId, MAX_PAYLOAD_BODY, 'vendor ID').slice();
}
