// V8 collects garbage when it allocates, so a thread that goes idle keeps its last garbage (the
// buffers of the last photos: tens of MB after a large one) until it works again. The decode pool
// collects once idle (DecodePool's reclaim). gc() is V8's own, exposed to the contexts made after
// its flag is set.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');

/** A full collection of this thread's heap. */
export const collectGarbage = runInNewContext('gc') as () => void;
