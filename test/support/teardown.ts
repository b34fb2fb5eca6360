/** Runs every clean-up step even when one fails (a lab must come down whatever the client did), then throws the first error. */
export async function tearDown(...steps: (() => unknown)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      errors.push(e);
    }
  }
  if (errors.length > 0) throw errors[0];
}
