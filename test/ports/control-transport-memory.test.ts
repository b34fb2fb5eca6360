import { MemoryHub } from '../../src/ports/control-transport-memory.js';
import { controlTransportContract } from './control-transport-contract.js';

controlTransportContract('in-memory hub', async () => {
  const hub = new MemoryHub();
  const members = [hub.attach(0xc6120311), hub.attach(0xc6120312), hub.attach(0xc6120313)] as const;
  return { members: [...members], close: async () => Promise.all(members.map((m) => m.close())).then(() => undefined) };
});
