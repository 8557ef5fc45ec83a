/** Whether this process should receive traffic; flipped off first thing on shutdown. */
export class Readiness {
  private draining = false;
  markDraining(): void {
    this.draining = true;
  }
  get isDraining(): boolean {
    return this.draining;
  }
}
