// Sharing the CPU between the models of one process. Each model batches its own rows (Batcher);
// this decides whose batch runs next. A forward occupies as many CPUs as its backend's intra-op
// threads (LibTorch's pool is process-wide, an ONNX Runtime lane owns its session's threads), and
// forwards start only while they fit in the CPU budget, so two models never oversubscribe the
// cores by running 2 × threads at once. Models take turns round-robin: a turn starts as many of
// the model's due batches as fit, then the next model in the ring with a batch due goes; if its
// forward does not fit yet, the turn waits for room rather than passing to a cheaper model, so a
// 2-thread LibTorch model is not starved by a stream of 1-thread ONNX forwards. docs/models.md has the design and its benchmark.
import { availableCpus } from '../cpus.js';

/** A model's batching queue as the scheduler sees it. */
export interface ForwardQueue {
  /** CPUs one of its forwards keeps busy: the backend's intra-op threads. */
  readonly cost: number;
  /** Forwards of its own that may run at once (the backend's lanes). */
  readonly lanes: number;
  /** A batch is due (full, waited long enough, or draining) and one of its lanes is free. */
  ready(): boolean;
  /** Starts its next batch; settles when that forward ends. */
  runNext(): Promise<void>;
}

export class ForwardScheduler {
  readonly #queues: ForwardQueue[] = [];
  /** Index in #queues of the next model whose turn it is. */
  #turn = 0;
  #busy = 0;

  /** `cpus`: the budget forwards share; default the CPUs this process may use. */
  constructor(readonly cpus = availableCpus()) {}

  /** CPUs the running forwards keep busy. */
  get busy(): number {
    return this.#busy;
  }

  /**
   * The budget: the CPUs, or more when one model alone asks for more (--threads × --lanes beyond
   * the CPUs), so a single model runs exactly as configured.
   */
  get budget(): number {
    return Math.max(this.cpus, ...this.#queues.map((q) => q.cost * q.lanes));
  }

  add(queue: ForwardQueue): void {
    this.#queues.push(queue);
  }

  remove(queue: ForwardQueue): void {
    const at = this.#queues.indexOf(queue);
    if (at < 0) return;
    this.#queues.splice(at, 1);
    if (this.#turn > at) this.#turn--;
    if (this.#turn >= this.#queues.length) this.#turn = 0;
    this.poke();
  }

  /** A queue may have become ready: start every batch that is due and fits, in turn order. */
  poke(): void {
    for (let looked = 0; looked < this.#queues.length; ) {
      const at = (this.#turn + looked) % this.#queues.length;
      const queue = this.#queues[at];
      if (!queue.ready()) {
        looked++;
        continue;
      }
      const cost = Math.min(queue.cost, this.budget);
      if (this.#busy > 0 && this.#busy + cost > this.budget) return; // its turn holds until room frees
      this.#busy += cost;
      // A turn takes as many of the model's due batches as fit (an ONNX model fills its lanes, as
      // one LibTorch forward fills the CPUs), then passes.
      const more = queue.ready() && this.#busy + cost <= this.budget;
      this.#turn = more ? at : (at + 1) % this.#queues.length;
      looked = 0;
      void queue.runNext().finally(() => {
        this.#busy -= cost;
        this.poke();
      });
    }
  }
}
