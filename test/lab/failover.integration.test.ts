/**
 * The integration tests b–f (member and master SIGKILL, a join, a cut
 * interconnect, a client-side capture) with traffic running, once per
 * delivery mode. The modes run one after the other in this one file, so the
 * timing figures are not measured while another of these labs competes for
 * the CPU. Runs as root (CI does); a missing privilege or tool fails, never skips.
 */
import type { LabMode } from '../../src/lab/members.js';
import { failoverScenarios } from './failover-scenarios.js';

/**
 * All three delivery modes. In forwarding mode every flow goes through the
 * master, so a master failure pauses all of them until the new master's
 * gratuitous ARP: c asserts that every flow is served again within 1 s there.
 */
const MODES: readonly LabMode[] = ['unicast', 'multicast', 'forwarding'];

for (const mode of MODES) failoverScenarios(mode);
