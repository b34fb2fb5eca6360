/**
 * The integration tests b–f (member and master SIGKILL, a join, a cut
 * interconnect, a client-side capture) with traffic running, once per
 * delivery mode. The modes run one after the other in this one file, so the
 * timing figures are not measured while another of these labs competes for
 * the CPU. Runs as root (CI does); a missing privilege or tool fails, never skips.
 */
import type { LabMode } from '../../src/lab/members.js';
import { failoverScenarios } from './failover-scenarios.js';

/** The delivery modes under test ('forwarding' joins once the lab wires it). */
const MODES: readonly LabMode[] = ['unicast', 'multicast'];

for (const mode of MODES) failoverScenarios(mode);
