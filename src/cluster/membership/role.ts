import type { Header } from '../messages.js';
import type { Exclusion } from './actions.js';
import type { Inbound } from './channel.js';

/** One role of the membership state machine (joining/offering, master, member). */
export interface Role {
  /** Whether this role acts on this message at all (by its header); others are dropped before authentication. */
  wants(header: Header): boolean;
  onMessage(now: number, inbound: Inbound): void;
  /** Run timers due at `now`. */
  tick(now: number): void;
  /** When tick must next run. */
  nextWakeAt(): number;
}

/** How a role hands control to the next one. */
export interface RoleSwitch {
  toJoining(now: number, why: string): void;
  /** `masterChain`: the certificate chain the master's OK_TO_JOIN carried, checked again while we follow it. */
  toMember(now: number, master: number, masterIncarnation: number, masterChain: Uint8Array[] | null): void;
  toMaster(now: number): void;
  toRefused(now: number): void;
  /** Out of the cluster for our config version: release every unit and wait (excluded.ts). */
  toExcluded(now: number, why: Exclusion): void;
}
