/** How `shoal pki` prints what it issued, revoked and listed: text for people, or one JSON object. */
import type { Issued } from '../../../pki/store-issue.js';
import { statusOf, type IndexEntry, type StoreIndex } from '../../../pki/store-index.js';
import { formatTable, printJson, printLine } from '../output.js';

/** The date part of an ISO time: enough for lifetimes counted in days. */
function day(iso: string | null): string {
  return iso === null ? '—' : iso.slice(0, 10);
}

export function printIssued(r: Issued, json: boolean): void {
  const e = r.entry;
  if (json) return printJson({ ...e, certificate: r.certFile, key: r.keyFile, limitedByCa: r.limitedByCa });
  printLine(`Issued ${e.kind} certificate ${e.name} (serial ${e.serial}, ${e.keyType}, ${e.san.join(' ')}, valid to ${e.notAfter}${r.limitedByCa ? ': the CA ends then' : ''})`);
  printLine(`  certificate  ${r.certFile}`);
  printLine(`  key          ${r.keyFile}`);
}

export function printRevoked(dir: string, r: { entry: IndexEntry; crlNumber: number }, json: boolean): void {
  const e = r.entry;
  if (json) return printJson({ ...e, crlNumber: r.crlNumber, crl: `${dir}/crl.pem` });
  printLine(`Revoked ${e.kind} certificate ${e.name} (serial ${e.serial}, reason ${e.revocationReason ?? 'unspecified'}); ${dir}/crl.pem re-signed (CRL number ${r.crlNumber})`);
  printLine('Copy crl.pem to where members read it (trust.crl, ipsec.crl): they re-read it before the next join or IKE_AUTH.');
}

export function printList(dir: string, index: StoreIndex, now: Date, json: boolean): void {
  const rows = index.certificates.map((c) => ({ ...c, status: statusOf(c, now) }));
  if (json) return printJson({ dir, development: index.development, ca: index.ca, crlNumber: index.crlNumber, certificates: rows });
  printLine(`CA "${index.ca.subject}" in ${dir} (${index.ca.keyType}, serial ${index.ca.serial}, valid to ${day(index.ca.notAfter)}${index.development ? ', development' : ''})`);
  if (rows.length === 0) {
    printLine('  no certificates issued yet');
    return;
  }
  printLine(
    formatTable(rows, [
      { header: 'NAME', value: (r) => r.name },
      { header: 'KIND', value: (r) => r.kind },
      { header: 'SERIAL', value: (r) => r.serial },
      { header: 'STATUS', value: (r) => (r.status === 'revoked' ? `revoked ${day(r.revokedAt)} (${r.revocationReason ?? 'unspecified'})` : r.status) },
      { header: 'KEY', value: (r) => r.keyType },
      { header: 'NOT AFTER', value: (r) => day(r.notAfter) },
      { header: 'SAN', value: (r) => r.san.join(' ') },
    ]),
  );
}
