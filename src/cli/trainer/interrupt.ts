/**
 * Calls `handler` on the first Ctrl-C (SIGINT) instead of letting it end the process; a second
 * Ctrl-C ends it at once with 130. Returns the function that stops listening.
 */
export function onInterrupt(handler: () => void): () => void {
  let heard = false;
  const listener = () => {
    if (heard) process.exit(130);
    heard = true;
    handler();
  };
  process.on('SIGINT', listener);
  return () => process.off('SIGINT', listener);
}
