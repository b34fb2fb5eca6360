/**
 * `shoal pki`: the cluster's CA kept in a directory (src/pki/store.ts; layout
 * in certs/README.md): make it, issue member, IKEv2 client and VPN server
 * certificates, revoke them (crl.pem re-signed), list them.
 *
 *   shoal pki init-ca [--development]      shoal pki revoke <name|serial>
 *   shoal pki issue-member <name> --address <ip>
 *   shoal pki issue-client <identity>      shoal pki list
 *   shoal pki issue-server <fqdn>          shoal pki crl
 */
import { Command, Option } from 'commander';
import { REVOCATION_REASONS, type RevocationReason } from '../../../pki/revocation-reasons.js';
import { DEFAULT_STORE_KEY_TYPE, STORE_KEY_TYPES, type StoreKeyType } from '../../../pki/store-keys.js';
import { wholeNumber } from '../options.js';
import { printJson, printLine } from '../output.js';
import { printIssued, printList, printRevoked } from './pki-print.js';

export const DEFAULT_PKI_DIR = 'certs/ca';

interface Common {
  dir?: string;
  json?: boolean;
}

interface Issuing extends Common {
  keyType: StoreKeyType;
  days?: number;
  force?: boolean;
}

/** --dir, else $SHOAL_PKI_DIR (when set and not empty), else ./certs/ca. */
function dirOf(flags: Common): string {
  const env = process.env['SHOAL_PKI_DIR'];
  return flags.dir ?? (env !== undefined && env !== '' ? env : DEFAULT_PKI_DIR);
}

function withCommon(c: Command): Command {
  return c
    .addOption(new Option('--dir <dir>', `the CA directory (default: $SHOAL_PKI_DIR, else ./${DEFAULT_PKI_DIR})`))
    .addOption(new Option('--json', 'print one JSON object instead of text'));
}

function withIssuing(c: Command, kind: string, days: number): Command {
  return withCommon(c)
    .addOption(new Option('--key-type <type>', 'key type of the new key').choices(STORE_KEY_TYPES).default(DEFAULT_STORE_KEY_TYPE))
    .addOption(new Option('--days <n>', `lifetime in days (default ${days}; never past the CA's own end)`).argParser(wholeNumber(1, 36_500)))
    .addOption(new Option('--force', `replace this ${kind}'s existing files (a certificate issued before stays valid until revoked)`));
}

function issuing(flags: Issuing): { now: Date; keyType: StoreKeyType; days?: number; force: boolean } {
  return { now: new Date(), keyType: flags.keyType, ...(flags.days === undefined ? {} : { days: flags.days }), force: flags.force === true };
}

function initCaCommand(): Command {
  return withCommon(new Command('init-ca').description('make a new cluster CA: ca.pem, ca.key (0600), an empty crl.pem and index.json'))
    .addOption(new Option('--key-type <type>', 'key type of the CA key').choices(STORE_KEY_TYPES).default(DEFAULT_STORE_KEY_TYPE))
    .addOption(new Option('--days <n>', 'CA lifetime in days').default(3650).argParser(wholeNumber(1, 36_500)))
    .addOption(new Option('--name <cn>', 'subject CN (default "Shoal Cluster CA", or "Shoal Development CA")'))
    .addOption(new Option('--organization <o>', 'subject O').default('Shoal'))
    .addOption(new Option('--development', 'mark the CA and all it issues as development only (OU "Shoal development"; flash builds refuse them)'))
    .addOption(new Option('--crl-days <n>', "how long each crl.pem is valid (its nextUpdate)").default(30).argParser(wholeNumber(1, 3650)))
    .addOption(new Option('--force', 'replace an existing CA in the directory'))
    .action(async (flags: Common & { keyType: StoreKeyType; days: number; name?: string; organization: string; development?: boolean; crlDays: number; force?: boolean }) => {
      const { initCa } = await import('../../../pki/store.js');
      const dir = dirOf(flags);
      const index = await initCa(dir, {
        now: new Date(),
        keyType: flags.keyType,
        days: flags.days,
        ...(flags.name === undefined ? {} : { name: flags.name }),
        organization: flags.organization,
        development: flags.development === true,
        crlDays: flags.crlDays,
        force: flags.force === true,
      });
      const { storePaths } = await import('../../../pki/store-files.js');
      const p = storePaths(dir);
      const files = { certificate: p.caCert, key: p.caKey, crl: p.crl, index: p.index };
      if (flags.json === true) return printJson({ dir, development: index.development, ca: index.ca, files });
      printLine(`Made ${index.development ? 'development ' : ''}CA "${index.ca.subject}" in ${dir} (${index.ca.keyType}, serial ${index.ca.serial}, valid to ${index.ca.notAfter})`);
      printLine(`  certificate  ${files.certificate}`);
      printLine(`  key          ${files.key} (0600: keep it off the members)`);
      printLine(`  CRL          ${files.crl}`);
    });
}

function issueMemberCommand(): Command {
  return withIssuing(new Command('issue-member').description("issue a member certificate the cluster's join check accepts (IP SAN = the member's interconnect address)"), 'member', 730)
    .argument('<name>', 'member name: subject CN (what trust.allowedMembers lists) and file name')
    .requiredOption('--address <ip>', "the member's interconnect address (member.address in its configuration)")
    .addOption(new Option('--dns-domain <domain>', 'the DNS SAN is <name>.<domain>').default('shoal.test'))
    .action(async (name: string, flags: Issuing & { address: string; dnsDomain: string }) => {
      const { issueMemberCert } = await import('../../../pki/store-issue.js');
      printIssued(await issueMemberCert(dirOf(flags), { ...issuing(flags), name, address: flags.address, dnsDomain: flags.dnsDomain }), flags.json === true);
    });
}

function issueClientCommand(): Command {
  return withIssuing(new Command('issue-client').description('issue an IKEv2 client certificate (SAN = identity, digitalSignature, clientAuth)'), 'client', 365)
    .argument('<identity>', "the client's IKE identity: an FQDN, an e-mail address or an IP address")
    .addOption(new Option('--name <name>', 'file name under issued/ (default: the identity)'))
    .action(async (identity: string, flags: Issuing & { name?: string }) => {
      const { issueClientCert } = await import('../../../pki/store-issue.js');
      printIssued(await issueClientCert(dirOf(flags), { ...issuing(flags), identity, ...(flags.name === undefined ? {} : { name: flags.name }) }), flags.json === true);
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function issueServerCommand(): Command {
  return withIssuing(new Command('issue-server').description("issue the cluster's VPN server certificate (SAN = FQDN and addresses, serverAuth)"), 'server', 730)
    .argument('<fqdn>', "the server's DNS name: CN, first DNS SAN and file name")
    .addOption(new Option('--address <ip>', 'an IP SAN, e.g. the outside cluster address (repeatable)').argParser(collect).default([]))
    .addOption(new Option('--dns <name>', 'another DNS SAN (repeatable)').argParser(collect).default([]))
    .action(async (fqdn: string, flags: Issuing & { address: string[]; dns: string[] }) => {
      const { issueServerCert } = await import('../../../pki/store-issue.js');
      printIssued(await issueServerCert(dirOf(flags), { ...issuing(flags), name: fqdn, addresses: flags.address, dnsNames: flags.dns }), flags.json === true);
    });
}

function revokeCommand(): Command {
  return withCommon(new Command('revoke').description('revoke a certificate and re-sign crl.pem (members re-read it before the next join or IKE_AUTH)'))
    .argument('<name|serial>', 'the name it was issued under, or its serial (hex)')
    .addOption(new Option('--reason <reason>', 'RFC 5280 reason').choices(REVOCATION_REASONS).default('unspecified'))
    .action(async (ref: string, flags: Common & { reason: RevocationReason }) => {
      const { revokeCertificate } = await import('../../../pki/store.js');
      const dir = dirOf(flags);
      printRevoked(dir, await revokeCertificate(dir, ref, flags.reason, new Date()), flags.json === true);
    });
}

function listCommand(): Command {
  return withCommon(new Command('list').description('list every certificate the CA issued, with its status')).action(async (flags: Common) => {
    const { readIndex } = await import('../../../pki/store.js');
    const dir = dirOf(flags);
    printList(dir, await readIndex(dir), new Date(), flags.json === true);
  });
}

function crlCommand(): Command {
  return withCommon(new Command('crl').description("re-sign crl.pem with a fresh nextUpdate (run it before the CRL's nextUpdate passes)")).action(async (flags: Common) => {
    const { refreshCrl } = await import('../../../pki/store.js');
    const { storePaths } = await import('../../../pki/store-files.js');
    const dir = dirOf(flags);
    const index = await refreshCrl(dir, new Date());
    const crl = storePaths(dir).crl;
    const revoked = index.certificates.filter((c) => c.revokedAt !== null).length;
    if (flags.json === true) return printJson({ crl, crlNumber: index.crlNumber, revoked });
    printLine(`Re-signed ${crl} (CRL number ${index.crlNumber}, ${revoked} revoked)`);
  });
}

/** Hands the settings it inherits (exit override, error output) on to its subcommands, as `lab` does. */
class PkiCommand extends Command {
  override copyInheritedSettings(source: Command): this {
    super.copyInheritedSettings(source);
    for (const sub of this.commands) sub.copyInheritedSettings(this);
    return this;
  }
}

export function pkiCommand(): Command {
  return new PkiCommand('pki')
    .description('the cluster CA: init-ca, issue-member, issue-client, issue-server, revoke, list, crl')
    .enablePositionalOptions()
    .addCommand(initCaCommand())
    .addCommand(issueMemberCommand())
    .addCommand(issueClientCommand())
    .addCommand(issueServerCommand())
    .addCommand(revokeCommand())
    .addCommand(listCommand())
    .addCommand(crlCommand());
}
