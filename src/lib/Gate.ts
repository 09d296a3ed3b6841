/**
 * Open or shut; while shut, `whenOpen()` waits. Opening releases every waiter at
 * once. `shut` and `open` are both safe to call twice.
 */
export class Gate {
  private shutNow: boolean;
  /** One promise for all who wait on this closing, and its resolver. */
  private opened: Promise<void> | undefined;
  private release: (() => void) | undefined;

  constructor(open = true) {
    this.shutNow = !open;
  }

  get isOpen(): boolean {
    return !this.shutNow;
  }

  shut(): void {
    this.shutNow = true;
  }

  open(): void {
    if (!this.shutNow) return;
    this.shutNow = false;
    const release = this.release;
    this.opened = this.release = undefined;
    release?.();
  }

  /** Resolves once the gate is open (at once if it is). */
  whenOpen(): Promise<void> {
    if (!this.shutNow) return Promise.resolve();
    return (this.opened ??= new Promise<void>((resolve) => (this.release = resolve)));
  }
}
